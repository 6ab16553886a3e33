#include "platforms/instagram.hpp"

namespace herald::platforms {
namespace {

using nlohmann::json;

// One item's container fields: a photo (with alt text) or a reel.
std::vector<std::pair<std::string, std::string>> MediaParams(const app::PublishMedia& m, bool carousel_item) {
    std::vector<std::pair<std::string, std::string>> p;
    if (m.kind == domain::MediaKind::kVideo) {
        p = {{"media_type", carousel_item ? "VIDEO" : "REELS"}, {"video_url", *m.public_url}};
    } else {
        p = {{"image_url", *m.public_url}};
        if (!m.alt_text.empty()) p.emplace_back("alt_text", m.alt_text);
    }
    return p;
}

}  // namespace

InstagramAdapter::InstagramAdapter(const core::Clock& clock, HttpOptions http, std::string api_base,
                                   std::string oauth_base, std::optional<OAuthClient> client)
    : OAuthAdapter(meta::LongLivedTokens(
          OAuthSpec{"Instagram",
                    "https://www.instagram.com/oauth/authorize",
                    oauth_base + "/oauth/access_token",
                    "instagram_business_basic,instagram_business_content_publish,"
                    "instagram_business_manage_comments",
                    false,
                    "client_id",
                    {}},
          meta::TokenEndpoints{"Instagram", meta::Origin(api_base) + "/access_token", "ig_exchange_token",
                               meta::Origin(api_base) + "/refresh_access_token", "ig_refresh_token"},
          std::move(client), clock, http)),
      clock_(clock),
      http_(http),
      api_(std::move(api_base)),
      containers_(meta::ContainerApi{"Instagram", api_, "media", "media_publish", "status_code"}, http_, clock) {}

domain::PlatformLimits InstagramAdapter::Limits() const {
    domain::PlatformLimits l;
    l.max_text_chars = 2200;
    l.max_media = 10;
    l.first_comment = true;
    auto& m = l.media;
    m.max_images = 10;
    m.max_videos = 10;
    m.mix_images_and_videos = true;
    m.requires_media = true;
    m.max_image_bytes = 8u << 20;
    m.max_video_bytes = 1024u << 20;
    m.max_video_ms = 15 * 60 * 1000;
    m.min_video_ms = 3000;
    m.min_aspect_ratio = 0.8;
    m.max_aspect_ratio = 1.91;
    m.formats = {domain::MediaFormat::kJpeg, domain::MediaFormat::kMp4, domain::MediaFormat::kQuickTime};
    m.pulls_from_url = true;
    return l;
}

core::Status InstagramAdapter::ValidateSettings(const std::string& settings_json) const {
    auto read = ReadSettings(settings_json, {"user_id", "username"}, "Instagram", "no settings");
    if (!read) return tl::unexpected(read.error());
    return {};
}

core::Result<std::string> InstagramAdapter::VerifyConnection(const std::string& settings_json,
                                                             const std::string& credentials_json) {
    const std::string token = AccessToken(credentials_json);
    if (token.empty()) {
        return core::FieldError("credentials", "instagram_token",
                                "Instagram accounts are connected through Instagram's consent page (POST "
                                "/api/v1/accounts/oauth)");
    }
    auto r = http_.Send(Authorized("GET", api_ + "/me?fields=user_id,username", token));
    if (!r.ok()) {
        return tl::unexpected(meta::ConnectionError(r, "Instagram", "checking the account", clock_.Now()));
    }
    const json me = r.Json();
    auto settings = JsonObject(settings_json);
    std::string id = me.value("user_id", "");
    if (id.empty()) id = me.value("id", JsonString(credentials_json, "user_id"));
    settings["user_id"] = id;
    settings["username"] = me.value("username", "");
    return settings.dump();
}

app::PublishOutcome InstagramAdapter::Publish(const app::PublishRequest& req) {
    const std::string token = AccessToken(req.credentials);
    if (token.empty()) return app::AuthExpired{"no Instagram token is stored for this account"};
    if (req.media.empty()) return app::Rejected{"an Instagram post needs an image or a video"};
    for (const auto& m : req.media) {
        if (!m.public_url) {
            return app::Rejected{
                "Instagram downloads media from a public link, and this server has no public_base_url"};
        }
    }
    const std::string user = JsonString(req.account_settings_json, "user_id");
    meta::Containers::Params params;
    if (req.media.size() > 1) {
        std::vector<meta::Containers::Params> items;
        for (const auto& m : req.media) items.push_back(MediaParams(m, true));
        auto children = containers_.Carousel(user, token, items);
        if (auto* o = std::get_if<app::PublishOutcome>(&children)) return *o;
        params = {{"media_type", "CAROUSEL"}, {"children", std::get<std::string>(children)}};
    } else {
        params = MediaParams(req.media[0], false);
    }
    params.emplace_back("caption", req.text);
    auto published = containers_.Post(user, token, params);
    if (auto* o = std::get_if<app::PublishOutcome>(&published)) return *o;
    const std::string id = std::get<std::string>(published);
    std::string url = containers_.Permalink(id, token);
    if (url.empty()) url = "https://www.instagram.com/" + JsonString(req.account_settings_json, "username") + "/";
    // The first comment: a comment on the post (Instagram has no replies of one's own).
    auto comment = PostReplies(req, id, url, [&](const std::string& text, const std::string&) -> ReplyStep {
        HttpRequest c = Authorized("POST", api_ + "/" + id + "/comments", token);
        c.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
        c.body = FormEncode({{"message", text}});
        auto r = http_.Send(c);
        if (!r.ok()) return meta::Outcome(r, "Instagram", "the first comment", true, clock_.Now());
        return r.Json().value("id", "");
    });
    if (comment) return *comment;
    return app::Published{id, url, std::nullopt};
}

}  // namespace herald::platforms
