#include <fstream>
#include <sstream>
#include <stdexcept>

#include "api/api.hpp"
#include "api/json_body.hpp"
#include "api/paging.hpp"
#include "app/json_views.hpp"
#include "core/ids.hpp"

namespace herald::api {
namespace {

// An item as the API shows it: with its signed public link when the server has one.
nlohmann::json MediaJson(const app::MediaService& media, const domain::MediaItem& m) {
    auto out = app::ToJson(m);
    if (auto url = media.PublicUrl(m)) out["public_url"] = *url;
    return out;
}

}  // namespace

app::MediaService& Api::Media() const {
    if (deps_.media == nullptr) throw std::logic_error("a media route was reached on a node without a media library");
    return *deps_.media;
}

// POST /api/v1/media, multipart/form-data: file parts (any field name, usually "files"), and
// optional "alt_text" fields, the n-th one for the n-th file.
net::Response Api::UploadMedia(const net::Request& r, const app::Principal& who, const Params&) {
    if (!r.multipart) {
        return ErrorResponse({core::ErrorCode::kUnsupportedMediaType,
                              "send the files as multipart/form-data (with a boundary), e.g. curl -F files=@photo.jpg",
                              {{"rule", "content_type"}}});
    }
    std::vector<app::UploadFile> files;
    std::vector<std::string> alts;
    for (const auto& part : r.uploads) {
        if (part.filename) {
            files.push_back(app::UploadFile{part.path, *part.filename, ""});
        } else if (part.name == "alt_text") {
            alts.push_back(part.value);
        } else {
            return ErrorResponse(core::FieldError(part.name, "unknown_field",
                                                  "unknown form field '" + part.name +
                                                      "' (known: file parts, and alt_text, one per file in order)")
                                     .value());
        }
    }
    if (alts.size() > files.size()) {
        return ErrorResponse(core::FieldError("alt_text", "count",
                                              std::to_string(alts.size()) + " alt_text fields for " +
                                                  std::to_string(files.size()) + " files")
                                 .value());
    }
    for (size_t i = 0; i < alts.size(); ++i) files[i].alt_text = alts[i];
    auto items = Media().Upload(who, std::move(files));
    if (!items) return ErrorResponse(items.error());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& m : *items) out.push_back(MediaJson(Media(), m));
    return JsonResponse(201, {{"items", out}});
}

// POST /api/v1/media/from-url {"url", "alt_text"}: the file is downloaded by the server.
net::Response Api::UploadMediaFromUrl(const net::Request& r, const app::Principal& who, const Params&) {
    auto body = JsonBody::Parse(r.body);
    if (!body) return ErrorResponse(body.error());
    const auto url = body->String("url");
    const auto alt = body->OptString("alt_text").value_or("");
    if (auto ok = body->Finish(); !ok) return ErrorResponse(ok.error());
    auto m = Media().UploadFromUrl(who, url, alt);
    if (!m) return ErrorResponse(m.error());
    return JsonResponse(201, {{"items", nlohmann::json::array({MediaJson(Media(), *m)})}});
}

// POST /api/v1/media/{id}/convert {"platform"}: a new item that meets the platform's rules.
net::Response Api::ConvertMedia(const net::Request& r, const app::Principal& who, const Params& p) {
    auto body = JsonBody::Parse(r.body);
    if (!body) return ErrorResponse(body.error());
    const auto platform = body->String("platform");
    if (auto ok = body->Finish(); !ok) return ErrorResponse(ok.error());
    auto m = Media().ConvertFor(who, p[0], platform);
    if (!m) return ErrorResponse(m.error());
    return JsonResponse(201, {{"items", nlohmann::json::array({MediaJson(Media(), *m)})}});
}

net::Response Api::ListMedia(const net::Request& r, const app::Principal& who, const Params&) {
    app::MediaFilter f;
    for (const auto& [key, value] : r.query) {
        if (key == "kind") {
            f.kind = domain::ParseMediaKind(value);
            if (!f.kind) return ErrorResponse(core::FieldError("kind", "enum", "kind must be image or video").value());
        } else if (key == "cursor" || key == "limit") {
            if (auto ok = ReadPagingParam(key, value, core::IsId(value), f.before_id, f.limit); !ok) {
                return ErrorResponse(ok.error());
            }
        } else {
            return ErrorResponse(core::FieldError(key, "unknown_parameter",
                                                  "unknown query parameter '" + key + "' (known: kind, cursor, limit)")
                                     .value());
        }
    }
    const int page = f.limit;
    f.limit = page + 1;
    auto items = Media().List(who, f);
    if (!items) return ErrorResponse(items.error());
    return JsonResponse(200, Page(*items, page, [this](const domain::MediaItem& m) { return MediaJson(Media(), m); }));
}

net::Response Api::GetMedia(const net::Request&, const app::Principal& who, const Params& p) {
    auto m = Media().Get(who, p[0]);
    if (!m) return ErrorResponse(m.error());
    return JsonResponse(200, MediaJson(Media(), *m));
}

net::Response Api::UpdateMedia(const net::Request& r, const app::Principal& who, const Params& p) {
    auto body = JsonBody::Parse(r.body);
    if (!body) return ErrorResponse(body.error());
    const auto alt = body->String("alt_text");
    if (auto ok = body->Finish(); !ok) return ErrorResponse(ok.error());
    auto m = Media().SetAltText(who, p[0], alt);
    if (!m) return ErrorResponse(m.error());
    return JsonResponse(200, MediaJson(Media(), *m));
}

net::Response Api::DeleteMedia(const net::Request&, const app::Principal& who, const Params& p) {
    if (auto ok = Media().Delete(who, p[0]); !ok) return ErrorResponse(ok.error());
    return net::Response{204, "", "", {}};
}

net::Response Api::MediaThumbnail(const net::Request&, const app::Principal& who, const Params& p) {
    auto m = Media().Get(who, p[0]);
    if (!m) return ErrorResponse(m.error());
    if (!m->thumbnail_key) {
        return ErrorResponse({core::ErrorCode::kNotFound, "this media item has no thumbnail", {{"media_id", m->id}}});
    }
    auto path = Media().Files().ReadablePath(*m->thumbnail_key);
    if (!path) return ErrorResponse(path.error());
    std::ifstream in(*path, std::ios::binary);
    if (!in) {
        return ErrorResponse({core::ErrorCode::kNotFound, "the thumbnail's file is missing", {{"media_id", m->id}}});
    }
    std::ostringstream bytes;
    bytes << in.rdbuf();
    net::Response resp{200, "image/jpeg", bytes.str(), {}};
    resp.headers.emplace_back("Cache-Control", "private, max-age=86400");
    resp.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return resp;
}

// GET /api/v1/public/media/{id}.{ext}?w=&e=&s=: no login; the signature is the permission.
// Platforms that pull media (Instagram, Threads, TikTok) download from here.
net::Response Api::PublicMedia(const net::Request& r, const Params& p) {
    auto q = [&](const char* key) {
        auto it = r.query.find(key);
        return it == r.query.end() ? std::string() : it->second;
    };
    auto m = Media().ResolvePublic(p[0], q("w"), q("e"), q("s"));
    if (!m) return ErrorResponse(m.error());
    auto path = Media().Files().ReadablePath(m->storage_key);
    if (!path) return ErrorResponse(path.error());
    net::Response resp{200, std::string(domain::MimeType(m->format)), "", {}, path->string()};
    resp.headers.emplace_back("Cache-Control", "public, max-age=3600, immutable");
    resp.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return resp;
}

}  // namespace herald::api
