#include "platforms/meta.hpp"

#include <thread>

namespace herald::platforms::meta {
namespace {

using nlohmann::json;

int64_t Int(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end()) return 0;
    if (it->is_number_integer()) return it->get<int64_t>();
    if (it->is_string()) {
        try {
            return std::stoll(it->get<std::string>());
        } catch (...) {
            return 0;
        }
    }
    return 0;
}

// What Meta's subcodes for publishing mean, where a person can act on it.
std::string SubcodeInWords(int64_t subcode) {
    switch (subcode) {
        case 2207052:
            return "it could not download the media: the media URL must be publicly reachable (check "
                   "public_base_url)";
        case 2207004:
            return "the image is larger than 8 MiB";
        case 2207009:
            return "the image's aspect ratio must be between 4:5 and 1.91:1";
        case 2207010:
            return "the caption is too long, or has more than 30 hashtags or 20 mentions";
        case 2207051:
            return "it suspects the post is spam";
        case 2207050:
            return "the account is restricted";
        case 2207028:
            return "a carousel needs 2 to 10 photos or videos";
        default:
            return "";
    }
}

}  // namespace

app::PublishOutcome Outcome(const HttpResponse& r, std::string_view label, const std::string& doing, bool sent_post,
                            core::TimePoint now) {
    const std::string who(label);
    if (r.status == 0) {
        auto o = OutcomeOf(r, label, doing, now);
        if (!sent_post && std::holds_alternative<app::Unknown>(o))
            return app::Retryable{std::get<app::Unknown>(o).reason};
        return o;
    }
    json e = r.Json().value("error", json::object());
    if (!e.is_object()) e = json::object();
    const int64_t code = Int(e, "code");
    const int64_t subcode = Int(e, "error_subcode");
    std::string said = e.value("error_user_msg", "");
    if (said.empty()) said = e.value("message", "");
    if (code == 190 || code == 102) {
        return app::AuthExpired{who + " no longer accepts the account's sign-in (" + said + ")"};
    }
    if (subcode == 2207042) {
        return app::RateLimited{now + std::chrono::hours(1),
                                who + " says the account reached its daily publishing limit; Herald will try again"};
    }
    if (code == 4 || code == 17 || code == 32 || code == 613 || code == 80001 || r.status == 429) {
        return app::RateLimited{now + std::chrono::minutes(15), who + " asks Herald to slow down (" + said + ")"};
    }
    const bool transient = e.value("is_transient", false) || code == 1 || code == 2 || code == -1 || code == -2 ||
                           (e.empty() && r.status >= 500);
    if (transient) {
        const std::string why = who + " had a temporary problem " + doing + (said.empty() ? "" : ": " + said);
        if (sent_post) return app::Unknown{why};
        return app::Retryable{why};
    }
    if (code == 506) return app::Rejected{who + " refused it as a duplicate of the account's previous post"};
    if (const std::string words = SubcodeInWords(subcode); !words.empty()) {
        return app::Rejected{who + " refused the post: " + words};
    }
    if (e.empty()) return OutcomeOf(r, label, doing, now);
    return app::Rejected{who + " refused " + doing + ": " + said};
}

std::string Origin(const std::string& url) {
    const auto scheme = url.find("://");
    if (scheme == std::string::npos) return url;
    return url.substr(0, url.find('/', scheme + 3));
}

core::Error ConnectionError(const HttpResponse& r, std::string_view label, const std::string& doing,
                            core::TimePoint now) {
    auto outcome = Outcome(r, label, doing, false, now);
    if (std::holds_alternative<app::AuthExpired>(outcome)) {
        return core::Error{
            core::ErrorCode::kInvalidArgument, ReasonOf(outcome), {{"field", "credentials"}, {"rule", "rejected"}}};
    }
    return core::Error{core::ErrorCode::kUnavailable, ReasonOf(outcome), {}};
}

// ---- long-lived tokens ----------------------------------------------------------------------

