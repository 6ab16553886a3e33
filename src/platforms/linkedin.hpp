#pragma once

#include "app/ports.hpp"
#include "platforms/http.hpp"
#include "platforms/oauth.hpp"

namespace herald::platforms {

/// LinkedIn, through the versioned Posts API (POST /rest/posts) with an OAuth 2.0 member token
/// (authorization code; scopes openid profile w_member_social by default).
///
/// Connecting: through LinkedIn's consent page (POST /api/v1/accounts/oauth); Herald asks the
/// OpenID userinfo endpoint who signed in and adds "person_urn" (urn:li:person:<sub>) and
/// "name" to the settings. The one setting a person gives is "organization_id": post as that
/// organization's page instead of as the member (the grant then needs w_organization_social,
/// which LinkedIn gives only to apps approved for its Community Management API, and the
/// member must administer the page).
///
/// Credentials: the grant (access_token, expires_at: 60 days; refresh_token only for apps
/// LinkedIn approved for programmatic refresh). Without a refresh token an expired grant cannot
/// be renewed and the account is held for reconnection.
///
/// Every versioned call carries LinkedIn-Version (YYYYMM; LinkedIn retires each version about a
/// year after its release and then answers 426) and X-Restli-Protocol-Version 2.0.0. Images go
/// up first (initializeUpload, then the bytes to the address it gives) and the post names them:
/// one as content.media, two to twenty as content.multiImage. No videos, no threads, no first
/// comments. LinkedIn offers no idempotency key and no way to find a post by a marker: an
/// unanswered send is shown as unconfirmed, never sent again blindly.
class LinkedInAdapter final : public OAuthAdapter<OAuth2> {
  public:
    /// The scopes asked for unless the operator's build says otherwise: enough to post as the
    /// member and learn who it is. Posting as an organization needs w_organization_social too;
    /// asking for a scope the app was not granted fails every connection, so it is not default.
    static constexpr const char* kMemberScopes = "openid profile w_member_social";

    /// `api_base`: https://api.linkedin.com; `oauth_base`: https://www.linkedin.com (its token
    /// endpoint, /oauth/v2/accessToken; the consent page is always LinkedIn's own);
    /// `version`: the LinkedIn-Version Herald sends, YYYYMM.
    LinkedInAdapter(const core::Clock& clock, HttpOptions http, std::string api_base, std::string oauth_base,
                    std::string version, std::optional<OAuthClient> client, std::string scopes = kMemberScopes);
    std::string_view Name() const override { return "linkedin"; }
    /// 3,000 code points; up to 20 images (JPEG, PNG, GIF); no video, threads or comments.
    domain::PlatformLimits Limits() const override;
    core::Status ValidateSettings(const std::string& settings_json) const override;
    core::Result<std::string> VerifyConnection(const std::string& settings_json,
                                               const std::string& credentials_json) override;
    app::PublishCapabilities Capabilities(const std::string&) const override { return {false, false}; }
    app::PublishOutcome Publish(const app::PublishRequest& request) override;

  private:
    HttpRequest Versioned(const std::string& method, const std::string& path, const std::string& token) const;
    app::PublishOutcome Refusal(const HttpResponse& r, const std::string& doing, bool as_organization,
                                core::TimePoint now) const;
    std::variant<std::string, app::PublishOutcome> Upload(const app::PublishMedia& m, const std::string& owner,
                                                          const std::string& token, bool as_organization,
                                                          core::TimePoint now);

    const core::Clock& clock_;
    HttpClient http_;
    std::string api_;
    std::string version_;
};

/// `text` in LinkedIn's "little" text format, which the Posts API reads commentary in: the
/// characters it reserves (\ | { } @ [ ] ( ) < > # * _ ~) are escaped with a backslash, or
/// LinkedIn cuts the post at the first one. Links stay as they are, so they still link, and so
/// does a # that starts a hashtag.
std::string LinkedInLittleText(std::string_view text);

}  // namespace herald::platforms
