#include "platforms/mastodon.hpp"

#include <thread>

namespace herald::platforms {
namespace {

using nlohmann::json;

std::string InstanceOf(const std::string& settings_json) {
    std::string s = JsonString(settings_json, "instance");
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}

// Mastodon's errors are {"error": "…"}.
std::string Said(const HttpResponse& r) {
    auto j = r.Json();
    if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"];
    return r.status ? "" : r.error;
}

}  // namespace

MastodonAdapter::MastodonAdapter(const core::Clock& clock, HttpOptions http)
    : clock_(clock), http_options_(http), http_(std::move(http)) {}

domain::PlatformLimits MastodonAdapter::Limits() const {
    domain::PlatformLimits l;
    l.max_text_chars = 500;
    l.counting = domain::TextCounting::kGraphemesLinks23;
    l.max_media = 4;
    l.max_thread_items = 25;
    auto& m = l.media;
    m.max_images = 4;
    m.max_videos = 1;
    m.mix_images_and_videos = false;
    m.max_image_bytes = 16u << 20;
    m.max_video_bytes = 99u << 20;
    return l;
}

core::Status MastodonAdapter::ValidateSettings(const std::string& settings_json) const {
    auto read = ReadSettings(settings_json, {"instance", "visibility", "account_id", "acct"}, "Mastodon",
                             "instance and visibility");
    if (!read) return tl::unexpected(read.error());
    const auto& j = *read;
    if (!j.contains("instance")) {
        return core::FieldError("settings.instance", "required",
                                "Mastodon needs settings.instance, the server's address, e.g. https://mastodon.social");
    }
    if (j.contains("visibility")) {
        const std::string v = j["visibility"];
        if (v != "public" && v != "unlisted" && v != "private" && v != "direct") {
            return core::FieldError("settings.visibility", "enum",
                                    "settings.visibility must be public, unlisted, private or direct");
        }
    }
    return ValidateServiceUrl(j["instance"], "settings.instance");
}

core::Result<std::string> MastodonAdapter::VerifyConnection(const std::string& settings_json,
                                                            const std::string& credentials_json) {
    const std::string token = JsonString(credentials_json, "access_token");
    if (token.empty()) {
        return core::FieldError("credentials", "mastodon_token",
                                "Mastodon needs credentials {\"access_token\": a token from Preferences → "
                                "Development, with the write:statuses and write:media scopes}");
    }
    const std::string instance = InstanceOf(settings_json);
    auto r = http_.Send(Authorized("GET", instance + "/api/v1/accounts/verify_credentials", token));
    if (r.status == 401 || r.status == 403) {
        return core::FieldError("credentials", "rejected",
                                "the Mastodon server " + instance + " did not accept the access token: " + Said(r));
    }
    if (!r.ok()) {
        return core::Fail(core::ErrorCode::kUnavailable,
                          "could not reach the Mastodon server " + instance + ": " +
                              (r.status ? "HTTP " + std::to_string(r.status) + " " + Said(r) : r.error),
                          {{"field", "settings.instance"}});
    }
    auto settings = JsonObject(settings_json);
    settings["account_id"] = r.Json().value("id", "");
    settings["acct"] = r.Json().value("acct", "");
    return settings.dump();
}

namespace {
constexpr const char* kScopes = "read write:statuses write:media";

OAuthSpec MastodonSpec(const std::string& instance) {
    return OAuthSpec{"Mastodon", instance + "/oauth/authorize", instance + "/oauth/token", kScopes, false, "client_id",
                     {}};
}
}  // namespace

core::Result<app::PlatformAdapter::OAuthStart> MastodonAdapter::BeginOAuth(const std::string& state,
                                                                           const std::string& code_challenge,
                                                                           const std::string& redirect_uri,
                                                                           const std::string& settings_json) {
    const std::string instance = InstanceOf(settings_json);
    // Herald as an app of this instance (POST /api/v1/apps), registered once per instance; the
    // client is also kept with the consent, so a restart in between does not lose it.
    OAuthClient client;
    {
        std::lock_guard lock(apps_mu_);
        if (auto it = apps_.find({instance, redirect_uri}); it != apps_.end()) client = it->second;
    }
    if (client.id.empty()) {
        HttpRequest reg;
        reg.method = "POST";
        reg.url = instance + "/api/v1/apps";
        reg.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
        reg.body = FormEncode({{"client_name", "Herald"}, {"redirect_uris", redirect_uri}, {"scopes", kScopes}});
        auto r = http_.Send(reg);
        if (!r.ok()) {
            return core::Fail(core::ErrorCode::kUnavailable,
                              "the Mastodon server " + instance + " did not register Herald as an app: " +
                                  (r.status ? "HTTP " + std::to_string(r.status) + " " + Said(r) : r.error),
                              {{"field", "settings.instance"}});
        }
        const json app = r.Json();
        client = OAuthClient{app.value("client_id", ""), app.value("client_secret", "")};
        if (client.id.empty()) {
            return core::Fail(core::ErrorCode::kUnavailable,
                              "the Mastodon server " + instance + " registered Herald without a client id");
        }
        std::lock_guard lock(apps_mu_);
        apps_[{instance, redirect_uri}] = client;
    }
    auto url =
        OAuth2(MastodonSpec(instance), client, clock_, http_options_).AuthorizeUrl(state, code_challenge, redirect_uri);
    if (!url) return tl::unexpected(url.error());
    return OAuthStart{
        *url, json({{"instance", instance}, {"client_id", client.id}, {"client_secret", client.secret}}).dump()};
}

core::Result<app::OAuthGrant> MastodonAdapter::FinishOAuth(const std::string& code, const std::string& code_verifier,
                                                           const std::string& redirect_uri,
                                                           const std::string& context) {
    const json kept = JsonObject(context);
    const OAuthClient client{kept.value("client_id", ""), kept.value("client_secret", "")};
    auto grant = OAuth2(MastodonSpec(kept.value("instance", "")), client, clock_, http_options_)
                     .Exchange(code, code_verifier, redirect_uri);
    if (!grant) return grant;
    // Kept with the token: the app it belongs to (to revoke it, or to see it in the instance's
    // list of authorized apps).
    json creds = json::parse(grant->credentials_json);
    creds["client_id"] = client.id;
    grant->credentials_json = creds.dump();
    return grant;
}

core::Result<app::OAuthGrant> MastodonAdapter::RefreshGrant(const std::string&) {
    return core::Fail(core::ErrorCode::kPermissionDenied,
                      "Mastodon tokens cannot be renewed: the instance no longer accepts this one; reconnect the "
                      "account");
}

app::PublishOutcome MastodonAdapter::Publish(const app::PublishRequest& req) {
    const std::string token = JsonString(req.credentials, "access_token");
    if (token.empty()) return app::AuthExpired{"no Mastodon access token is stored for this account"};
    const std::string instance = InstanceOf(req.account_settings_json);
    const std::string visibility = JsonString(req.account_settings_json, "visibility");
    const auto now = clock_.Now();

    // Media first; uploading changes nothing anyone sees, so a failure is retried.
    std::vector<std::string> media_ids;
    for (const auto& m : req.media) {
        HttpRequest up = Authorized("POST", instance + "/api/v2/media", token);
        up.form = {FormPart{"file", "", m.path, m.id + "." + std::string(domain::Extension(m.format)),
                            std::string(domain::MimeType(m.format))}};
        if (!m.alt_text.empty()) up.form.push_back(FormPart{"description", m.alt_text, {}, "", ""});
        up.timeout = std::chrono::seconds(600);
        auto r = http_.Send(up);
        if (r.status != 200 && r.status != 202) {
            auto outcome = OutcomeOf(r, "Mastodon", "uploading media " + m.id + ": " + Said(r), now);
            if (auto* unknown = std::get_if<app::Unknown>(&outcome)) return app::Retryable{unknown->reason};
            return outcome;
        }
        const std::string id = r.Json().value("id", "");
        // 202: still processing (a video). Wait until the instance serves it (200), as a status
        // naming unprocessed media is refused.
        const auto deadline = std::chrono::steady_clock::now() + poll_total_;
        bool processing = r.status == 202;
        while (processing && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(poll_interval_);
            auto poll = http_.Send(Authorized("GET", instance + "/api/v1/media/" + id, token));
            if (poll.status == 200) processing = false;
            if (poll.status != 200 && poll.status != 206) {
                return app::Retryable{"Mastodon failed while processing media " + m.id + " (HTTP " +
                                      std::to_string(poll.status) + ")"};
            }
        }
        if (processing) return app::Retryable{"Mastodon is still processing media " + m.id + "; Herald will try again"};
        media_ids.push_back(id);
    }

    auto post = [&](const std::string& text, const std::vector<std::string>& media, const std::string& reply_to,
                    int index) -> std::variant<json, app::PublishOutcome> {
        json body = {{"status", text}};
        if (!media.empty()) body["media_ids"] = media;
        if (!reply_to.empty()) body["in_reply_to_id"] = reply_to;
        if (!visibility.empty()) body["visibility"] = visibility;
        HttpRequest http = Authorized("POST", instance + "/api/v1/statuses", token);
        http.headers.emplace_back("Content-Type", "application/json");
        http.headers.emplace_back("Idempotency-Key", req.idempotency_key + "-" + std::to_string(index));
        http.body = body.dump();
        auto r = http_.Send(http);
        if (r.ok()) return r.Json();
        if (r.status == 422) return app::Rejected{"Mastodon refused the post: " + Said(r)};
        return OutcomeOf(r, "Mastodon", Said(r), now);
    };
    auto head = post(req.text, media_ids, "", 0);
    if (auto* outcome = std::get_if<app::PublishOutcome>(&head)) return *outcome;
    const json status = std::get<json>(head);
    std::string parent = status.value("id", "");
    for (size_t i = 0; i < req.thread.size(); ++i) {
        auto item = post(req.thread[i], {}, parent, static_cast<int>(i) + 1);
        if (auto* outcome = std::get_if<app::PublishOutcome>(&item)) {
            if (auto* rejected = std::get_if<app::Rejected>(outcome)) {
                return app::Rejected{"the post is published at " + status.value("url", std::string()) + ", but reply " +
                                     std::to_string(i + 1) + " of its thread was refused: " + rejected->reason};
            }
            return *outcome;
        }
        parent = std::get<json>(item).value("id", "");
    }
    return app::Published{status.value("id", ""), status.value("url", ""), std::nullopt};
}

}  // namespace herald::platforms