LongLivedTokens::LongLivedTokens(OAuthSpec spec, TokenEndpoints endpoints, std::optional<OAuthClient> client,
                                 const core::Clock& clock, HttpOptions http)
    : oauth_(std::move(spec), client, clock, http),
      endpoints_(std::move(endpoints)),
      client_(std::move(client)),
      clock_(clock),
      http_(std::move(http)) {}

core::Result<app::OAuthGrant> LongLivedTokens::Exchange(const std::string& code, const std::string& verifier,
                                                        const std::string& redirect_uri) const {
    // Meta sends the code back with "#_" after it.
    std::string clean = code;
    if (clean.size() > 2 && clean.ends_with("#_")) clean.resize(clean.size() - 2);
    auto short_lived = oauth_.Exchange(clean, verifier, redirect_uri);
    if (!short_lived) return short_lived;
    const json first = json::parse(short_lived->credentials_json);
    json keep = json::object();
    if (first.contains("user_id")) {
        keep["user_id"] =
            first["user_id"].is_string() ? first["user_id"].get<std::string>() : std::to_string(Int(first, "user_id"));
    }
    return LongLived(endpoints_.exchange_url, endpoints_.exchange_grant, first.value("access_token", ""), keep,
                     "finish connecting");
}

core::Result<app::OAuthGrant> LongLivedTokens::Refresh(const std::string& credentials_json) const {
    const std::string token = AccessToken(credentials_json);
    if (token.empty()) {
        return core::Fail(core::ErrorCode::kPermissionDenied,
                          "no " + endpoints_.label + " token is stored: reconnect the account");
    }
    return LongLived(endpoints_.refresh_url, endpoints_.refresh_grant, token, json::object(), "renew the sign-in");
}

core::Result<app::OAuthGrant> LongLivedTokens::LongLived(const std::string& url, const std::string& grant_type,
                                                         const std::string& token, const json& keep,
                                                         std::string_view doing) const {
    std::vector<std::pair<std::string, std::string>> query = {{"grant_type", grant_type}};
    if (endpoints_.facebook_style) {
        query.emplace_back("client_id", client_ ? client_->id : "");
        query.emplace_back("client_secret", client_ ? client_->secret : "");
        query.emplace_back("fb_exchange_token", token);
    } else {
        // Threads and Instagram want the secret only to trade the first token.
        if (grant_type == endpoints_.exchange_grant)
            query.emplace_back("client_secret", client_ ? client_->secret : "");
        query.emplace_back("access_token", token);
    }
    HttpRequest r;
    r.url = url + "?" + FormEncode(query);
    r.timeout = std::chrono::seconds(30);
    auto answer = http_.Send(r);
    if (!answer.ok()) {
        json e = answer.Json().value("error", json::object());
        if (!e.is_object()) e = json::object();
        if (Int(e, "code") == 190) {
            return core::Fail(core::ErrorCode::kPermissionDenied,
                              endpoints_.label + " no longer accepts this account's sign-in (" +
                                  e.value("message", std::string("code 190")) +
                                  "): it was revoked or has expired; reconnect the account");
        }
        return core::Fail(core::ErrorCode::kUnavailable,
                          "could not " + std::string(doing) + " with " + endpoints_.label + ": " +
                              (answer.status ? "HTTP " + std::to_string(answer.status) + " " + e.value("message", "")
                                             : answer.error));
    }
    auto grant = oauth_.GrantOf(answer);
    if (!grant) return grant;
    json creds = json::parse(grant->credentials_json);
    creds.update(keep);
    grant->credentials_json = creds.dump();
    return grant;
}

// ---- containers -----------------------------------------------------------------------------

