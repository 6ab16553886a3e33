#pragma once

#include "app/ports.hpp"
#include "platforms/http.hpp"
#include "platforms/oauth.hpp"

namespace herald::platforms {

/// X, through API v2 with an OAuth 2.0 user token (authorization code with PKCE; scopes
/// tweet.read tweet.write users.read media.write offline.access).
///
/// Connecting: through X's consent page (POST /api/v1/accounts/oauth); Herald adds "user_id"
/// and "username" to the settings. Credentials: the grant (access_token, refresh_token,
/// expires_at); access tokens last 2 hours and are renewed ahead of that.
///
/// Images up to 5 MB go up in one request (POST /2/media/upload); GIFs and videos in chunks
/// (initialize, append, finalize), and X's processing is waited for. Alt text goes through
/// POST /2/media/metadata. Threads and first comments are replies. X offers no idempotency
/// key and no way to find a post by a marker: an unanswered send is shown as unconfirmed, never
/// sent again blindly (X itself refuses identical text as a duplicate).
class XAdapter final : public OAuthAdapter<OAuth2> {
  public:
    /// `api_base`: https://api.x.com (or a proxy, the tests' fake); the token endpoint is under it.
    XAdapter(const core::Clock& clock, HttpOptions http, std::string api_base, std::optional<OAuthClient> client);
    std::string_view Name() const override { return "x"; }
    /// 280 in X's weighted count (links 23); 4 images, or 1 video or GIF; threads of 25.
    domain::PlatformLimits Limits() const override;
    core::Status ValidateSettings(const std::string& settings_json) const override;
    core::Result<std::string> VerifyConnection(const std::string& settings_json,
                                               const std::string& credentials_json) override;
    app::PublishCapabilities Capabilities(const std::string&) const override { return {false, false}; }
    app::PublishOutcome Publish(const app::PublishRequest& request) override;

    /// How long to wait between polls of media X is still processing, at most, and in all.
    void SetMediaPolling(std::chrono::milliseconds max_interval, std::chrono::milliseconds total) {
        poll_max_interval_ = max_interval;
        poll_total_ = total;
    }

  private:
    std::variant<std::string, app::PublishOutcome> Upload(const app::PublishMedia& m, const std::string& token,
                                                          core::TimePoint now);

    const core::Clock& clock_;
    HttpClient http_;
    std::string api_;
    std::chrono::milliseconds poll_max_interval_{5000};
    std::chrono::milliseconds poll_total_{300000};
};

}  // namespace herald::platforms
