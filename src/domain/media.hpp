#pragma once

// Media items: what was uploaded, what it really is, and the rules an upload must meet.
// Pure values; sniffing, probing and storing live in media/.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace herald::domain {

enum class MediaKind { kImage, kVideo };

/// The formats Herald accepts, as sniffed from the bytes (never from a name or a header).
enum class MediaFormat { kJpeg, kPng, kGif, kWebp, kMp4, kMpeg, kQuickTime, kWebm };

std::string_view ToString(MediaKind k);
std::optional<MediaKind> ParseMediaKind(std::string_view s);
MediaKind KindOf(MediaFormat f);
/// "image/jpeg", "video/mp4", …
std::string_view MimeType(MediaFormat f);
/// From a MIME type as libmagic names it; nothing for a type Herald does not accept.
std::optional<MediaFormat> FormatFromMime(std::string_view mime);
/// The file extension Herald stores the format under ("jpg", "mp4", …).
std::string_view Extension(MediaFormat f);

/// Upload limits; every one configurable (`herald serve --media-…`).
struct MediaLimits {
    uint64_t max_image_bytes = 10ull * 1024 * 1024;
    uint64_t max_video_bytes = 100ull * 1024 * 1024;
    /// An image declaring more pixels than this is refused before a single pixel is decoded:
    /// a 100,000 × 100,000 image would need 30 GB once decoded (a decompression bomb).
    uint64_t max_image_pixels = 100'000'000;
    uint32_t max_dimension = 20'000;  ///< either side, images and videos
    int max_files_per_request = 10;
    size_t max_alt_text = 1500;  ///< graphemes would be kinder; bytes keep it simple and strict
};

struct MediaItem {
    std::string id;
    std::string workspace_id;
    std::string created_by;  ///< user id
    MediaKind kind = MediaKind::kImage;
    MediaFormat format = MediaFormat::kJpeg;
    uint64_t bytes = 0;
    std::string sha256;         ///< hex, of the stored bytes
    std::string storage_key;    ///< where the bytes are in the media store
    std::string original_name;  ///< as the client named it, cleaned; shown, never used as a path
    std::string alt_text;
    uint32_t width = 0;
    uint32_t height = 0;
    std::optional<int64_t> duration_ms;  ///< videos
    std::optional<double> frame_rate;    ///< videos
    std::optional<std::string> video_codec;
    std::optional<std::string> audio_codec;
    std::optional<std::string> thumbnail_key;  ///< a JPEG in the media store, for the dashboard
    core::TimePoint created_at{};
};

/// Width over height, e.g. 1.7778 for 16:9; 0 when a side is unknown.
double AspectRatio(const MediaItem& m);

/// A client's file name reduced to something safe to show and to put in a header: the last
/// path component, no control characters, no quotes, at most 200 bytes. Never used to build a
/// path on disk.
std::string CleanFileName(std::string_view name);

core::Status ValidateAltText(std::string_view alt, const MediaLimits& limits);

/// What one platform accepts as a post's media, declared by its adapter (one place, read by
/// the API's validation and shown by GET /api/v1/platforms). Zero means "none allowed" for
/// counts and "no limit" for sizes and durations.
struct MediaRules {
    int max_images = 0;
    int max_videos = 0;
    bool mix_images_and_videos = false;  ///< images and a video in one post
    bool requires_media = false;         ///< e.g. Instagram: no text-only posts
    uint64_t max_image_bytes = 0;
    uint64_t max_video_bytes = 0;
    int64_t max_video_ms = 0;
    int64_t min_video_ms = 0;
    /// Width over height; 0: any.
    double min_aspect_ratio = 0;
    double max_aspect_ratio = 0;
    std::vector<MediaFormat> formats;  ///< empty: every format Herald accepts
    /// The platform fetches media from a URL (Instagram, Threads, TikTok pull): Herald must
    /// have a public base URL to give it one.
    bool pulls_from_url = false;
};

/// Checks a post's media against one platform's rules. The error names the field
/// ("media_ids", or "media_ids[i]" for one item), the rule, the platform and the limit.
/// `public_urls`: whether this server can give platforms a public link to download from.
core::Status ValidateMedia(const std::vector<MediaItem>& items, const MediaRules& rules, std::string_view platform,
                           bool public_urls = true);

}  // namespace herald::domain
