#include "platforms/x.hpp"

#include <algorithm>
#include <fstream>
#include <thread>

namespace herald::platforms {
namespace {

using nlohmann::json;

constexpr uint64_t kChunkBytes = 4u << 20;  // each append; X takes up to 5 MB
constexpr uint64_t kSimpleUploadBytes = 5u << 20;

// X's errors are RFC 7807 problems ({"title", "detail", "type"}); older ones {"errors": [...]}.
std::string Said(const HttpResponse& r) {
    if (r.status == 0) return r.error;
    auto j = r.Json();
    if (j.contains("detail") && j["detail"].is_string()) return j["detail"];
    if (j.contains("title") && j["title"].is_string()) return j["title"];
    if (j.contains("errors") && j["errors"].is_array() && !j["errors"].empty() && j["errors"][0].is_object()) {
        return j["errors"][0].value("message", "");
    }
    return "";
}

// What X's refusal of a post means, in words.
app::PublishOutcome Refusal(const HttpResponse& r, const std::string& doing, core::TimePoint now) {
    const std::string said = Said(r);
    if (r.status == 403) {
        if (said.find("duplicate") != std::string::npos) {
            return app::Rejected{"X refused it as a duplicate of a recent post on this account (" + said + ")"};
        }
        auto j = r.Json();
        const std::string type = j.value("type", "");
        if (type.find("usage-capped") != std::string::npos) {
            return app::Rejected{"the X app behind this server has used its monthly post allowance (" + said + ")"};
        }
        return app::Rejected{"X did not allow " + doing + ": " + said};
    }
    if (r.status == 400) return app::Rejected{"X refused " + doing + ": " + said};
    return OutcomeOf(r, "X", doing + ": " + said, now);
}

std::string DataId(const HttpResponse& r) {
    auto j = r.Json();
    if (!j.contains("data") || !j["data"].is_object()) return "";
    const auto& id = j["data"]["id"];
    return id.is_string() ? id.get<std::string>() : id.is_number() ? std::to_string(id.get<int64_t>()) : "";
}

}  // namespace

XAdapter::XAdapter(const core::Clock& clock, HttpOptions http, std::string api_base, std::optional<OAuthClient> client)
    :  // X answers a revoked or spent refresh token with invalid_request ("Value passed for the
       // token was invalid"), not invalid_grant.
      OAuthAdapter(OAuth2(OAuthSpec{"X",
                                    "https://x.com/i/oauth2/authorize",
                                    api_base + "/2/oauth2/token",
                                    "tweet.read tweet.write users.read media.write offline.access",
                                    true,
                                    "client_id",
                                    {},
                                    {},
                                    {"invalid_grant", "invalid_request"}},
                          std::move(client), clock, http)),
      clock_(clock),
      http_(http),
      api_(std::move(api_base)) {}

domain::PlatformLimits XAdapter::Limits() const {
    domain::PlatformLimits l;
    l.max_text_chars = 280;
    l.counting = domain::TextCounting::kWeighted;
    l.max_media = 4;
    l.max_thread_items = 25;
    l.first_comment = true;
    auto& m = l.media;
    m.max_images = 4;
    m.max_videos = 1;
    m.mix_images_and_videos = false;
    m.max_image_bytes = 5u << 20;
    m.max_video_bytes = 512u << 20;
    m.max_video_ms = 140'000;
    return l;
}

core::Status XAdapter::ValidateSettings(const std::string& settings_json) const {
    auto read = ReadSettings(settings_json, {"user_id", "username"}, "X", "no settings");
    if (!read) return tl::unexpected(read.error());
    return {};
}

core::Result<std::string> XAdapter::VerifyConnection(const std::string& settings_json,
                                                     const std::string& credentials_json) {
    const std::string token = AccessToken(credentials_json);
    if (token.empty()) {
        return core::FieldError("credentials", "x_token",
                                "X accounts are connected through X's consent page (POST /api/v1/accounts/oauth)");
    }
    auto r = http_.Send(Authorized("GET", api_ + "/2/users/me", token));
    if (r.status == 401 || r.status == 403) {
        return core::FieldError("credentials", "rejected", "X did not accept the access token: " + Said(r));
    }
    if (!r.ok()) {
        return core::Fail(
            core::ErrorCode::kUnavailable,
            "could not reach X: " + (r.status ? "HTTP " + std::to_string(r.status) + " " + Said(r) : r.error));
    }
    auto data = r.Json().value("data", json::object());
    auto settings = JsonObject(settings_json);
    settings["user_id"] = data.value("id", "");
    settings["username"] = data.value("username", "");
    return settings.dump();
}

std::variant<std::string, app::PublishOutcome> XAdapter::Upload(const app::PublishMedia& m, const std::string& token,
                                                                core::TimePoint now) {
    // Uploading changes nothing anyone sees: a failure here is retried, never unknown.
    auto failed = [&](const HttpResponse& r, const std::string& step) -> app::PublishOutcome {
        auto outcome = Refusal(r, step + " media " + m.id, now);
        if (auto* unknown = std::get_if<app::Unknown>(&outcome)) return app::Retryable{unknown->reason};
        return outcome;
    };
    std::string id;
    const bool simple =
        m.kind == domain::MediaKind::kImage && m.format != domain::MediaFormat::kGif && m.bytes <= kSimpleUploadBytes;
    if (simple) {
        HttpRequest up = Authorized("POST", api_ + "/2/media/upload", token);
        up.form = {FormPart{"media", "", m.path, m.id + "." + std::string(domain::Extension(m.format)),
                            std::string(domain::MimeType(m.format))},
                   FormPart{"media_category", "tweet_image", {}, "", ""}};
        up.timeout = std::chrono::seconds(300);
        auto r = http_.Send(up);
        if (!r.ok()) return failed(r, "uploading");
        id = DataId(r);
    } else {
        const std::string category = m.kind == domain::MediaKind::kVideo ? "tweet_video" : "tweet_gif";
        auto init = http_.Send(BearerJson(api_ + "/2/media/upload/initialize", token,
                                          {{"media_type", std::string(domain::MimeType(m.format))},
                                           {"total_bytes", m.bytes},
                                           {"media_category", category}}));
        if (!init.ok()) return failed(init, "starting the upload of");
        id = DataId(init);
        if (id.empty()) return app::Retryable{"X answered the start of the upload of media " + m.id + " without an id"};
        std::ifstream in(m.path, std::ios::binary);
        std::string chunk(kChunkBytes, '\0');
        for (int segment = 0; in; ++segment) {
            in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
            const auto got = static_cast<size_t>(in.gcount());
            if (got == 0) break;
            HttpRequest append = Authorized("POST", api_ + "/2/media/upload/" + id + "/append", token);
            append.form = {FormPart{"segment_index", std::to_string(segment), {}, "", ""},
                           FormPart{"media", chunk.substr(0, got), {}, "", "application/octet-stream"}};
            append.timeout = std::chrono::seconds(300);
            auto r = http_.Send(append);
            if (!r.ok()) return failed(r, "uploading");
        }
        auto fin = http_.Send(Authorized("POST", api_ + "/2/media/upload/" + id + "/finalize", token));
        if (!fin.ok()) return failed(fin, "finishing the upload of");
        // Wait while X processes it (pending, in_progress) as it says how long.
        auto info = fin.Json().value("data", json::object()).value("processing_info", json::object());
        const auto deadline = std::chrono::steady_clock::now() + poll_total_;
        while (info.value("state", "succeeded") != "succeeded") {
            const std::string state = info.value("state", "");
            if (state == "failed") {
                const std::string why = info.value("error", json::object()).value("message", "");
                return app::Rejected{"X could not process media " + m.id + (why.empty() ? "" : ": " + why)};
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                return app::Retryable{"X is still processing media " + m.id + "; Herald will try again"};
            }
            const auto wait = std::min<std::chrono::milliseconds>(
                std::chrono::seconds(std::max<int64_t>(1, info.value("check_after_secs", int64_t{1}))),
                poll_max_interval_);
            std::this_thread::sleep_for(wait);
            auto status =
                http_.Send(Authorized("GET", api_ + "/2/media/upload?command=STATUS&media_id=" + UrlEncode(id), token));
            if (!status.ok()) return failed(status, "checking the processing of");
            info = status.Json().value("data", json::object()).value("processing_info", json::object());
        }
    }
    if (id.empty()) return app::Retryable{"X answered the upload of media " + m.id + " without an id"};
    if (!m.alt_text.empty()) {
        auto r = http_.Send(BearerJson(api_ + "/2/media/metadata", token,
                                       {{"id", id}, {"metadata", {{"alt_text", {{"text", m.alt_text}}}}}}));
        if (!r.ok()) return failed(r, "adding the alt text of");
    }
    return id;
}

app::PublishOutcome XAdapter::Publish(const app::PublishRequest& req) {
    const std::string token = AccessToken(req.credentials);
    if (token.empty()) return app::AuthExpired{"no X access token is stored for this account"};
    const std::string username = JsonString(req.account_settings_json, "username");
    const auto now = clock_.Now();

    std::vector<std::string> media_ids;
    for (const auto& m : req.media) {
        auto up = Upload(m, token, now);
        if (auto* outcome = std::get_if<app::PublishOutcome>(&up)) return *outcome;
        media_ids.push_back(std::get<std::string>(up));
    }

    auto post = [&](const std::string& text, const std::vector<std::string>& media,
                    const std::string& reply_to) -> std::variant<std::string, app::PublishOutcome> {
        json body = {{"text", text}};
        if (!media.empty()) body["media"] = {{"media_ids", media}};
        if (!reply_to.empty()) body["reply"] = {{"in_reply_to_tweet_id", reply_to}};
        auto r = http_.Send(BearerJson(api_ + "/2/tweets", token, body));
        if (r.ok()) {
            const std::string id = DataId(r);
            if (!id.empty()) return id;
            return app::Unknown{"X accepted the post but answered without its id"};
        }
        return Refusal(r, reply_to.empty() ? "the post" : "a reply", now);
    };
    auto url_of = [&](const std::string& id) {
        return "https://x.com/" + (username.empty() ? std::string("i/web") : username) + "/status/" + id;
    };
    auto head = post(req.text, media_ids, "");
    if (auto* outcome = std::get_if<app::PublishOutcome>(&head)) return *outcome;
    const std::string head_id = std::get<std::string>(head);
    // Replies: the post is out already, and X has no idempotency key: whatever goes wrong
    // now is told, never retried (a retry would post the whole thread again).
    auto replies = PostReplies(req, head_id, url_of(head_id), [&](const std::string& text, const std::string& parent) {
        return post(text, {}, parent);
    });
    if (replies) return *replies;
    return app::Published{head_id, url_of(head_id), std::nullopt};
}

}  // namespace herald::platforms
