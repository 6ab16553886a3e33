#pragma once

#include "app/ports.hpp"
#include "platforms/http.hpp"
#include "platforms/meta.hpp"

namespace herald::platforms {

/// Threads (Meta), through the Threads API with a Threads user token.
///
/// Connecting: through Threads' consent page (POST /api/v1/accounts/oauth, scopes
/// threads_basic and threads_content_publish, plus threads_manage_replies for threads and
/// first comments); the code's short-lived token is exchanged for a long-lived one (60 days),
/// renewed when three quarters of that have passed. Herald adds "user_id" and "username".
///
/// A post is a container Threads fills by downloading each media item from Herald's signed
/// public link (so public_base_url must be reachable from the internet), then published once
/// Threads says it is ready. Several media items make a carousel. Threads and first comments
/// are replies (reply_to_id). Threads has no idempotency key and no lookup: an unanswered
/// publish is shown as unconfirmed, never sent again blindly. Requests carry the token as an
/// Authorization: Bearer header rather than the access_token parameter of Meta's examples.
class ThreadsAdapter final : public OAuthAdapter<meta::LongLivedTokens> {
  public:
    /// `api_base`: https://graph.threads.net/v1.0, the version included (an operator moves to a
    /// newer one with platform_base_urls); the token endpoints are on its host.
    ThreadsAdapter(const core::Clock& clock, HttpOptions http, std::string api_base, std::optional<OAuthClient> client);
    std::string_view Name() const override { return "threads"; }
    /// 500 (UTF-8 bytes for emoji); up to 20 images and videos (a carousel); threads of 25.
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
