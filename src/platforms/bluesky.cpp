#include "platforms/bluesky.hpp"

#include <spdlog/spdlog.h>

#include <cstring>

#include "core/ids.hpp"
#include "domain/time.hpp"

namespace herald::platforms {
namespace {

using core::ErrorCode;
using nlohmann::json;

constexpr const char* kDefaultService = "https://bsky.social";
constexpr const char* kCollection = "app.bsky.feed.post";

struct Credentials {
    std::string identifier;
    std::string app_password;
};

std::optional<Credentials> ParseCredentials(const std::string& text) {
    auto j = json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("identifier") || !j["identifier"].is_string() || !j.contains("app_password") ||
        !j["app_password"].is_string()) {
        return std::nullopt;
    }
    Credentials c{j["identifier"], j["app_password"]};
    if (c.identifier.empty() || c.app_password.empty()) return std::nullopt;
    return c;
}

std::string ServiceOf(const std::string& settings_json) {
    auto j = json::parse(settings_json.empty() ? "{}" : settings_json, nullptr, false);
    if (j.is_object() && j.contains("service") && j["service"].is_string()) {
        std::string s = j["service"];
        while (!s.empty() && s.back() == '/') s.pop_back();
        return s;
    }
    return kDefaultService;
}

// The platform's own words from an XRPC error body: {"error": "...", "message": "..."}.
std::string Said(const HttpResponse& r) {
    auto j = r.Json();
    if (j.is_object() && j.contains("message") && j["message"].is_string()) return j["message"];
    if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"];
    return r.error;
}

std::string ErrorName(const HttpResponse& r) {
    auto j = r.Json();
    return j.is_object() && j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>() : "";
}

HttpRequest JsonPost(const std::string& url, const json& body) {
    HttpRequest r;
    r.method = "POST";
    r.url = url;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = body.dump();
    return r;
}

uint64_t Fnv1a(std::string_view s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

// End of a link, mention or tag that runs to the next space, without trailing punctuation.
size_t TokenEnd(const std::string& t, size_t from) {
    size_t end = from;
    while (end < t.size() && !IsSpace(t[end])) ++end;
    while (end > from && std::strchr(".,;:!?)]}'\"", t[end - 1]) != nullptr) --end;
    return end;
}

using Ref = std::pair<std::string, std::string>;  // uri, cid

}  // namespace

BlueskyAdapter::BlueskyAdapter(const core::Clock& clock, HttpOptions http) : clock_(clock), http_(std::move(http)) {}

domain::PlatformLimits BlueskyAdapter::Limits() const {
    domain::PlatformLimits l;
    l.max_text_chars = 300;
    l.counting = domain::TextCounting::kGraphemes;
    l.max_text_bytes = 3000;
    l.max_media = 4;
    l.max_thread_items = 25;
    l.first_comment = false;
    auto& m = l.media;
    m.max_images = 4;
    m.max_videos = 1;
    m.mix_images_and_videos = false;
    m.max_image_bytes = 1'000'000;
    m.max_video_bytes = 50'000'000;
    m.max_video_ms = 180'000;
    m.formats = {domain::MediaFormat::kJpeg, domain::MediaFormat::kPng, domain::MediaFormat::kGif,
                 domain::MediaFormat::kWebp, domain::MediaFormat::kMp4};
    return l;
}

core::Status BlueskyAdapter::ValidateSettings(const std::string& settings_json) const {
    auto read = ReadSettings(settings_json, {"service", "did", "handle"}, "Bluesky",
                             "service (the PDS, default https://bsky.social)");
    if (!read) return tl::unexpected(read.error());
    const auto& j = *read;
    if (j.contains("service")) return ValidateServiceUrl(j["service"], "settings.service");
    return {};
}

core::Result<std::string> BlueskyAdapter::VerifyConnection(const std::string& settings_json,
                                                           const std::string& credentials_json) {
    auto creds = ParseCredentials(credentials_json);
    if (!creds) {
        return core::FieldError("credentials", "bluesky_app_password",
                                "Bluesky needs credentials {\"identifier\": handle or email, \"app_password\": an app "
                                "password made under Settings → Privacy and security → App passwords}");
    }
    const std::string service = ServiceOf(settings_json);
    auto r = http_.Send(JsonPost(service + "/xrpc/com.atproto.server.createSession",
                                 {{"identifier", creds->identifier}, {"password", creds->app_password}}));
    if (r.status == 401 || r.status == 400) {
        return core::FieldError(
            "credentials", "rejected",
            "Bluesky (" + service + ") did not accept the app password for " + creds->identifier + ": " + Said(r));
    }
    if (!r.ok()) {
        return core::Fail(ErrorCode::kUnavailable,
                          "could not sign in to Bluesky at " + service + ": " +
                              (r.status ? "HTTP " + std::to_string(r.status) + " " + Said(r) : r.error),
                          {{"field", "settings.service"}});
    }
    auto body = r.Json();
    auto settings = json::parse(settings_json.empty() ? "{}" : settings_json, nullptr, false);
    settings["did"] = body.value("did", "");
    settings["handle"] = body.value("handle", creds->identifier);
    return settings.dump();
}

std::string BlueskyAdapter::RecordKey(const std::string& delivery_id, int index) {
    // Ids start with 12 hex digits of milliseconds: the TID keeps that time, so records sort
    // as they would with keys the PDS makes itself.
    uint64_t ms = 0;
    if (core::IsId(delivery_id)) ms = std::stoull(delivery_id.substr(0, 12), nullptr, 16);
    const uint64_t h = Fnv1a(delivery_id + "#" + std::to_string(index));
    const uint64_t micros = ms * 1000 + (h % 1000);
    uint64_t v = ((micros & ((1ull << 53) - 1)) << 10) | ((h >> 20) & 0x3ff);
    static constexpr char kAlphabet[] = "234567abcdefghijklmnopqrstuvwxyz";
    std::string out(13, '2');
    for (int i = 12; i >= 0; --i) {
        out[static_cast<size_t>(i)] = kAlphabet[v & 31];
        v >>= 5;
    }
    return out;
}

std::variant<BlueskyAdapter::Session, app::PublishOutcome> BlueskyAdapter::SessionFor(const app::PublishRequest& req,
                                                                                      bool fresh) {
    if (!fresh) {
        std::lock_guard lock(mu_);
        if (auto it = sessions_.find(req.account_id); it != sessions_.end()) return it->second;
    }
    auto creds = ParseCredentials(req.credentials);
    if (!creds) return app::AuthExpired{"no Bluesky app password is stored for this account"};
    Session s;
    s.service = ServiceOf(req.account_settings_json);
    auto r = http_.Send(JsonPost(s.service + "/xrpc/com.atproto.server.createSession",
                                 {{"identifier", creds->identifier}, {"password", creds->app_password}}));
    if (r.status == 401 || (r.status == 400 && ErrorName(r) == "AuthenticationRequired")) {
        return app::AuthExpired{"Bluesky no longer accepts the app password for " + creds->identifier + ": " + Said(r)};
    }
    if (!r.ok()) {
        auto outcome = OutcomeOf(r, "Bluesky", Said(r), clock_.Now());
        // Signing in changes nothing on the account: never an unknown outcome.
        if (std::holds_alternative<app::Unknown>(outcome))
            return app::Retryable{std::get<app::Unknown>(outcome).reason};
        return outcome;
    }
    auto j = r.Json();
    s.did = j.value("did", "");
    s.handle = j.value("handle", creds->identifier);
    s.access = j.value("accessJwt", "");
    s.refresh = j.value("refreshJwt", "");
    spdlog::info("event=bluesky_session_created account_id={} did={}", req.account_id, s.did);
    std::lock_guard lock(mu_);
    sessions_[req.account_id] = s;
    return s;
}

std::optional<app::PublishOutcome> BlueskyAdapter::Refresh(const app::PublishRequest& req, Session& session) {
    HttpRequest http;
    http.method = "POST";
    http.url = session.service + "/xrpc/com.atproto.server.refreshSession";
    http.headers = {{"Authorization", "Bearer " + session.refresh}};
    auto r = http_.Send(http);
    if (r.ok()) {
        auto j = r.Json();
        session.access = j.value("accessJwt", "");
        session.refresh = j.value("refreshJwt", session.refresh);
        std::lock_guard lock(mu_);
        sessions_[req.account_id] = session;
        return std::nullopt;
    }
    // The refresh token expired too (or was revoked): sign in again with the app password.
    auto fresh = SessionFor(req, true);
    if (auto* outcome = std::get_if<app::PublishOutcome>(&fresh)) return *outcome;
    session = std::get<Session>(fresh);
    return std::nullopt;
}

HttpResponse BlueskyAdapter::Xrpc(const app::PublishRequest& req, Session& session, HttpRequest http) {
    http.headers.emplace_back("Authorization", "Bearer " + session.access);
    auto r = http_.Send(http);
    const bool expired = r.status == 401 || (r.status == 400 && ErrorName(r) == "ExpiredToken");
    if (!expired) return r;
    if (auto failed = Refresh(req, session)) {
        // What renewing said decides: a refused app password stays a 401 (AuthExpired); any
        // other failure (a 429 on createSession, no network) reads as "never sent", retried.
        HttpResponse out;
        out.status = std::holds_alternative<app::AuthExpired>(*failed) ? 401 : 0;
        out.sent = false;
        out.error = "the session expired and could not be renewed: " + ReasonOf(*failed);
        return out;
    }
    http.headers.back() = {"Authorization", "Bearer " + session.access};
    return http_.Send(http);
}

nlohmann::json BlueskyAdapter::Facets(Session& session, const app::PublishRequest& req, const std::string& t) {
    json facets = json::array();
    auto add = [&](size_t start, size_t end, json feature) {
        facets.push_back({{"index", {{"byteStart", start}, {"byteEnd", end}}}, {"features", json::array({feature})}});
    };
    for (size_t i = 0; i < t.size(); ++i) {
        const bool word_start = i == 0 || IsSpace(t[i - 1]) || t[i - 1] == '(';
        if (!word_start) continue;
        if (t.compare(i, 8, "https://") == 0 || t.compare(i, 7, "http://") == 0) {
            const size_t end = TokenEnd(t, i);
            add(i, end, {{"$type", "app.bsky.richtext.facet#link"}, {"uri", t.substr(i, end - i)}});
            i = end;
        } else if (t[i] == '@') {
            const size_t end = TokenEnd(t, i + 1);
            const std::string handle = t.substr(i + 1, end - i - 1);
            if (handle.find('.') == std::string::npos ||
                handle.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
                    std::string::npos) {
                continue;
            }
            HttpRequest http;
            http.url = session.service + "/xrpc/com.atproto.identity.resolveHandle?handle=" + UrlEncode(handle);
            auto r = Xrpc(req, session, http);
            const auto did = r.ok() ? r.Json().value("did", "") : "";
            if (!did.empty()) add(i, end, {{"$type", "app.bsky.richtext.facet#mention"}, {"did", did}});
            i = end;
        } else if (t[i] == '#' && i + 1 < t.size()) {
            const size_t end = TokenEnd(t, i + 1);
            const std::string tag = t.substr(i + 1, end - i - 1);
            const bool digits = tag.find_first_not_of("0123456789") == std::string::npos;
            if (!tag.empty() && !digits && tag.size() <= 64 && tag.find('#') == std::string::npos) {
                add(i, end, {{"$type", "app.bsky.richtext.facet#tag"}, {"tag", tag}});
            }
            i = end;
        }
    }
    return facets;
}

std::string BlueskyAdapter::PostUrl(const Session& s, const std::string& rkey) const {
    return "https://bsky.app/profile/" + (s.handle.empty() ? s.did : s.handle) + "/post/" + rkey;
}

app::PublishOutcome BlueskyAdapter::Publish(const app::PublishRequest& req) {
    auto got = SessionFor(req, false);
    if (auto* outcome = std::get_if<app::PublishOutcome>(&got)) return *outcome;
    Session session = std::get<Session>(got);
    const auto now = clock_.Now();

    // Media first: uploading a blob changes nothing visible, so any failure here is retryable.
    json embed;
    json images = json::array();
    for (const auto& m : req.media) {
        HttpRequest up;
        up.method = "POST";
        up.url = session.service + "/xrpc/com.atproto.repo.uploadBlob";
        up.headers = {{"Content-Type", std::string(domain::MimeType(m.format))}};
        up.body_file = m.path;
        up.timeout = std::chrono::seconds(600);
        auto r = Xrpc(req, session, up);
        if (!r.ok()) {
            auto outcome = OutcomeOf(r, "Bluesky", "uploading media " + m.id + ": " + Said(r), now);
            if (auto* unknown = std::get_if<app::Unknown>(&outcome)) return app::Retryable{unknown->reason};
            return outcome;
        }
        json blob = r.Json().value("blob", json());
        json ratio;
        if (m.width > 0 && m.height > 0) ratio = {{"width", m.width}, {"height", m.height}};
        if (m.kind == domain::MediaKind::kVideo) {
            embed = {{"$type", "app.bsky.embed.video"}, {"video", blob}, {"alt", m.alt_text}};
            if (!ratio.is_null()) embed["aspectRatio"] = ratio;
        } else {
            json image = {{"image", blob}, {"alt", m.alt_text}};
            if (!ratio.is_null()) image["aspectRatio"] = ratio;
            images.push_back(std::move(image));
        }
    }
    if (!images.empty()) embed = {{"$type", "app.bsky.embed.images"}, {"images", images}};

    // Each record under its own key; on a later attempt, one that is already there is reused.
    auto find = [&](const std::string& rkey) -> std::optional<Ref> {
        HttpRequest get;
        get.url = session.service + "/xrpc/com.atproto.repo.getRecord?repo=" + UrlEncode(session.did) +
                  "&collection=" + kCollection + "&rkey=" + rkey;
        auto r = Xrpc(req, session, get);
        if (!r.ok()) return std::nullopt;
        auto j = r.Json();
        return Ref{j.value("uri", ""), j.value("cid", "")};
    };
    auto create = [&](const std::string& text, const std::string& rkey,
                      json extra) -> std::variant<Ref, app::PublishOutcome> {
        if (req.attempt > 1) {
            if (auto ref = find(rkey)) return *ref;
        }
        json record = {{"$type", kCollection}, {"text", text}, {"createdAt", domain::FormatRfc3339(now)}};
        if (auto facets = Facets(session, req, text); !facets.empty()) record["facets"] = facets;
        for (auto& [k, v] : extra.items()) record[k] = v;
        HttpRequest http =
            JsonPost(session.service + "/xrpc/com.atproto.repo.createRecord",
                     {{"repo", session.did}, {"collection", kCollection}, {"rkey", rkey}, {"record", record}});
        auto r = Xrpc(req, session, http);
        if (r.ok()) {
            auto j = r.Json();
            return Ref{j.value("uri", ""), j.value("cid", "")};
        }
        // A record already under this key (a resend after a lost answer) makes the PDS fail:
        // if the record is there, it is ours.
        if (r.status >= 500 || (r.status == 0 && r.sent)) {
            if (auto ref = find(rkey)) return *ref;
        }
        return OutcomeOf(r, "Bluesky", Said(r), now);
    };

    json head_extra = json::object();
    if (!embed.is_null()) head_extra["embed"] = embed;
    const std::string head_key = RecordKey(req.delivery_id, 0);
    auto head = create(req.text, head_key, head_extra);
    if (auto* outcome = std::get_if<app::PublishOutcome>(&head)) return *outcome;
    const Ref root = std::get<Ref>(head);
    Ref parent = root;
    for (size_t i = 0; i < req.thread.size(); ++i) {
        json reply = {{"reply",
                       {{"root", {{"uri", root.first}, {"cid", root.second}}},
                        {"parent", {{"uri", parent.first}, {"cid", parent.second}}}}}};
        auto item = create(req.thread[i], RecordKey(req.delivery_id, static_cast<int>(i) + 1), reply);
        if (auto* outcome = std::get_if<app::PublishOutcome>(&item)) {
            // The post is out; the thread is not complete. A retry continues where it stopped.
            if (auto* rejected = std::get_if<app::Rejected>(outcome)) {
                return app::Rejected{"the post is published at " + PostUrl(session, head_key) + ", but reply " +
                                     std::to_string(i + 1) + " of its thread was refused: " + rejected->reason};
            }
            return *outcome;
        }
        parent = std::get<Ref>(item);
    }
    return app::Published{root.first, PostUrl(session, head_key), std::nullopt};
}

core::Result<std::optional<app::Published>> BlueskyAdapter::Lookup(const app::PublishRequest& req) {
    auto got = SessionFor(req, false);
    if (std::holds_alternative<app::PublishOutcome>(got)) {
        return core::Fail(ErrorCode::kUnavailable, "cannot sign in to Bluesky to check for the post");
    }
    Session session = std::get<Session>(got);
    // The post counts as there only with its whole thread: items go out in order, so the last
    // one being there says all are. Otherwise a resend (safe: every item has its own key)
    // finds what exists and sends the rest.
    auto get = [&](int index) {
        HttpRequest http;
        http.url = session.service + "/xrpc/com.atproto.repo.getRecord?repo=" + UrlEncode(session.did) +
                   "&collection=" + kCollection + "&rkey=" + RecordKey(req.delivery_id, index);
        return Xrpc(req, session, http);
    };
    auto last = get(static_cast<int>(req.thread.size()));
    if (last.status == 400 && ErrorName(last) == "RecordNotFound") return std::optional<app::Published>();
    auto head = req.thread.empty() ? last : get(0);
    if (last.ok() && head.ok()) {
        return app::Published{head.Json().value("uri", ""), PostUrl(session, RecordKey(req.delivery_id, 0)),
                              std::nullopt};
    }
    const auto& failed = last.ok() ? head : last;
    return core::Fail(ErrorCode::kUnavailable,
                      "could not check Bluesky for the post: " +
                          (failed.status ? "HTTP " + std::to_string(failed.status) : failed.error));
}

}  // namespace herald::platforms
