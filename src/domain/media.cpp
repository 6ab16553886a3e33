#include "domain/media.hpp"

#include <array>

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

}  // namespace herald::domain
