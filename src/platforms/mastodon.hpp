#pragma once

#include <map>
#include <mutex>

#include "app/ports.hpp"
#include "platforms/http.hpp"
#include "platforms/oauth.hpp"

namespace herald::platforms {

/// Mastodon (any instance), through its REST API with an access token: from the instance's
/// consent page (OAuth 2.0, the app registered per instance), or made by hand.
///
/// Settings: {"instance": "https://mastodon.social", "visibility": "public"} (visibility:
/// public, unlisted, private or direct; default public); Herald adds "account_id" and "acct"
/// when the account is connected. Credentials: {"access_token": "…"}: a token made under the
/// instance's Preferences → Development with the write:statuses and write:media scopes.
///
/// Media go up through POST /api/v2/media with their alt text (description); a file the
/// instance is still processing (202) is waited for (GET /api/v1/media/:id) before the status
/// is posted. Threads are replies (in_reply_to_id). Every status carries an Idempotency-Key
/// derived from its delivery: the instance answers a repeat with the first status. Instances
/// keep the key for an hour: a resend later than that (the queue's fourth attempt comes
/// after 70 minutes) could post twice, if every earlier answer was lost.
class MastodonAdapter final : public app::PlatformAdapter {
  public:
    MastodonAdapter(const core::Clock& clock, HttpOptions http);
    std::string_view Name() const override { return "mastodon"; }
    /// Through the instance's consent page (Herald registers itself as an app on each instance
    /// the first time one of its accounts connects); a token made by hand also works, given to
    /// POST /api/v1/accounts.
    app::AuthMethod Auth() const override { return app::AuthMethod::kOAuth2; }
    /// No operator setup: the client is registered with each instance.
    bool OAuthReady() const override { return true; }
    core::Result<OAuthStart> BeginOAuth(const std::string& state, const std::string& code_challenge,
                                        const std::string& redirect_uri, const std::string& settings_json) override;
    core::Result<app::OAuthGrant> FinishOAuth(const std::string& code, const std::string& code_verifier,
                                              const std::string& redirect_uri, const std::string& context) override;
    /// Mastodon's tokens do not expire and cannot be renewed: a refused one needs reconnecting.
    core::Result<app::OAuthGrant> RefreshGrant(const std::string& credentials_json) override;
    /// 500 characters (an instance's default; graphemes, every link 23), 4 media:
    /// images up to 16 MiB, videos up to 99 MiB; threads of 25 replies.
    domain::PlatformLimits Limits() const override;
    core::Status ValidateSettings(const std::string& settings_json) const override;
    core::Result<std::string> VerifyConnection(const std::string& settings_json,
                                               const std::string& credentials_json) override;
    app::PublishCapabilities Capabilities(const std::string&) const override { return {true, false}; }
    app::PublishOutcome Publish(const app::PublishRequest& request) override;

    /// How long to wait between polls of media the instance is still processing, and in all.
    void SetMediaPolling(std::chrono::milliseconds interval, std::chrono::milliseconds total) {
        poll_interval_ = interval;
        poll_total_ = total;
    }

  private:
    /// The client Herald registered with each instance, by instance and redirect URI: one
    /// registration per instance, not one per consent.
    std::mutex apps_mu_;
    std::map<std::pair<std::string, std::string>, OAuthClient> apps_;
    const core::Clock& clock_;
    HttpOptions http_options_;
    HttpClient http_;
    std::chrono::milliseconds poll_interval_{1000};
    std::chrono::milliseconds poll_total_{120000};
};

}  // namespace herald::platforms
