#include "domain/media.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include "domain/text.hpp"

namespace herald::domain {
namespace {

struct FormatInfo {
    MediaFormat format;
    MediaKind kind;
    std::string_view mime;
    std::string_view extension;
};

constexpr std::array<FormatInfo, 8> kFormats = {{
    {MediaFormat::kJpeg, MediaKind::kImage, "image/jpeg", "jpg"},
    {MediaFormat::kPng, MediaKind::kImage, "image/png", "png"},
    {MediaFormat::kGif, MediaKind::kImage, "image/gif", "gif"},
    {MediaFormat::kWebp, MediaKind::kImage, "image/webp", "webp"},
    {MediaFormat::kMp4, MediaKind::kVideo, "video/mp4", "mp4"},
    {MediaFormat::kMpeg, MediaKind::kVideo, "video/mpeg", "mpg"},
    {MediaFormat::kQuickTime, MediaKind::kVideo, "video/quicktime", "mov"},
    {MediaFormat::kWebm, MediaKind::kVideo, "video/webm", "webm"},
}};

const FormatInfo& Info(MediaFormat f) {
    for (const auto& i : kFormats) {
        if (i.format == f) return i;
    }
    return kFormats[0];
}

}  // namespace

std::string_view ToString(MediaKind k) { return k == MediaKind::kImage ? "image" : "video"; }

std::optional<MediaKind> ParseMediaKind(std::string_view s) {
    if (s == "image") return MediaKind::kImage;
    if (s == "video") return MediaKind::kVideo;
    return std::nullopt;
}

MediaKind KindOf(MediaFormat f) { return Info(f).kind; }
std::string_view MimeType(MediaFormat f) { return Info(f).mime; }
std::string_view Extension(MediaFormat f) { return Info(f).extension; }

std::optional<MediaFormat> FormatFromMime(std::string_view mime) {
    for (const auto& i : kFormats) {
        if (i.mime == mime) return i.format;
    }
    // libmagic's other names for the same containers.
    if (mime == "video/x-matroska") return std::nullopt;  // WebM is Matroska, but not every Matroska is WebM
    if (mime == "video/mp2t" || mime == "video/mp2p") return MediaFormat::kMpeg;
    return std::nullopt;
}

double AspectRatio(const MediaItem& m) {
    if (m.width == 0 || m.height == 0) return 0;
    return static_cast<double>(m.width) / static_cast<double>(m.height);
}

std::string CleanFileName(std::string_view name) {
    // Only the last component: "../../etc/passwd" is shown as "passwd"; Windows clients send
    // backslashes.
    if (const auto slash = name.find_last_of("/\\"); slash != std::string_view::npos) name = name.substr(slash + 1);
    std::string out;
    for (unsigned char c : name) {
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\'' || c == '`') continue;
        out.push_back(static_cast<char>(c));
    }
    while (!out.empty() && (out.front() == '.' || out.front() == ' ')) out.erase(out.begin());
    if (out.size() > 200) {
        out.resize(200);
        // Do not end inside a UTF-8 sequence.
        while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
        if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80)) out.pop_back();
    }
    if (!CountCodePoints(out, "name")) out.clear();
    return out;
}

core::Status ValidateAltText(std::string_view alt, const MediaLimits& limits) {
    auto n = CountCodePoints(alt, "alt_text");
    if (!n) return tl::unexpected(n.error());
    if (alt.size() > limits.max_alt_text) {
        return core::FieldError("alt_text", "max_length",
                                "alt text is " + std::to_string(alt.size()) + " bytes; the limit is " +
                                    std::to_string(limits.max_alt_text));
    }
    return {};
}

namespace {

std::string Plural(int n, std::string_view one) {
    return std::to_string(n) + " " + std::string(one) + (n == 1 ? "" : "s");
}

std::string Megabytes(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1'000'000.0);
    return buf;
}

core::Status MediaError(std::string field, std::string rule, std::string_view platform, std::string message) {
    return core::Fail(core::ErrorCode::kInvalidArgument, std::move(message),
                      {{"field", std::move(field)}, {"rule", std::move(rule)}, {"platform", std::string(platform)}});
}

}  // namespace

