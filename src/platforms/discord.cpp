#include "platforms/discord.hpp"

namespace herald::platforms {
namespace {

using nlohmann::json;

// Discord's errors: {"message": "…", "code": 10015} (+ "errors" for invalid fields).
std::string Said(const HttpResponse& r) {
    auto j = r.Json();
    if (j.is_object() && j.contains("message") && j["message"].is_string()) {
        std::string out = j["message"];
        if (j.contains("errors")) out += " " + j["errors"].dump();
        return out;
    }
    return r.status ? "" : r.error;
}

}  // namespace

DiscordAdapter::DiscordAdapter(const core::Clock& clock, HttpOptions http, std::string base_url)
    : clock_(clock), http_(std::move(http)), base_url_(std::move(base_url)) {
    while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

domain::PlatformLimits DiscordAdapter::Limits() const {
    domain::PlatformLimits l;
    l.max_text_chars = 2000;
    l.max_media = 10;
    auto& m = l.media;
    m.max_images = 10;
    m.max_videos = 10;
    m.mix_images_and_videos = true;
    m.max_image_bytes = 10u << 20;
    m.max_video_bytes = 10u << 20;
    return l;
}

bool DiscordAdapter::IsWebhookUrl(const std::string& url) const {
    for (const std::string& base :
         {base_url_, std::string("https://discord.com"), std::string("https://discordapp.com")}) {
        // https://discord.com/api/webhooks/ID/TOKEN, or with an API version: /api/v10/webhooks/…
        const std::string api = base + "/api/";
        if (url.rfind(api, 0) != 0 || url.find_first_of("?# ") != std::string::npos) continue;
        const auto hooks = url.find("webhooks/", api.size());
        if (hooks != std::string::npos && url.size() > hooks + 9 && url.find('/', hooks + 9) != std::string::npos) {
            return true;
        }
    }
    return false;
}

core::Status DiscordAdapter::ValidateSettings(const std::string& settings_json) const {
    auto read =
        ReadSettings(settings_json, {"username", "guild_id", "channel_id", "webhook_name"}, "Discord", "username");
    if (!read) return tl::unexpected(read.error());
    return {};
}

core::Result<std::string> DiscordAdapter::VerifyConnection(const std::string& settings_json,
                                                           const std::string& credentials_json) {
    const std::string url = JsonString(credentials_json, "webhook_url");
    if (!IsWebhookUrl(url)) {
        return core::FieldError("credentials.webhook_url", "discord_webhook",
                                "Discord needs credentials {\"webhook_url\": \"https://discord.com/api/webhooks/…\"}, "
                                "copied from the channel's Integrations → Webhooks");
    }
    HttpRequest get;
    get.url = url;
    auto r = http_.Send(get);
    if (r.status == 401 || r.status == 404) {
        return core::FieldError("credentials.webhook_url", "rejected",
                                "Discord does not know this webhook (deleted, or the URL is incomplete): " + Said(r));
    }
    if (!r.ok()) {
        return core::Fail(core::ErrorCode::kUnavailable,
                          "could not reach Discord: " + (r.status ? "HTTP " + std::to_string(r.status) : r.error));
    }
    auto hook = r.Json();
    auto settings = JsonObject(settings_json);
    settings["guild_id"] = hook.value("guild_id", "");
    settings["channel_id"] = hook.value("channel_id", "");
    settings["webhook_name"] = hook.value("name", "");
    return settings.dump();
}

app::PublishOutcome DiscordAdapter::Publish(const app::PublishRequest& req) {
    const std::string url = JsonString(req.credentials, "webhook_url");
    if (!IsWebhookUrl(url)) return app::AuthExpired{"no usable Discord webhook URL is stored for this account"};
    const auto now = clock_.Now();
    json payload = {{"content", req.text}};
    const std::string username = JsonString(req.account_settings_json, "username");
    if (!username.empty()) payload["username"] = username;
    HttpRequest post;
    post.method = "POST";
    post.url = url + "?wait=true";
    if (req.media.empty()) {
        post.headers = {{"Content-Type", "application/json"}};
        post.body = payload.dump();
    } else {
        json attachments = json::array();
        for (size_t i = 0; i < req.media.size(); ++i) {
            const auto& m = req.media[i];
            const std::string name = m.id + "." + std::string(domain::Extension(m.format));
            json a = {{"id", i}, {"filename", name}};
            if (!m.alt_text.empty()) a["description"] = m.alt_text;
            attachments.push_back(a);
            post.form.push_back(FormPart{"files[" + std::to_string(i) + "]", "", m.path, name,
                                         std::string(domain::MimeType(m.format))});
        }
        payload["attachments"] = attachments;
        post.form.insert(post.form.begin(), FormPart{"payload_json", payload.dump(), {}, "", "application/json"});
        post.timeout = std::chrono::seconds(600);
    }
    auto r = http_.Send(post);
    if (r.ok()) {
        auto message = r.Json();
        const std::string guild = JsonString(req.account_settings_json, "guild_id");
        const std::string channel = message.value("channel_id", JsonString(req.account_settings_json, "channel_id"));
        const std::string id = message.value("id", "");
        const std::string link =
            guild.empty() ? "" : "https://discord.com/channels/" + guild + "/" + channel + "/" + id;
        return app::Published{id, link, std::nullopt};
    }
    if (r.status == 404 || r.status == 401) {
        return app::AuthExpired{"Discord no longer knows this webhook (" + Said(r) +
                                "); connect the account again with a new webhook URL"};
    }
    if (r.status == 400 || r.status == 413) return app::Rejected{"Discord refused the post: " + Said(r)};
    return OutcomeOf(r, "Discord", Said(r), now);
}

}  // namespace herald::platforms
