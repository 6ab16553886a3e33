#pragma once

// What an uploaded file really is: the format from its bytes (libmagic), its dimensions,
// duration and codecs (libvips for images, libavformat for videos), a full decode to catch
// truncated or corrupt files, and a JPEG thumbnail for the dashboard.

#include "app/ports.hpp"

namespace herald::media {

class Inspector final : public app::MediaInspector {
  public:
    Inspector();
    core::Result<app::MediaInfo> Inspect(const std::filesystem::path& file, const domain::MediaLimits& limits) override;
    core::Status ReencodeImage(const std::filesystem::path& file, const std::filesystem::path& out,
                               uint64_t max_bytes) override;
    core::Status Thumbnail(const std::filesystem::path& file, const app::MediaInfo& info,
                           const std::filesystem::path& out) override;
};

/// The sha256 of a file, in hex, read in chunks.
core::Result<std::string> Sha256File(const std::filesystem::path& file);

}  // namespace herald::media