core::Status ValidateMedia(const std::vector<MediaItem>& items, const MediaRules& rules, std::string_view platform,
                           bool public_urls) {
    const std::string p(platform);
    int images = 0, videos = 0;
    for (const auto& m : items) (m.kind == MediaKind::kImage ? images : videos) += 1;
    if (items.empty()) {
        if (rules.requires_media) {
            return MediaError("media_ids", "required", platform, p + " requires at least one image or video");
        }
        return {};
    }
    if (rules.max_images == 0 && rules.max_videos == 0) {
        return MediaError("media_ids", "no_media", platform, p + " posts cannot carry images or videos here");
    }
    if (images > 0 && videos > 0 && !rules.mix_images_and_videos) {
        return MediaError("media_ids", "mixed_media", platform,
                          p + " does not take images and a video in one post: choose one kind");
    }
    if (images > rules.max_images) {
        return MediaError("media_ids", "max_images", platform,
                          rules.max_images == 0 ? p + " does not take images"
                                                : p + " takes at most " + Plural(rules.max_images, "image") +
                                                      " in a post; this one has " + std::to_string(images));
    }
    if (videos > rules.max_videos) {
        return MediaError("media_ids", "max_videos", platform,
                          rules.max_videos == 0 ? p + " does not take videos"
                                                : p + " takes at most " + Plural(rules.max_videos, "video") +
                                                      " in a post; this one has " + std::to_string(videos));
    }
    if (rules.pulls_from_url && !public_urls) {
        return MediaError("media_ids", "public_url", platform,
                          p + " downloads media from a public link, and this server has no public address: set "
                              "public_base_url (HERALD_PUBLIC_BASE_URL) to a URL the internet reaches this server at");
    }
    for (size_t i = 0; i < items.size(); ++i) {
        const auto& m = items[i];
        const std::string field = "media_ids[" + std::to_string(i) + "]";
        const std::string what = m.original_name.empty() ? std::string(ToString(m.kind)) : "'" + m.original_name + "'";
        if (!rules.formats.empty() &&
            std::find(rules.formats.begin(), rules.formats.end(), m.format) == rules.formats.end()) {
            auto e = MediaError(field, "format", platform,
                                p + " does not take " + std::string(MimeType(m.format)) + " (" + what + ")");
            if (m.kind == MediaKind::kImage) e.error().details["fix"] = "convert";
            return e;
        }
        const uint64_t max_bytes = m.kind == MediaKind::kImage ? rules.max_image_bytes : rules.max_video_bytes;
        if (max_bytes > 0 && m.bytes > max_bytes) {
            auto e = MediaError(field, "max_bytes", platform,
                                what + " is " + Megabytes(m.bytes) + "; " + p + " takes " +
                                    std::string(ToString(m.kind)) + "s up to " + Megabytes(max_bytes));
            // An image can be re-encoded smaller (POST /api/v1/media/{id}/convert), on request.
            if (m.kind == MediaKind::kImage) e.error().details["fix"] = "convert";
            return e;
        }
        if (m.kind == MediaKind::kVideo && m.duration_ms) {
            if (rules.max_video_ms > 0 && *m.duration_ms > rules.max_video_ms) {
                return MediaError(field, "max_duration", platform,
                                  what + " runs " + std::to_string(*m.duration_ms / 1000) + " s; " + p +
                                      " takes videos up to " + std::to_string(rules.max_video_ms / 1000) + " s");
            }
            if (rules.min_video_ms > 0 && *m.duration_ms < rules.min_video_ms) {
                return MediaError(field, "min_duration", platform,
                                  what + " runs " + std::to_string(*m.duration_ms) + " ms; " + p +
                                      " needs videos of at least " + std::to_string(rules.min_video_ms / 1000) + " s");
            }
        }
        const double ratio = AspectRatio(m);
        if (ratio > 0 && ((rules.min_aspect_ratio > 0 && ratio < rules.min_aspect_ratio - 1e-6) ||
                          (rules.max_aspect_ratio > 0 && ratio > rules.max_aspect_ratio + 1e-6))) {
            char buf[160];
            std::snprintf(buf, sizeof buf, " has an aspect ratio of %.2f (%u × %u); %s takes %.2f to %.2f", ratio,
                          m.width, m.height, p.c_str(), rules.min_aspect_ratio, rules.max_aspect_ratio);
            return MediaError(field, "aspect_ratio", platform, what + buf);
        }
    }
    return {};
}

}  // namespace herald::domain
