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
    /// The error a failed token call means (see Refresh), in words.
    core::Error TokenError(const HttpResponse& r, std::string_view doing) const;

  private:
    core::Result<app::OAuthGrant> TokenCall(std::vector<std::pair<std::string, std::string>> form,
                                            std::string_view doing) const;

    OAuthSpec spec_;
    std::optional<OAuthClient> client_;
    const core::Clock& clock_;
    HttpClient http_;
};

/// "access_token" of credentials JSON text; empty when absent.
std::string AccessToken(const std::string& credentials_json);

}  // namespace herald::platforms
