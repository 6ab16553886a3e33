#pragma once

// OAuth 2.0 as the platforms run it (RFC 6749 authorization code, RFC 7636 PKCE): the consent
// page's address, trading the code for tokens, and renewing them. Each platform differs in
// details (how the client proves itself, what its client id parameter is called, extra
// parameters); OAuthSpec says them, and an adapter composes one OAuth2 with its own.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "app/ports.hpp"
#include "platforms/http.hpp"

namespace herald::platforms {

/// What the operator registered with a platform for Herald (config oauth_clients).
struct OAuthClient {
    std::string id;
    std::string secret;  ///< empty for a public client (PKCE only)
};

struct OAuthSpec {
    std::string label;          ///< the platform as people know it, for messages ("X")
    std::string authorize_url;  ///< the consent page
    std::string token_url;
    std::string scopes;  ///< as the platform wants them in `scope` (space- or comma-separated)
    /// How the client proves itself at the token endpoint: HTTP Basic (RFC 6749 §2.3.1), or
    /// client_id and client_secret in the form.
    bool basic_auth = true;
    std::string client_id_param = "client_id";                         ///< TikTok calls it client_key
    std::vector<std::pair<std::string, std::string>> authorize_extra;  ///< access_type=offline, …
    std::vector<std::pair<std::string, std::string>> exchange_extra;   ///< continuous_refresh=true, …
    /// The token endpoint's error codes that mean a refresh token is dead (revoked, expired,
    /// spent): the account must be reconnected. X and Reddit say invalid_request.
    std::vector<std::string> revoked_errors = {"invalid_grant"};
    /// A 400 or 401 to a refresh means the grant is dead (Pinterest, whose errors name no code).
    bool refused_refresh_is_revoked = false;
};

/// Credentials JSON kept for an OAuth account: access_token, refresh_token (when the platform
/// gives one), expires_at and refresh_expires_at (Unix seconds), scope.
class OAuth2 {
  public:
    OAuth2(OAuthSpec spec, std::optional<OAuthClient> client, const core::Clock& clock, HttpOptions http = {});

    bool Ready() const { return client_.has_value(); }
    const OAuthSpec& spec() const { return spec_; }
    core::Result<std::string> AuthorizeUrl(const std::string& state, const std::string& code_challenge,
                                           const std::string& redirect_uri) const;
    core::Result<app::OAuthGrant> Exchange(const std::string& code, const std::string& code_verifier,
                                           const std::string& redirect_uri) const;
    /// grant_type=refresh_token with the stored refresh token. kPermissionDenied when the
    /// platform answers invalid_grant (revoked, expired, or already used) or none is stored.
    core::Result<app::OAuthGrant> Refresh(const std::string& credentials_json) const;

    /// A token endpoint's answer as a grant: every field it gave is kept, expires_in turned into expires_at.
    core::Result<app::OAuthGrant> GrantOf(const HttpResponse& r) const;

  private:
    /// The error a failed token call means (see Refresh), in words. A platform may refuse with
    /// HTTP 200 and an error in the body (Reddit).
    core::Error TokenError(const HttpResponse& r, bool renewing) const;
    core::Result<app::OAuthGrant> TokenCall(std::vector<std::pair<std::string, std::string>> form, bool renewing) const;

    OAuthSpec spec_;
    std::optional<OAuthClient> client_;
    const core::Clock& clock_;
    HttpClient http_;
};

/// What every adapter of a platform connected through its consent page has, forwarded to
/// `Grants`: OAuth2, or meta::LongLivedTokens (Ready, AuthorizeUrl, Exchange, Refresh).
template <typename Grants>
class OAuthAdapter : public app::PlatformAdapter {
  public:
    app::AuthMethod Auth() const final { return app::AuthMethod::kOAuth2; }
    bool OAuthReady() const final { return oauth_.Ready(); }
    core::Result<std::string> AuthorizeUrl(const std::string& state, const std::string& code_challenge,
                                           const std::string& redirect_uri) const final {
        return oauth_.AuthorizeUrl(state, code_challenge, redirect_uri);
    }
    core::Result<app::OAuthGrant> ExchangeCode(const std::string& code, const std::string& code_verifier,
                                               const std::string& redirect_uri) final {
        return oauth_.Exchange(code, code_verifier, redirect_uri);
    }
    core::Result<app::OAuthGrant> RefreshGrant(const std::string& credentials_json) final {
        return oauth_.Refresh(credentials_json);
    }

  protected:
    explicit OAuthAdapter(Grants grants) : oauth_(std::move(grants)) {}
    Grants oauth_;
};

/// "access_token" of credentials JSON text; empty when absent.
std::string AccessToken(const std::string& credentials_json);

}  // namespace herald::platforms
