#include "platforms/oauth.hpp"

#include <sodium.h>

#include <algorithm>

namespace herald::platforms {

namespace {

std::string Base64(const std::string& s) {
    std::string out(sodium_base64_encoded_len(s.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(s.data()), s.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    out.resize(out.size() - 1);  // the terminating NUL
    return out;
}

// A number of seconds, as JSON number or numeric string; 0 when absent or not a number.
int64_t Seconds(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end()) return 0;
    if (it->is_number_integer()) return it->get<int64_t>();
    if (it->is_number()) return static_cast<int64_t>(it->get<double>());
    if (it->is_string()) {
        try {
            return std::stoll(it->get<std::string>());
        } catch (...) {
            return 0;
        }
    }
    return 0;
}

std::string Describe(const nlohmann::json& body) {
    std::string out;
    if (body.contains("error") && body["error"].is_string()) out = body["error"].get<std::string>();
    for (const char* key : {"error_description", "message"}) {
        if (body.contains(key) && body[key].is_string()) {
            out += (out.empty() ? "" : ": ") + body[key].get<std::string>();
            break;
        }
    }
    return out;
}

}  // namespace

OAuth2::OAuth2(OAuthSpec spec, std::optional<OAuthClient> client, const core::Clock& clock, HttpOptions http)
    : spec_(std::move(spec)), client_(std::move(client)), clock_(clock), http_(std::move(http)) {}

core::Result<std::string> OAuth2::AuthorizeUrl(const std::string& state, const std::string& code_challenge,
                                               const std::string& redirect_uri) const {
    if (!client_) {
        return core::Fail(core::ErrorCode::kFailedPrecondition, "no OAuth client is configured for " + spec_.label);
    }
    std::vector<std::pair<std::string, std::string>> q = {{"response_type", "code"},
                                                          {spec_.client_id_param, client_->id},
                                                          {"redirect_uri", redirect_uri},
                                                          {"scope", spec_.scopes},
                                                          {"state", state},
                                                          {"code_challenge", code_challenge},
                                                          {"code_challenge_method", "S256"}};
    q.insert(q.end(), spec_.authorize_extra.begin(), spec_.authorize_extra.end());
    return spec_.authorize_url + (spec_.authorize_url.find('?') == std::string::npos ? "?" : "&") + FormEncode(q);
}

core::Result<app::OAuthGrant> OAuth2::Exchange(const std::string& code, const std::string& code_verifier,
                                               const std::string& redirect_uri) const {
    std::vector<std::pair<std::string, std::string>> form = {{"grant_type", "authorization_code"},
                                                             {"code", code},
                                                             {"redirect_uri", redirect_uri},
                                                             {"code_verifier", code_verifier}};
    form.insert(form.end(), spec_.exchange_extra.begin(), spec_.exchange_extra.end());
    auto grant = TokenCall(std::move(form), false);
    // Without a refresh token there is nothing to renew ahead of time (LinkedIn gives most apps
    // none): the grant is used until it expires, and then the account is held for reconnection.
    if (grant && JsonString(grant->credentials_json, "refresh_token").empty()) grant->refresh_at.reset();
    return grant;
}

core::Result<app::OAuthGrant> OAuth2::Refresh(const std::string& credentials_json) const {
    const std::string refresh = JsonString(credentials_json, "refresh_token");
    if (refresh.empty()) {
        return core::Fail(
            core::ErrorCode::kPermissionDenied,
            spec_.label + " gave no refresh token, so the sign-in cannot be renewed: reconnect the account");
    }
    return TokenCall({{"grant_type", "refresh_token"}, {"refresh_token", refresh}}, true);
}

core::Result<app::OAuthGrant> OAuth2::TokenCall(std::vector<std::pair<std::string, std::string>> form,
                                                bool renewing) const {
    if (!client_) {
        return core::Fail(core::ErrorCode::kFailedPrecondition, "no OAuth client is configured for " + spec_.label);
    }
    HttpRequest req;
    req.method = "POST";
    req.url = spec_.token_url;
    req.timeout = std::chrono::seconds(30);
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
    if (spec_.basic_auth && !client_->secret.empty()) {
        req.headers.emplace_back("Authorization",
                                 "Basic " + Base64(UrlEncode(client_->id) + ":" + UrlEncode(client_->secret)));
    } else {
        form.emplace_back(spec_.client_id_param, client_->id);
        if (!client_->secret.empty()) form.emplace_back("client_secret", client_->secret);
    }
    req.body = FormEncode(form);
    auto r = http_.Send(req);
    const auto body = r.Json();
    if (!r.ok() || (body.contains("error") && !body.contains("access_token"))) {
        return tl::unexpected(TokenError(r, renewing));
    }
    return GrantOf(r);
}

core::Result<app::OAuthGrant> OAuth2::GrantOf(const HttpResponse& r) const {
    auto body = r.Json();
    if (!body.contains("access_token") || !body["access_token"].is_string() ||
        body["access_token"].get<std::string>().empty()) {
        return core::Fail(core::ErrorCode::kUnavailable, spec_.label + " answered without an access token");
    }
    const auto now = clock_.Now();
    const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    app::OAuthGrant grant;
    const int64_t expires_in = Seconds(body, "expires_in");
    int64_t refresh_expires_in = Seconds(body, "refresh_token_expires_in");
    if (refresh_expires_in == 0) refresh_expires_in = Seconds(body, "refresh_expires_in");  // TikTok
    for (const char* key : {"expires_in", "refresh_token_expires_in", "refresh_expires_in"}) body.erase(key);
    if (expires_in > 0) {
        body["expires_at"] = now_s + expires_in;
        // Renewed when three quarters of its life are gone: room for a platform that is down a
        // while, or a node that restarts.
        grant.refresh_at = now + std::chrono::seconds(expires_in * 3 / 4);
    }
    if (refresh_expires_in > 0) body["refresh_expires_at"] = now_s + refresh_expires_in;
    grant.credentials_json = body.dump();
    return grant;
}

core::Error OAuth2::TokenError(const HttpResponse& r, bool renewing) const {
    const std::string what =
        "could not " + std::string(renewing ? "renew the sign-in" : "finish connecting") + " with " + spec_.label;
    if (r.status == 0) return core::Error{core::ErrorCode::kUnavailable, what + ": " + r.error, {}};
    auto body = r.Json();
    const std::string code =
        body.contains("error") && body["error"].is_string() ? body["error"].get<std::string>() : "";
    std::string detail = Describe(body);
    if (detail.empty()) detail = "HTTP " + std::to_string(r.status);
    // Pinterest answers a dead refresh token and a wrong client secret alike (401, "Authentication
    // failed"); its README says a refused refresh means reconnecting, so there a 401 is the grant.
    const bool client_refused = code == "invalid_client" || code == "unauthorized_client" ||
                                (r.status == 401 && code.empty() && !spec_.refused_refresh_is_revoked);
    const bool dead =
        std::find(spec_.revoked_errors.begin(), spec_.revoked_errors.end(), code) != spec_.revoked_errors.end() ||
        (spec_.refused_refresh_is_revoked && !client_refused && (r.status == 400 || r.status == 401));
    if (renewing && dead) {
        return core::Error{core::ErrorCode::kPermissionDenied,
                           spec_.label + " no longer accepts this account's sign-in (" + detail +
                               "): it was revoked or has expired; reconnect the account",
                           {}};
    }
    if (!renewing && code == "invalid_grant") {
        return core::Error{core::ErrorCode::kFailedPrecondition,
                           spec_.label + " did not accept the authorization code (" + detail +
                               "): it was used already or has expired; start connecting the account again",
                           {}};
    }
    if (client_refused) {
        return core::Error{core::ErrorCode::kFailedPrecondition,
                           spec_.label + " refused Herald's OAuth client (" + detail +
                               "): the operator checks the client id and secret in oauth_clients",
                           {}};
    }
    const auto kind =
        r.status == 429 || r.status >= 500 ? core::ErrorCode::kUnavailable : core::ErrorCode::kFailedPrecondition;
    return core::Error{kind, what + ": " + detail, {}};
}

std::string AccessToken(const std::string& credentials_json) { return JsonString(credentials_json, "access_token"); }

}  // namespace herald::platforms
