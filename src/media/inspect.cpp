#include "media/inspect.hpp"

#include <magic.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <vips/vips.h>

#include <cmath>
#include <fstream>
#include <mutex>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

namespace herald::media {
namespace {

using core::ErrorCode;
using domain::MediaFormat;
using domain::MediaKind;

constexpr int kThumbnailSize = 320;

// libmagic's cookie is not thread-safe: one per thread, loaded once.
magic_t Cookie() {
    thread_local struct Holder {
        magic_t cookie = nullptr;
        Holder() {
            cookie = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);
            if (cookie && magic_load(cookie, nullptr) != 0) {
                spdlog::error("event=libmagic_load_failed error=\"{}\"", magic_error(cookie));
                magic_close(cookie);
                cookie = nullptr;
            }
        }
        ~Holder() {
            if (cookie) magic_close(cookie);
        }
    } holder;
    return holder.cookie;
}

std::string MiB(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return buf;
}

std::string VipsError() {
    std::string e = vips_error_buffer();
    vips_error_clear();
    while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.pop_back();
    return e;
}

std::string AvError(int code) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(code, buf, sizeof buf);
    return buf;
}

core::Status CheckDimensions(uint32_t w, uint32_t h, const domain::MediaLimits& limits, std::string_view what) {
    if (w == 0 || h == 0) {
        return core::Fail(ErrorCode::kInvalidArgument, std::string(what) + " has no picture size: the file is damaged",
                          {{"rule", "corrupt"}});
    }
    if (w > limits.max_dimension || h > limits.max_dimension) {
        return core::Fail(ErrorCode::kInvalidArgument,
                          std::string(what) + " is " + std::to_string(w) + " × " + std::to_string(h) +
                              " pixels; each side may be at most " + std::to_string(limits.max_dimension),
                          {{"rule", "max_dimension"}});
    }
    if (static_cast<uint64_t>(w) * h > limits.max_image_pixels) {
        return core::Fail(ErrorCode::kInvalidArgument,
                          std::string(what) + " is " + std::to_string(w) + " × " + std::to_string(h) +
                              " pixels; at most " + std::to_string(limits.max_image_pixels) + " pixels are accepted",
                          {{"rule", "max_pixels"}});
    }
    return {};
}

struct VipsUnref {
    void operator()(VipsImage* i) const {
        if (i) g_object_unref(i);
    }
};
using VipsPtr = std::unique_ptr<VipsImage, VipsUnref>;

