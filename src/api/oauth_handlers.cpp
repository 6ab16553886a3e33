// Connecting accounts through a platform's OAuth consent page: POST /api/v1/accounts/oauth
// starts it and sets a cookie; the platform sends the browser back to
// GET /api/v1/oauth/{platform}/callback, which finishes it and redirects to the dashboard.

#include "api/api.hpp"
#include "api/json_body.hpp"
#include "auth/tokens.hpp"
#include "domain/time.hpp"
#include "platforms/http.hpp"

namespace herald::api {

namespace {

// One cookie per consent in progress, named after its state, so two started in two tabs do not
// overwrite each other's.
std::string CookieName(const std::string& state) { return "herald_oauth_" + auth::HashToken(state).substr(0, 16); }

std::string Cookie(const net::Request& r, const std::string& name) {
    const auto header = r.Header("cookie");
    if (!header) return "";
    const std::string& h = *header;
    size_t pos = 0;
    while (pos < h.size()) {
        const size_t end = std::min(h.find(';', pos), h.size());
        std::string pair = h.substr(pos, end - pos);
        while (!pair.empty() && pair.front() == ' ') pair.erase(pair.begin());
        if (pair.rfind(name + "=", 0) == 0) return pair.substr(name.size() + 1);
        pos = end + 1;
    }
    return "";
}

std::string Query(const net::Request& r, const std::string& key) {
    auto it = r.query.find(key);
    return it == r.query.end() ? "" : it->second;
}

}  // namespace

net::Response Api::StartOAuth(const net::Request& r, const app::Principal& who, const Params&) {
    if (deps_.oauth == nullptr) {
        return ErrorResponse({core::ErrorCode::kFailedPrecondition, "this server cannot connect accounts with OAuth"});
    }
    auto body = JsonBody::Parse(r.body);
    if (!body) return ErrorResponse(body.error());
    app::OAuthStartInput in;
    in.platform = body->String("platform");
    in.name = body->OptString("name").value_or("");
    in.settings_json = body->OptObjectText("settings").value_or("{}");
    in.account_id = body->OptString("account_id");
    in.return_to = body->OptString("return_to").value_or("/");
    if (auto ok = body->Finish(); !ok) return ErrorResponse(ok.error());
    auto started = deps_.oauth->Start(who, in);
    if (!started) return ErrorResponse(started.error());
    auto res = JsonResponse(
        200, {{"authorize_url", started->authorize_url}, {"expires_at", domain::FormatRfc3339(started->expires_at)}});
    // The cookie proves that the browser coming back is the one that started.
    res.headers.emplace_back("Set-Cookie",
                             CookieName(started->state) + "=" + started->binding + "; Path=/api/v1/oauth; Max-Age=" +
                                 std::to_string(std::chrono::seconds(app::OAuthService::kStateLifetime).count()) +
                                 "; HttpOnly; SameSite=Lax" + (deps_.secure_cookies ? "; Secure" : ""));
    res.headers.emplace_back("Cache-Control", "no-store");
    return res;
}

net::Response Api::OAuthCallback(const net::Request& r, const Params& p) {
    if (deps_.oauth == nullptr) {
        return ErrorResponse({core::ErrorCode::kFailedPrecondition, "this server cannot connect accounts with OAuth"});
    }
    const std::string state = Query(r, "state");
    const std::string cookie = state.empty() ? "" : CookieName(state);
    auto finished = deps_.oauth->Finish(p[0], state, Query(r, "code"), Query(r, "error"), Query(r, "error_description"),
                                        cookie.empty() ? "" : Cookie(r, cookie));
    net::Response res;
    res.headers.emplace_back("Cache-Control", "no-store");
    if (!cookie.empty()) {
        res.headers.emplace_back("Set-Cookie", cookie + "=; Path=/api/v1/oauth; Max-Age=0; HttpOnly; SameSite=Lax");
    }
    // Back to the dashboard either way, with what happened. A state that is unknown, used or
    // from another browser has no way back of its own: the dashboard's home then.
    std::string location = finished ? finished->return_to : "/";
    location += location.find('?') == std::string::npos ? "?" : "&";
    if (!finished) {
        location += "oauth_error=" + platforms::UrlEncode(finished.error().message);
    } else if (finished->account) {
        location += "connected=" + platforms::UrlEncode(finished->account->id);
    } else {
        location += "oauth_error=" + platforms::UrlEncode(finished->error ? finished->error->message : "unknown");
    }
    res.status = 302;
    res.headers.emplace_back("Location", location);
    return res;
}

}  // namespace herald::api
