#pragma once

#include <mutex>

#include "app/ports.hpp"
#include "app/principal.hpp"
#include "auth/url_signer.hpp"

namespace herald::app {

/// One file of an upload, already on disk in the media store's spool folder.
struct UploadFile {
    std::filesystem::path path;
    std::string client_name;  ///< as the client sent it; cleaned before it is kept
    std::string alt_text;
};

/// The media library: uploads checked from their bytes, stored once per content, listed,
/// described (alt text) and deleted. An upload of several files keeps all or none.
class MediaService final : public MediaResolver {
  public:
    MediaService(Store& store, MediaInspector& inspector, MediaStore& files, core::Clock& clock,
                 domain::MediaLimits limits);

    /// Checks every file, then stores them all; on any error nothing is kept and the spool
    /// files are gone. The error names the file (details: "file").
    core::Result<std::vector<domain::MediaItem>> Upload(const Principal& p, std::vector<UploadFile> files);
    /// Downloads `url` (no private addresses: MediaFetcher) and stores it as Upload does.
    core::Result<domain::MediaItem> UploadFromUrl(const Principal& p, const std::string& url,
                                                  const std::string& alt_text);
    void SetFetcher(MediaFetcher* fetcher) { fetcher_ = fetcher; }
    void SetPlatforms(const PlatformRegistry* platforms) { platforms_ = platforms; }
    /// A new item made from image `id` so that it meets `platform`'s rules (re-encoded as JPEG
    /// under its size limit), never changing the original. kFailedPrecondition when the item
    /// already fits (rule not_needed) or cannot be made to (cannot_convert: a video, or an
    /// aspect ratio, which needs a person's crop).
    core::Result<domain::MediaItem> ConvertFor(const Principal& p, const std::string& id, const std::string& platform);
    core::Result<domain::MediaItem> Get(const Principal& p, const std::string& id);
    core::Result<std::vector<domain::MediaItem>> List(const Principal& p, MediaFilter filter);
    core::Result<domain::MediaItem> SetAltText(const Principal& p, const std::string& id, const std::string& alt);
    core::Status Delete(const Principal& p, const std::string& id);

    /// Turns on signed public links: `base_url` is how the internet reaches this server.
    void SetPublicLinks(const auth::UrlSigner* signer, std::string base_url, std::chrono::seconds ttl);
    /// A link anyone can download the item from until it expires (now + the configured time);
    /// nothing when public links are off.
    std::optional<std::string> PublicUrl(const domain::MediaItem& m) const;
    /// Checks a public link's parts (GET /api/v1/public/media/{file}?w=&e=&s=) and returns the
    /// item. kPermissionDenied for a wrong or expired signature, kNotFound for a deleted item.
    core::Result<domain::MediaItem> ResolvePublic(const std::string& file, const std::string& workspace_id,
                                                  const std::string& expires, const std::string& signature);

    /// The post's media for an adapter: a readable file for each, and a public link where
    /// links are on. An item deleted since the post was written is kNotFound, naming it.
    core::Result<std::vector<PublishMedia>> ForPublish(const std::string& workspace_id,
                                                       const std::vector<std::string>& media_ids) override;

    const domain::MediaLimits& Limits() const { return limits_; }
    bool PublicLinksOn() const { return signer_ != nullptr && !base_url_.empty(); }
    MediaStore& Files() { return files_; }

  private:
    Store& store_;
    MediaInspector& inspector_;
    MediaStore& files_;
    core::Clock& clock_;
    domain::MediaLimits limits_;
    const auth::UrlSigner* signer_ = nullptr;
    MediaFetcher* fetcher_ = nullptr;
    const PlatformRegistry* platforms_ = nullptr;
    std::string base_url_;
    std::chrono::seconds url_ttl_{86400};
    // Placing a file and counting who still uses it must not interleave with a delete of the
    // last item using the same bytes.
    std::mutex files_mu_;
};

}  // namespace herald::app