core::Status ProbeImage(const std::filesystem::path& file, const domain::MediaLimits& limits, app::MediaInfo& info) {
    // Only the header is read here: the size check below comes before a single pixel is decoded.
    VipsPtr header(vips_image_new_from_file(file.c_str(), "access", VIPS_ACCESS_SEQUENTIAL, nullptr));
    if (!header) {
        const auto why = VipsError();
        spdlog::debug("event=image_header_unreadable error=\"{}\"", why);
        return core::Fail(ErrorCode::kInvalidArgument, "the image cannot be read: the file is damaged or truncated",
                          {{"rule", "corrupt"}});
    }
    info.width = static_cast<uint32_t>(vips_image_get_width(header.get()));
    info.height = static_cast<uint32_t>(vips_image_get_height(header.get()));
    if (auto s = CheckDimensions(info.width, info.height, limits, "the image"); !s) return s;
    // A phone's portrait photo is often stored landscape with an EXIF orientation of 5 to 8
    // (turned a quarter): platforms show it upright, so its size and aspect ratio are the
    // upright ones.
    int orientation = 1;
    if (vips_image_get_typeof(header.get(), VIPS_META_ORIENTATION) != 0 &&
        vips_image_get_int(header.get(), VIPS_META_ORIENTATION, &orientation) == 0 && orientation >= 5 &&
        orientation <= 8) {
        std::swap(info.width, info.height);
    }
    // Then every pixel, in strips: a truncated or corrupt image fails here, at upload, instead
    // of at a platform at publishing time.
    VipsPtr full(vips_image_new_from_file(file.c_str(), "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                          VIPS_FAIL_ON_TRUNCATED, nullptr));
    double avg = 0;
    if (!full || vips_avg(full.get(), &avg, nullptr) != 0) {
        const auto why = VipsError();
        spdlog::debug("event=image_decode_failed error=\"{}\"", why);
        return core::Fail(ErrorCode::kInvalidArgument, "the image cannot be decoded: the file is damaged or truncated",
                          {{"rule", "corrupt"}});
    }
    return {};
}

struct FormatCloser {
    void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};

core::Status ProbeVideo(const std::filesystem::path& file, const domain::MediaLimits& limits, app::MediaInfo& info) {
    AVFormatContext* raw = nullptr;
    if (int rc = avformat_open_input(&raw, file.c_str(), nullptr, nullptr); rc < 0) {
        spdlog::debug("event=video_open_failed error=\"{}\"", AvError(rc));
        return core::Fail(ErrorCode::kInvalidArgument, "the video cannot be read: the file is damaged or truncated",
                          {{"rule", "corrupt"}});
    }
    std::unique_ptr<AVFormatContext, FormatCloser> ctx(raw);
    // Probing decodes a few frames: one thread each, so an upload does not hold a decoder's
    // worth of frame buffers per core.
    std::vector<AVDictionary*> options(ctx->nb_streams, nullptr);
    for (auto& o : options) av_dict_set(&o, "threads", "1", 0);
    const int probed = avformat_find_stream_info(ctx.get(), options.data());
    for (auto& o : options) av_dict_free(&o);
    if (int rc = probed; rc < 0) {
        spdlog::debug("event=video_probe_failed error=\"{}\"", AvError(rc));
        return core::Fail(ErrorCode::kInvalidArgument, "the video cannot be read: the file is damaged or truncated",
                          {{"rule", "corrupt"}});
    }
    const int v = av_find_best_stream(ctx.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (v < 0) {
        return core::Fail(ErrorCode::kInvalidArgument, "the file has no video track", {{"rule", "no_video"}});
    }
    const AVStream* vs = ctx->streams[v];
    info.width = static_cast<uint32_t>(std::max(0, vs->codecpar->width));
    info.height = static_cast<uint32_t>(std::max(0, vs->codecpar->height));
    if (auto s = CheckDimensions(info.width, info.height, limits, "the video"); !s) return s;
    info.video_codec = avcodec_get_name(vs->codecpar->codec_id);
    const AVRational fr = vs->avg_frame_rate.num > 0 ? vs->avg_frame_rate : vs->r_frame_rate;
    if (fr.num > 0 && fr.den > 0) info.frame_rate = std::round(av_q2d(fr) * 1000.0) / 1000.0;
    if (ctx->duration > 0) info.duration_ms = ctx->duration / (AV_TIME_BASE / 1000);
    const int a = av_find_best_stream(ctx.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    if (a >= 0) info.audio_codec = avcodec_get_name(ctx->streams[a]->codecpar->codec_id);
    // Every packet, without decoding: a file cut short after its index (an interrupted upload
    // of a "fast start" MP4) ends early or with an error here.
    AVPacket* pkt = av_packet_alloc();
    int64_t packets = 0;
    int64_t end_ts = AV_NOPTS_VALUE;  // where the last video packet ends, in the stream's time base
    int rc = 0;
    while ((rc = av_read_frame(ctx.get(), pkt)) >= 0) {
        if (pkt->stream_index == v) {
            ++packets;
            // MPEG streams leave pts out on many packets; dts is then the time.
            const int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
            if (ts != AV_NOPTS_VALUE) end_ts = std::max(end_ts, ts + std::max<int64_t>(0, pkt->duration));
        }
        const bool corrupt = (pkt->flags & AV_PKT_FLAG_CORRUPT) != 0;
        av_packet_unref(pkt);
        if (corrupt) {
            rc = AVERROR_INVALIDDATA;
            break;
        }
    }
    av_packet_free(&pkt);
    // Containers that keep no frame count (Matroska, WebM) say how long they are: a video
    // whose frames stop well before that was cut short.
    // MPEG program streams carry no duration: libavformat guesses one from the bit rate or from
    // a few timestamps (0.68 s for a 1 s clip), and the frames just read are the better answer.
    const bool guessed = ctx->duration_estimation_method != AVFMT_DURATION_FROM_STREAM;
    bool short_of_duration = false;
    if (end_ts != AV_NOPTS_VALUE) {
        const int64_t start = vs->start_time != AV_NOPTS_VALUE ? vs->start_time : 0;
        const int64_t end_ms = av_rescale_q(end_ts - start, vs->time_base, AVRational{1, 1000});
        if (guessed) info.duration_ms = std::max(info.duration_ms.value_or(0), end_ms);
        int64_t expected_ms = vs->duration != AV_NOPTS_VALUE && vs->duration > 0
                                  ? av_rescale_q(vs->duration, vs->time_base, AVRational{1, 1000})
                                  : info.duration_ms.value_or(0);
        short_of_duration = !guessed && expected_ms > 0 && end_ms * 10 < expected_ms * 9 - 1000;
    }
    if (rc != AVERROR_EOF || packets == 0 || (vs->nb_frames > 0 && packets < vs->nb_frames) || short_of_duration) {
        spdlog::debug("event=video_truncated packets={} expected={} error=\"{}\"", packets, vs->nb_frames,
                      rc == AVERROR_EOF ? "" : AvError(rc));
        return core::Fail(ErrorCode::kInvalidArgument,
                          "the video is truncated or damaged: it ends before its last frame", {{"rule", "truncated"}});
    }
    return {};
}

// The first frame of a video as 8-bit RGB, for the thumbnail.
core::Result<std::pair<std::vector<uint8_t>, std::pair<int, int>>> FirstFrame(const std::filesystem::path& file) {
    AVFormatContext* raw = nullptr;
    if (avformat_open_input(&raw, file.c_str(), nullptr, nullptr) < 0) {
        return core::Fail(ErrorCode::kInternal, "cannot open the video for its thumbnail");
    }
    std::unique_ptr<AVFormatContext, FormatCloser> ctx(raw);
    if (avformat_find_stream_info(ctx.get(), nullptr) < 0) {
        return core::Fail(ErrorCode::kInternal, "cannot read the video for its thumbnail");
    }
    const AVCodec* codec = nullptr;
    const int v = av_find_best_stream(ctx.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (v < 0 || !codec) return core::Fail(ErrorCode::kInternal, "no decoder for the video's codec");
    AVCodecContext* dec = avcodec_alloc_context3(codec);
    std::unique_ptr<AVCodecContext, void (*)(AVCodecContext*)> dec_guard(
        dec, [](AVCodecContext* c) { avcodec_free_context(&c); });
    avcodec_parameters_to_context(dec, ctx->streams[v]->codecpar);
    dec->thread_count = 1;
    if (avcodec_open2(dec, codec, nullptr) < 0) return core::Fail(ErrorCode::kInternal, "cannot open the decoder");
    AVPacket* pkt = av_packet_alloc();
    AVFrame* frame = av_frame_alloc();
    std::unique_ptr<AVPacket, void (*)(AVPacket*)> pkt_guard(pkt, [](AVPacket* p) { av_packet_free(&p); });
    std::unique_ptr<AVFrame, void (*)(AVFrame*)> frame_guard(frame, [](AVFrame* f) { av_frame_free(&f); });
    bool got = false;
    for (int reads = 0; !got && reads < 2000; ++reads) {
        const int rc = av_read_frame(ctx.get(), pkt);
        if (rc < 0) {
            avcodec_send_packet(dec, nullptr);  // drain
        } else if (pkt->stream_index != v) {
            av_packet_unref(pkt);
            continue;
        } else {
            avcodec_send_packet(dec, pkt);
            av_packet_unref(pkt);
        }
        got = avcodec_receive_frame(dec, frame) == 0;
        if (rc < 0 && !got) break;
    }
    if (!got) return core::Fail(ErrorCode::kInternal, "no frame could be decoded for the thumbnail");
    const int w = frame->width, h = frame->height;
    SwsContext* sws = sws_getContext(w, h, static_cast<AVPixelFormat>(frame->format), w, h, AV_PIX_FMT_RGB24,
                                     SWS_BILINEAR, nullptr, nullptr, nullptr);
    if (!sws) return core::Fail(ErrorCode::kInternal, "cannot convert the video frame");
    std::vector<uint8_t> rgb(static_cast<size_t>(w) * h * 3);
    uint8_t* dst[4] = {rgb.data(), nullptr, nullptr, nullptr};
    int stride[4] = {w * 3, 0, 0, 0};
    sws_scale(sws, frame->data, frame->linesize, 0, h, dst, stride);
    sws_freeContext(sws);
    return std::make_pair(std::move(rgb), std::make_pair(w, h));
}

}  // namespace

Inspector::Inspector() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (VIPS_INIT("herald") != 0) spdlog::error("event=vips_init_failed error=\"{}\"", VipsError());
        // Herald decodes untrusted files: only libvips's fuzzed, trusted loaders.
        vips_block_untrusted_set(TRUE);
        vips_concurrency_set(1);
        vips_cache_set_max(0);
        av_log_set_level(AV_LOG_QUIET);
    });
}

core::Result<app::MediaInfo> Inspector::Inspect(const std::filesystem::path& file, const domain::MediaLimits& limits) {
    app::MediaInfo info;
    std::error_code ec;
    info.bytes = std::filesystem::file_size(file, ec);
    if (ec) return core::Fail(ErrorCode::kInternal, "cannot read an uploaded file: " + ec.message());
    if (info.bytes == 0) {
        return core::Fail(ErrorCode::kInvalidArgument, "the file is empty", {{"rule", "empty"}});
    }
    magic_t cookie = Cookie();
    if (!cookie) return core::Fail(ErrorCode::kUnavailable, "the server cannot identify file types (libmagic)");
    const char* mime = magic_file(cookie, file.c_str());
    const std::string type = mime ? mime : "application/octet-stream";
    auto format = domain::FormatFromMime(type);
    if (!format && type == "video/x-m4v") format = MediaFormat::kMp4;
    if (!format) {
        return core::Fail(ErrorCode::kUnsupportedMediaType,
                          "the file is " + type +
                              "; Herald accepts JPEG, PNG, GIF and WebP images and MP4, MPEG, QuickTime and WebM "
                              "videos",
                          {{"rule", "format"}, {"detected", type}});
    }
    info.format = *format;
    const auto kind = domain::KindOf(*format);
    const uint64_t max = kind == MediaKind::kImage ? limits.max_image_bytes : limits.max_video_bytes;
    if (info.bytes > max) {
        return core::Fail(ErrorCode::kPayloadTooLarge,
                          std::string("the ") + std::string(domain::ToString(kind)) + " is " + MiB(info.bytes) +
                              "; the limit for " + std::string(domain::ToString(kind)) + "s is " + MiB(max),
                          {{"rule", "max_bytes"}});
    }
    if (auto s = kind == MediaKind::kImage ? ProbeImage(file, limits, info) : ProbeVideo(file, limits, info); !s) {
        return tl::unexpected(s.error());
    }
    auto sha = Sha256File(file);
    if (!sha) return tl::unexpected(sha.error());
    info.sha256 = std::move(*sha);
    return info;
}

core::Status Inspector::Thumbnail(const std::filesystem::path& file, const app::MediaInfo& info,
                                  const std::filesystem::path& out) {
    VipsImage* thumb = nullptr;
    if (domain::KindOf(info.format) == MediaKind::kImage) {
        if (vips_thumbnail(file.c_str(), &thumb, kThumbnailSize, "height", kThumbnailSize, nullptr) != 0) {
            return core::Fail(ErrorCode::kInternal, "cannot make a thumbnail: " + VipsError());
        }
    } else {
        auto frame = FirstFrame(file);
        if (!frame) return tl::unexpected(frame.error());
        auto& [rgb, size] = *frame;
        VipsPtr img(vips_image_new_from_memory(rgb.data(), rgb.size(), size.first, size.second, 3, VIPS_FORMAT_UCHAR));
        if (!img || vips_thumbnail_image(img.get(), &thumb, kThumbnailSize, "height", kThumbnailSize, nullptr) != 0) {
            return core::Fail(ErrorCode::kInternal, "cannot make a thumbnail: " + VipsError());
        }
    }
    VipsPtr t(thumb);
    if (vips_jpegsave(t.get(), out.c_str(), "Q", 80, "strip", TRUE, nullptr) != 0) {
        return core::Fail(ErrorCode::kInternal, "cannot write a thumbnail: " + VipsError());
    }
    return {};
}

core::Status Inspector::ReencodeImage(const std::filesystem::path& file, const std::filesystem::path& out,
                                      uint64_t max_bytes) {
    // Decoded once into memory (it is saved several times), transparency flattened onto white
    // (JPEG has none), metadata stripped.
    VipsPtr loaded(vips_image_new_from_file(file.c_str(), nullptr));
    if (!loaded) return core::Fail(ErrorCode::kInternal, "cannot read the image: " + VipsError());
    VipsImage* tmp = nullptr;
    if (vips_autorot(loaded.get(), &tmp, nullptr) != 0) return core::Fail(ErrorCode::kInternal, VipsError());
    VipsPtr image(tmp);
    if (vips_image_hasalpha(image.get())) {
        VipsArrayDouble* white = vips_array_double_newv(1, 255.0);
        const int rc = vips_flatten(image.get(), &tmp, "background", white, nullptr);
        vips_area_unref(VIPS_AREA(white));
        if (rc != 0) return core::Fail(ErrorCode::kInternal, VipsError());
        image.reset(tmp);
    }
    if (vips_image_get_interpretation(image.get()) != VIPS_INTERPRETATION_sRGB) {
        if (vips_colourspace(image.get(), &tmp, VIPS_INTERPRETATION_sRGB, nullptr) == 0) image.reset(tmp);
        vips_error_clear();
    }
    VipsImage* memory = vips_image_copy_memory(image.get());
    if (memory == nullptr) return core::Fail(ErrorCode::kInternal, VipsError());
    image.reset(memory);
    const int width = vips_image_get_width(image.get());
    // Quality 90 down to 60, then 85% of the pixels and again, down to a quarter of the width.
    for (double scale = 1.0; scale >= 0.25; scale *= 0.85) {
        VipsPtr scaled;
        VipsImage* source = image.get();
        if (scale < 1.0) {
            if (vips_resize(image.get(), &tmp, scale, nullptr) != 0)
                return core::Fail(ErrorCode::kInternal, VipsError());
            scaled.reset(tmp);
            source = tmp;
        }
        for (int q = 90; q >= 60; q -= 10) {
            void* buf = nullptr;
            size_t size = 0;
            if (vips_jpegsave_buffer(source, &buf, &size, "Q", q, "strip", TRUE, "optimize_coding", TRUE, nullptr) !=
                0) {
                return core::Fail(ErrorCode::kInternal, "cannot encode the image: " + VipsError());
            }
            const bool fits = size <= max_bytes;
            if (fits) {
                std::ofstream f(out, std::ios::binary | std::ios::trunc);
                f.write(static_cast<const char*>(buf), static_cast<std::streamsize>(size));
                g_free(buf);
                if (!f) return core::Fail(ErrorCode::kUnavailable, "cannot write the converted image");
                spdlog::info("event=image_reencoded width={} scale={:.2f} quality={} bytes={}", width, scale, q, size);
                return {};
            }
            g_free(buf);
        }
    }
    return core::Fail(ErrorCode::kFailedPrecondition,
                      "the image cannot be made small enough without losing most of its detail",
                      {{"rule", "cannot_convert"}});
}

core::Result<std::string> Sha256File(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return core::Fail(ErrorCode::kInternal, "cannot read " + file.filename().string());
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    std::vector<char> buf(256 * 1024);
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        const auto n = in.gcount();
        if (n > 0) crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(buf.data()), n);
    }
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, digest);
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return std::string(hex);
}

}  // namespace herald::media
