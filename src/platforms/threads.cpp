#include "platforms/threads.hpp"

namespace herald::platforms {
namespace {

using nlohmann::json;

// The media fields of one container: the item's public link, its kind and alt text.
std::vector<std::pair<std::string, std::string>> MediaParams(const app::PublishMedia& m) {
    const bool video = m.kind == domain::MediaKind::kVideo;
    std::vector<std::pair<std::string, std::string>> p = {{"media_type", video ? "VIDEO" : "IMAGE"},
                                                          {video ? "video_url" : "image_url", *m.public_url}};
    if (!m.alt_text.empty()) p.emplace_back("alt_text", m.alt_text);
    return p;
}

}  // namespace

ThreadsAdapter::ThreadsAdapter(const core::Clock& clock, HttpOptions http, std::string api_base,
                               std::optional<OAuthClient> client)
    : OAuthAdapter(meta::LongLivedTokens(
          OAuthSpec{"Threads",
                    "https://threads.net/oauth/authorize",
                    meta::Origin(api_base) + "/oauth/access_token",
                    "threads_basic,threads_content_publish,threads_manage_replies",
                    false,
                    "client_id",
                    {}},
          meta::TokenEndpoints{"Threads", meta::Origin(api_base) + "/access_token", "th_exchange_token",
                               meta::Origin(api_base) + "/refresh_access_token", "th_refresh_token"},
          std::move(client), clock, http)),
      clock_(clock),
      http_(http),
      api_(std::move(api_base)),
      containers_(meta::ContainerApi{"Threads", api_, "threads", "threads_publish", "status"}, http_, clock) {}

domain::PlatformLimits ThreadsAdapter::Limits() const {
    domain::PlatformLimits l;
    l.max_text_chars = 500;
    l.counting = domain::TextCounting::kUtf8Bytes;
    l.max_media = 20;
    l.max_thread_items = 25;
    l.first_comment = true;
    auto& m = l.media;
    m.max_images = 20;
    m.max_videos = 20;
    m.mix_images_and_videos = true;
    m.max_image_bytes = 8u << 20;
    m.max_video_bytes = 1024u << 20;
    m.max_video_ms = 5 * 60 * 1000;
    m.pulls_from_url = true;
    return l;
}

core::Status ThreadsAdapter::ValidateSettings(const std::string& settings_json) const {
    auto read = ReadSettings(settings_json, {"user_id", "username"}, "Threads", "no settings");
    if (!read) return tl::unexpected(read.error());
    return {};
}

core::Result<std::string> ThreadsAdapter::VerifyConnection(const std::string& settings_json,
                                                           const std::string& credentials_json) {
    const std::string token = AccessToken(credentials_json);
    if (token.empty()) {
        return core::FieldError("credentials", "threads_token",
                                "Threads accounts are connected through Threads' consent page (POST "
                                "/api/v1/accounts/oauth)");
    }
    auto r = http_.Send(Authorized("GET", api_ + "/me?fields=id,username", token));
    if (!r.ok()) {
        return tl::unexpected(meta::ConnectionError(r, "Threads", "checking the account", clock_.Now()));
    }
    auto settings = JsonObject(settings_json);
    settings["user_id"] = r.Json().value("id", JsonString(credentials_json, "user_id"));
    settings["username"] = r.Json().value("username", "");
    return settings.dump();
}

app::PublishOutcome ThreadsAdapter::Publish(const app::PublishRequest& req) {
    const std::string token = AccessToken(req.credentials);
    if (token.empty()) return app::AuthExpired{"no Threads token is stored for this account"};
    const std::string user = JsonString(req.account_settings_json, "user_id");
    for (const auto& m : req.media) {
        if (!m.public_url) {
            return app::Rejected{"Threads downloads media from a public link, and this server has no public_base_url"};
        }
    }
    // A post (or a reply): its container(s), ready, then published.
    auto publish = [&](const std::string& text, const std::vector<app::PublishMedia>& media,
                       const std::string& reply_to) -> ReplyStep {
        meta::Containers::Params params;
        if (media.size() > 1) {
            std::vector<meta::Containers::Params> items;
            for (const auto& m : media) items.push_back(MediaParams(m));
            auto children = containers_.Carousel(user, token, items);
            if (auto* o = std::get_if<app::PublishOutcome>(&children)) return *o;
            params = {{"media_type", "CAROUSEL"}, {"children", std::get<std::string>(children)}};
        } else if (media.size() == 1) {
            params = MediaParams(media[0]);
        } else {
            params = {{"media_type", "TEXT"}};
        }
        params.emplace_back("text", text);
        if (!reply_to.empty()) params.emplace_back("reply_to_id", reply_to);
        return containers_.Post(user, token, params);
    };
    auto head = publish(req.text, req.media, "");
    if (auto* o = std::get_if<app::PublishOutcome>(&head)) return *o;
    const std::string id = std::get<std::string>(head);
    std::string url = containers_.Permalink(id, token);
    if (url.empty()) url = "https://www.threads.net/@" + JsonString(req.account_settings_json, "username");
    auto replies = PostReplies(
        req, id, url, [&](const std::string& text, const std::string& parent) { return publish(text, {}, parent); });
    if (replies) return *replies;
    return app::Published{id, url, std::nullopt};
}

}  // namespace herald::platforms