Containers::Step Containers::Create(const std::string& user_id, const std::string& token,
                                    const std::vector<std::pair<std::string, std::string>>& params) {
    HttpRequest req = Authorized("POST", api_.base + "/" + user_id + "/" + api_.create_edge, token);
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    req.body = FormEncode(params);
    auto r = http_.Send(req);
    if (!r.ok()) return Outcome(r, api_.label, "preparing the post", false, clock_.Now());
    const std::string id = r.Json().value("id", "");
    if (id.empty()) return app::Retryable{api_.label + " answered without a container id"};
    return id;
}

Containers::Step Containers::WaitReady(const std::string& container_id, const std::string& token) {
    const auto deadline = std::chrono::steady_clock::now() + poll_total_;
    // Images are usually ready at once, videos take minutes: look again soon, then less often.
    auto wait = std::min(poll_interval_, std::chrono::milliseconds(1000));
    while (true) {
        auto r = http_.Send(Authorized("GET",
                                       api_.base + "/" + container_id + "?fields=" + api_.status_field +
                                           (api_.status_field == "status" ? ",error_message" : ",status"),
                                       token));
        if (!r.ok()) return Outcome(r, api_.label, "checking the media", false, clock_.Now());
        const json j = r.Json();
        const std::string state = j.value(api_.status_field, "");
        if (state == "FINISHED" || state == "PUBLISHED") return container_id;
        if (state == "ERROR") {
            // Threads names the problem; Instagram gives a subcode in "status".
            std::string why = j.value("error_message", "");
            if (why.empty()) why = j.value("status", "");
            if (why == "FAILED_DOWNLOADING_VIDEO" || why == "2207052") {
                why =
                    "it could not download the media: the media URL must be publicly reachable (check "
                    "public_base_url)";
            }
            return app::Rejected{api_.label + " could not use the media: " + why};
        }
        if (state == "EXPIRED")
            return app::Retryable{api_.label + " let the prepared post expire; Herald will try again"};
        if (std::chrono::steady_clock::now() >= deadline) {
            return app::Retryable{api_.label + " is still processing the media; Herald will try again"};
        }
        std::this_thread::sleep_for(wait);
        wait = std::min(wait * 2, poll_interval_);
    }
}

Containers::Step Containers::Publish(const std::string& user_id, const std::string& token,
                                     const std::string& container_id) {
    HttpRequest req = Authorized("POST", api_.base + "/" + user_id + "/" + api_.publish_edge, token);
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    req.body = FormEncode({{"creation_id", container_id}});
    auto r = http_.Send(req);
    if (!r.ok()) return Outcome(r, api_.label, "publishing the post", true, clock_.Now());
    const std::string id = r.Json().value("id", "");
    if (id.empty()) return app::Unknown{api_.label + " accepted the post but answered without its id"};
    return id;
}

Containers::Step Containers::Carousel(const std::string& user_id, const std::string& token,
                                      const std::vector<Params>& items) {
    std::string children;
    for (Params item : items) {
        item.emplace_back("is_carousel_item", "true");
        auto created = Create(user_id, token, item);
        if (auto* o = std::get_if<app::PublishOutcome>(&created)) return *o;
        auto ready = WaitReady(std::get<std::string>(created), token);
        if (auto* o = std::get_if<app::PublishOutcome>(&ready)) return *o;
        children += (children.empty() ? "" : ",") + std::get<std::string>(created);
    }
    return children;
}

Containers::Step Containers::Post(const std::string& user_id, const std::string& token, const Params& params) {
    auto created = Create(user_id, token, params);
    if (auto* o = std::get_if<app::PublishOutcome>(&created)) return *o;
    auto ready = WaitReady(std::get<std::string>(created), token);
    if (auto* o = std::get_if<app::PublishOutcome>(&ready)) return *o;
    return Publish(user_id, token, std::get<std::string>(created));
}

std::string Containers::Permalink(const std::string& id, const std::string& token) {
    auto r = http_.Send(Authorized("GET", api_.base + "/" + id + "?fields=permalink", token));
    return r.ok() ? r.Json().value("permalink", "") : "";
}

}  // namespace herald::platforms::meta
