#pragma once

#include "app/ports.hpp"
#include "platforms/http.hpp"
#include "platforms/meta.hpp"

namespace herald::platforms {

/// Instagram (professional accounts), through the Instagram API with Instagram Login.
///
/// Connecting: through Instagram's consent page (POST /api/v1/accounts/oauth, scopes
/// instagram_business_basic, instagram_business_content_publish and
/// instagram_business_manage_comments for first comments); the short-lived token is exchanged
/// for a long-lived one (60 days), renewed when three quarters of that have passed. Herald
/// adds "user_id" and "username".
///
/// Every post needs an image or a video: Instagram downloads it from Herald's signed public
/// link (public_base_url must be reachable from the internet; images must be JPEG). One item
/// is a photo post or a reel; 2 to 10 make a carousel. Herald waits while Instagram processes
/// the container, then publishes it, and the first comment goes under the post. Instagram
/// has no threads, no idempotency key and no lookup: an unanswered publish is shown as
/// unconfirmed, never sent again blindly. Meta's error codes are said in words ("Instagram
/// could not download the media: the media URL must be publicly reachable").
class InstagramAdapter final : public OAuthAdapter<meta::LongLivedTokens> {
  public:
    /// `api_base`: https://graph.instagram.com/v23.0, the version included; `oauth_base`:
    /// https://api.instagram.com, where the code is traded.
    InstagramAdapter(const core::Clock& clock, HttpOptions http, std::string api_base, std::string oauth_base,
                     std::optional<OAuthClient> client);
    std::string_view Name() const override { return "instagram"; }
    /// A caption of 2,200; 1 to 10 JPEG images (8 MiB, 4:5 to 1.91:1) or videos; no threads.
    domain::PlatformLimits Limits() const override;
    core::Status ValidateSettings(const std::string& settings_json) const override;
    core::Result<std::string> VerifyConnection(const std::string& settings_json,
                                               const std::string& credentials_json) override;
    app::PublishCapabilities Capabilities(const std::string&) const override { return {false, false}; }
    app::PublishOutcome Publish(const app::PublishRequest& request) override;

    void SetMediaPolling(std::chrono::milliseconds interval, std::chrono::milliseconds total) {
        containers_.SetPolling(interval, total);
    }

  private:
    const core::Clock& clock_;
    HttpClient http_;
    std::string api_;
    meta::Containers containers_;
};

}  // namespace herald::platforms
