#pragma once

#include "app/ports.hpp"
#include "platforms/http.hpp"
#include "platforms/oauth.hpp"

namespace herald::platforms {

/// Pinterest, through API v5 with an OAuth 2.0 user token (authorization code; scopes
/// boards:read, pins:read, pins:write, user_accounts:read). Pinterest does not do PKCE: the
/// challenge Herald always sends is ignored there.
///
/// Connecting: through Pinterest's consent page (POST /api/v1/accounts/oauth) with the settings
/// {"board_id": "549755885175"} (the board Pins go to) and optionally "board_section_id";
/// Herald adds "username". Credentials: the grant (access_token, refresh_token, expires_at,
/// refresh_expires_at). Herald asks for a continuous refresh token, renewed with each refresh;
/// access tokens last 30 days and are renewed ahead of that.
///
/// A Pin is an image with words: every post needs one image (or two to five, a carousel).
/// Pinterest fetches images from a link, so the server needs a public_base_url. The post's
/// text is the Pin's description (800 characters), its first line the title (cut at 100), and
/// the first image's alt text the Pin's. Videos are not posted (Pinterest's video upload goes
/// through S3 and processing; not done here). No threads, no first comment.
///
/// An app with Trial access may create Pins only in Pinterest's sandbox: the operator then
/// points the platform there (platform_base_urls pinterest=https://api-sandbox.pinterest.com).
/// Pinterest offers no idempotency key and no way to find a Pin by a marker: an unanswered
/// send is shown as unconfirmed, never sent again blindly.
class PinterestAdapter final : public OAuthAdapter<OAuth2> {
  public:
    /// `api_base`: https://api.pinterest.com (or the sandbox, the tests' fake); the token
    /// endpoint is under it.
    PinterestAdapter(const core::Clock& clock, HttpOptions http, std::string api_base,
                     std::optional<OAuthClient> client);
    std::string_view Name() const override { return "pinterest"; }
    /// 800 characters; one to five JPEG or PNG images, required, fetched from a public link; no
    /// videos, threads or first comments.
    domain::PlatformLimits Limits() const override;
    core::Status ValidateSettings(const std::string& settings_json) const override;
    core::Result<std::string> VerifyConnection(const std::string& settings_json,
                                               const std::string& credentials_json) override;
    app::PublishCapabilities Capabilities(const std::string&) const override { return {false, false}; }
    app::PublishOutcome Publish(const app::PublishRequest& request) override;

  private:
    const core::Clock& clock_;
    HttpClient http_;
    std::string api_;
};

}  // namespace herald::platforms
