#pragma once

#include "app/ports.hpp"
#include "platforms/http.hpp"
#include "platforms/oauth.hpp"

namespace herald::platforms {

/// YouTube, through the Data API v3 with a Google OAuth 2.0 grant (web server flow, offline
/// access; scopes youtube.upload and youtube.readonly).
///
/// Connecting: through Google's consent page (POST /api/v1/accounts/oauth); Herald asks for
/// the signed-in account's channel and adds "channel_id" and "channel_title" to the settings.
/// The one setting a person gives is "privacy": public (the default), unlisted or private.
/// Videos uploaded by an API project Google has not audited are locked private whatever is
/// asked, and nothing in the answer says so but the privacy it reports.
///
/// Credentials: the grant (access_token for about an hour, refresh_token, expires_at). Google
/// keeps the refresh token when renewing and does not send it again; the stored one is kept.
///
/// A post is one video: its first line is the title (at most 100 characters), the whole text
/// the description (at most 5,000 bytes); YouTube refuses < and > in both, so they become ‹ and ›.
/// The video goes up in a resumable session: if the bytes get no answer, or a 5xx, Herald asks
/// the session how much arrived and sends the rest, and a session that already has it all
/// answers with the video. The session lives only within one attempt, so an attempt that ends
/// without an answer is shown as unconfirmed, never uploaded again blindly (there is no
/// idempotency key and no lookup).
class YouTubeAdapter final : public OAuthAdapter<OAuth2> {
  public:
    /// `api_base`: https://www.googleapis.com (the API and its upload endpoint);
    /// `token_url`: Google's token endpoint, https://oauth2.googleapis.com/token.
    YouTubeAdapter(const core::Clock& clock, HttpOptions http, std::string api_base, std::string token_url,
                   std::optional<OAuthClient> client);
    std::string_view Name() const override { return "youtube"; }
    /// One video, required; a description of 5,000 UTF-8 bytes.
    domain::PlatformLimits Limits() const override;
    core::Status ValidateSettings(const std::string& settings_json) const override;
    core::Result<std::string> VerifyConnection(const std::string& settings_json,
                                               const std::string& credentials_json) override;
    app::PublishCapabilities Capabilities(const std::string&) const override { return {false, false}; }
    app::PublishOutcome Publish(const app::PublishRequest& request) override;

    /// How long to wait before asking an interrupted session how much arrived, at first (it
    /// doubles with each try).
    void SetResumeBackoff(std::chrono::milliseconds first) { backoff_ = first; }

  private:
    app::PublishOutcome Refusal(const HttpResponse& r, const std::string& doing, core::TimePoint now) const;
    app::PublishOutcome SendBytes(const std::string& session, const app::PublishMedia& m, uint64_t total,
                                  const std::string& token, const std::string& privacy, core::TimePoint now);

    const core::Clock& clock_;
    HttpClient http_;
    std::string api_;
    std::chrono::milliseconds backoff_{1000};
};

/// The title YouTube gets for a post's text: its first line that has any, trimmed, < and >
/// replaced, cut to 100 code points (with an ellipsis) on a character boundary.
std::string YouTubeTitle(std::string_view text);

/// The next midnight in America/Los_Angeles after `now` (when YouTube's daily quota resets);
/// 24 hours from now if the time zone database cannot say.
core::TimePoint NextPacificMidnight(core::TimePoint now);

}  // namespace herald::platforms
