#include "app/media_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/ids.hpp"

namespace herald::app {
namespace {

using core::ErrorCode;

void RemoveQuietly(const std::filesystem::path& p) {
    std::error_code ec;
    if (!p.empty()) std::filesystem::remove(p, ec);
}

// `<workspace>/<yyyy>/<mm>/<sha256>.<ext>`: by workspace and month of the first upload, named
// by content.
std::string KeyFor(const std::string& workspace_id, core::TimePoint now, const std::string& sha, std::string_view ext) {
    const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(now)};
    char date[16];
    std::snprintf(date, sizeof date, "%04d/%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()));
    return workspace_id + "/" + date + "/" + sha + "." + std::string(ext);
}

core::Error ForFile(core::Error e, const std::string& name, size_t index) {
    e.details["file"] = name.empty() ? "#" + std::to_string(index + 1) : name;
    e.message = "'" + e.details["file"] + "': " + e.message;
    return e;
}

}  // namespace

MediaService::MediaService(Store& store, MediaInspector& inspector, MediaStore& files, core::Clock& clock,
                           domain::MediaLimits limits)
    : store_(store), inspector_(inspector), files_(files), clock_(clock), limits_(limits) {}

core::Result<std::vector<domain::MediaItem>> MediaService::Upload(const Principal& p, std::vector<UploadFile> files) {
    // Whatever happens, no spool file outlives this call: kept ones are renamed away first.
    std::vector<std::filesystem::path> spool;
    for (const auto& f : files) spool.push_back(f.path);
    struct Cleanup {
        std::vector<std::filesystem::path>& paths;
        ~Cleanup() {
            for (const auto& path : paths) RemoveQuietly(path);
        }
    } cleanup{spool};

    if (auto ok = Require(p, domain::Role::kEditor); !ok) return tl::unexpected(ok.error());
    if (files.empty()) {
        return core::FieldError("files", "required", "send at least one file (multipart/form-data, field 'files')");
    }
    if (static_cast<int>(files.size()) > limits_.max_files_per_request) {
        return core::Fail(ErrorCode::kPayloadTooLarge,
                          "at most " + std::to_string(limits_.max_files_per_request) + " files per request",
                          {{"rule", "max_files"}});
    }
    const auto now = clock_.Now();
    std::vector<domain::MediaItem> items;
    std::vector<std::filesystem::path> thumbs;  // per item; empty when shared with an existing item
    for (size_t i = 0; i < files.size(); ++i) {
        const auto name = domain::CleanFileName(files[i].client_name);
        if (auto ok = domain::ValidateAltText(files[i].alt_text, limits_); !ok) {
            return tl::unexpected(ForFile(ok.error(), name, i));
        }
        auto info = inspector_.Inspect(files[i].path, limits_);
        if (!info) return tl::unexpected(ForFile(info.error(), name, i));
        domain::MediaItem m;
        m.id = core::NewId(now);
        m.workspace_id = p.workspace_id;
        m.created_by = p.user_id;
        m.format = info->format;
        m.kind = domain::KindOf(info->format);
        m.bytes = info->bytes;
        m.sha256 = info->sha256;
        m.original_name = name;
        m.alt_text = files[i].alt_text;
        m.width = info->width;
        m.height = info->height;
        m.duration_ms = info->duration_ms;
        m.frame_rate = info->frame_rate;
        m.video_codec = info->video_codec;
        m.audio_codec = info->audio_codec;
        m.created_at = now;
        std::filesystem::path thumb;
        auto existing = store_.FindMediaBySha(p.workspace_id, m.sha256);
        if (!existing) return tl::unexpected(existing.error());
        if (*existing) {
            m.storage_key = (*existing)->storage_key;
            m.thumbnail_key = (*existing)->thumbnail_key;
        } else {
            m.storage_key = KeyFor(p.workspace_id, now, m.sha256, domain::Extension(m.format));
            thumb = files_.SpoolDir() / (m.id + ".thumb.jpg");
            spool.push_back(thumb);
            if (auto t = inspector_.Thumbnail(files[i].path, *info, thumb); t) {
                m.thumbnail_key = KeyFor(p.workspace_id, now, m.sha256, "thumb.jpg");
            } else {
                // The upload is fine; the dashboard shows a placeholder.
                spdlog::warn("event=media_thumbnail_failed media_id={} error=\"{}\"", m.id, t.error().message);
                thumb.clear();
            }
        }
        items.push_back(std::move(m));
        thumbs.push_back(std::move(thumb));
    }

    std::lock_guard lock(files_mu_);
    // Files first, rows second: a row never points at bytes that are not there. On failure the
    // files placed here and used by no row are removed again.
    std::vector<std::string> placed;
    // Only keys that held nothing before are in `placed`, and under the lock no other row can
    // have started using them.
    auto undo = [&] {
        for (const auto& key : placed) (void)files_.Remove(key);
    };
    for (size_t i = 0; i < items.size(); ++i) {
        for (const auto& [path, key] :
             {std::pair{files[i].path, std::optional(items[i].storage_key)},
              std::pair{thumbs[i], thumbs[i].empty() ? std::nullopt : items[i].thumbnail_key}}) {
            if (!key) continue;
            auto existed = files_.Exists(*key);
            if (!existed) {
                undo();
                return tl::unexpected(existed.error());
            }
            if (*existed) {
                RemoveQuietly(path);  // the same bytes are there already: stored once
                continue;
            }
            if (auto s = files_.Put(path, *key); !s) {
                undo();
                return tl::unexpected(s.error());
            }
            placed.push_back(*key);
        }
    }
    if (auto s = store_.InsertMedia(items); !s) {
        undo();
        return tl::unexpected(s.error());
    }
    for (const auto& m : items) {
        spdlog::info("event=media_uploaded media_id={} workspace_id={} kind={} bytes={}", m.id, m.workspace_id,
                     domain::ToString(m.kind), m.bytes);
    }
    return items;
}

void MediaService::SetPublicLinks(const auth::UrlSigner* signer, std::string base_url, std::chrono::seconds ttl) {
    signer_ = signer;
    while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
    base_url_ = std::move(base_url);
    url_ttl_ = ttl;
}

namespace {
// What a public link signs: the workspace, the item and the expiry, so no part can be swapped.
std::string LinkMessage(const std::string& workspace_id, const std::string& id, const std::string& expires) {
    return "media\n" + workspace_id + "\n" + id + "\n" + expires;
}
}  // namespace

std::optional<std::string> MediaService::PublicUrl(const domain::MediaItem& m) const {
    if (signer_ == nullptr || base_url_.empty()) return std::nullopt;
    // Rounded up to the hour, so that links made within one hour are the same link (caches
    // and platforms that fetch twice see one URL).
    const int64_t now_s = core::ToUnixMillis(clock_.Now()) / 1000;
    const int64_t expires = (now_s + url_ttl_.count() + 3599) / 3600 * 3600;
    const std::string e = std::to_string(expires);
    return base_url_ + "/api/v1/public/media/" + m.id + "." + std::string(domain::Extension(m.format)) +
           "?w=" + m.workspace_id + "&e=" + e + "&s=" + signer_->Sign(LinkMessage(m.workspace_id, m.id, e));
}

core::Result<domain::MediaItem> MediaService::ResolvePublic(const std::string& file, const std::string& workspace_id,
                                                            const std::string& expires, const std::string& signature) {
    auto denied = [] {
        return core::Fail(ErrorCode::kPermissionDenied, "this media link is not valid or has expired",
                          {{"rule", "signature"}});
    };
    if (signer_ == nullptr) return denied();
    const auto dot = file.find('.');
    const std::string id = file.substr(0, dot);
    if (!core::IsId(id) || !core::IsId(workspace_id) || expires.empty() || expires.size() > 12 ||
        expires.find_first_not_of("0123456789") != std::string::npos) {
        return denied();
    }
    if (!signer_->Verify(LinkMessage(workspace_id, id, expires), signature)) return denied();
    if (std::stoll(expires) * 1000 < core::ToUnixMillis(clock_.Now())) return denied();
    auto m = store_.GetMedia(workspace_id, id);
    if (!m) return tl::unexpected(m.error());
    if (dot != std::string::npos && file.substr(dot + 1) != domain::Extension(m->format)) {
        return core::Fail(ErrorCode::kNotFound, "no such media file");
    }
    return m;
}

core::Result<domain::MediaItem> MediaService::UploadFromUrl(const Principal& p, const std::string& url,
                                                            const std::string& alt_text) {
    if (auto ok = Require(p, domain::Role::kEditor); !ok) return tl::unexpected(ok.error());
    if (fetcher_ == nullptr) return core::Fail(ErrorCode::kUnavailable, "this server does not fetch media from URLs");
    if (auto ok = domain::ValidateAltText(alt_text, limits_); !ok) return tl::unexpected(ok.error());
    const auto dest = files_.SpoolDir() / ("fetch-" + core::NewId(clock_.Now()) + ".part");
    auto fetched = fetcher_->Fetch(url, dest, std::max(limits_.max_image_bytes, limits_.max_video_bytes));
    if (!fetched) return tl::unexpected(fetched.error());
    auto items = Upload(p, {UploadFile{dest, fetched->file_name, alt_text}});
    if (!items) return tl::unexpected(items.error());
    return items->front();
}

core::Result<domain::MediaItem> MediaService::ConvertFor(const Principal& p, const std::string& id,
                                                         const std::string& platform) {
    if (auto ok = Require(p, domain::Role::kEditor); !ok) return tl::unexpected(ok.error());
    PlatformAdapter* adapter = platforms_ ? platforms_->Find(platform) : nullptr;
    if (adapter == nullptr) {
        return core::FieldError("platform", "known_platform",
                                "platform " + platform + " is not available on this server");
    }
    auto item = store_.GetMedia(p.workspace_id, id);
    if (!item) return tl::unexpected(item.error());
    const auto rules = adapter->Limits().media;
    auto verdict = domain::ValidateMedia({*item}, rules, platform);
    if (verdict) {
        return core::Fail(ErrorCode::kFailedPrecondition, "this item already meets " + platform + "'s rules",
                          {{"rule", "not_needed"}});
    }
    const std::string broken = verdict.error().details["rule"];
    if (item->kind != domain::MediaKind::kImage || (broken != "max_bytes" && broken != "format")) {
        return core::Fail(ErrorCode::kFailedPrecondition,
                          "Herald can re-encode an image that is too large or in a format " + platform +
                              " does not take; this needs something else: " + verdict.error().message,
                          {{"rule", "cannot_convert"}});
    }
    const uint64_t max_bytes = rules.max_image_bytes > 0 ? rules.max_image_bytes : limits_.max_image_bytes;
    const auto out = files_.SpoolDir() / ("convert-" + core::NewId(clock_.Now()) + ".part");
    auto original = files_.ReadablePath(item->storage_key);
    if (!original) return tl::unexpected(original.error());
    if (auto ok = inspector_.ReencodeImage(*original, out, max_bytes); !ok) {
        RemoveQuietly(out);
        return tl::unexpected(ok.error());
    }
    std::string stem = item->original_name.substr(0, item->original_name.rfind('.'));
    if (stem.empty()) stem = item->id;
    auto made = Upload(p, {UploadFile{out, stem + "-" + platform + ".jpg", item->alt_text}});
    if (!made) return tl::unexpected(made.error());
    spdlog::info("event=media_converted media_id={} from={} platform={}", made->front().id, item->id, platform);
    return made->front();
}

core::Result<domain::MediaItem> MediaService::Get(const Principal& p, const std::string& id) {
    return store_.GetMedia(p.workspace_id, id);
}

core::Result<std::vector<domain::MediaItem>> MediaService::List(const Principal& p, MediaFilter filter) {
    filter.workspace_id = p.workspace_id;
    filter.limit = std::clamp(filter.limit, 1, 1000);
    return store_.ListMedia(filter);
}

core::Result<domain::MediaItem> MediaService::SetAltText(const Principal& p, const std::string& id,
                                                         const std::string& alt) {
    if (auto ok = Require(p, domain::Role::kEditor); !ok) return tl::unexpected(ok.error());
    if (auto ok = domain::ValidateAltText(alt, limits_); !ok) return tl::unexpected(ok.error());
    return store_.SetMediaAltText(p.workspace_id, id, alt);
}

core::Result<std::vector<PublishMedia>> MediaService::ForPublish(const std::string& workspace_id,
                                                                 const std::vector<std::string>& media_ids) {
    std::vector<PublishMedia> out;
    out.reserve(media_ids.size());
    for (const auto& id : media_ids) {
        auto item = store_.GetMedia(workspace_id, id);
        if (!item) {
            if (item.error().code != ErrorCode::kNotFound) return tl::unexpected(item.error());
            return core::Fail(ErrorCode::kNotFound,
                              "media item " + id + " was deleted after the post was written; edit the post",
                              {{"media_id", id}});
        }
        const auto& m = *item;
        auto path = files_.ReadablePath(m.storage_key);
        if (!path) {
            auto e = path.error();
            if (e.code == ErrorCode::kNotFound) e.message = "the file of media item " + id + " is missing from storage";
            e.details["media_id"] = id;
            return tl::unexpected(std::move(e));
        }
        PublishMedia pm;
        pm.id = m.id;
        pm.kind = m.kind;
        pm.format = m.format;
        pm.path = std::move(*path);
        pm.bytes = m.bytes;
        pm.width = static_cast<int>(m.width);
        pm.height = static_cast<int>(m.height);
        pm.duration_ms = m.duration_ms.value_or(0);
        pm.alt_text = m.alt_text;
        pm.public_url = PublicUrl(m);
        out.push_back(std::move(pm));
    }
    return out;
}

core::Status MediaService::Delete(const Principal& p, const std::string& id) {
    if (auto ok = Require(p, domain::Role::kEditor); !ok) return ok;
    std::lock_guard lock(files_mu_);
    auto item = store_.GetMedia(p.workspace_id, id);
    if (!item) return tl::unexpected(item.error());
    auto user = store_.PostUsingMedia(p.workspace_id, id);
    if (!user) return tl::unexpected(user.error());
    if (*user) {
        return core::Fail(
            ErrorCode::kFailedPrecondition,
            "post " + **user + " still has to publish with this media item: remove it from the post first",
            {{"post_id", **user}, {"rule", "in_use"}});
    }
    auto left = store_.DeleteMedia(p.workspace_id, id);
    if (!left) return tl::unexpected(left.error());
    if (*left == 0) {
        // The last item with these bytes: the file goes too. A failure leaves an orphan file,
        // never a row without its file.
        for (const auto& key : {std::optional(item->storage_key), item->thumbnail_key}) {
            if (!key) continue;
            if (auto s = files_.Remove(*key); !s) {
                spdlog::warn("event=media_file_remove_failed key={} error=\"{}\"", *key, s.error().message);
            }
        }
    }
    return {};
}

}  // namespace herald::app
