#pragma once

#include "app/ports.hpp"
#include "platforms/http.hpp"
#include "platforms/meta.hpp"

namespace herald::platforms {

/// A Facebook Page, through the Graph API.
///
/// Connecting: through Facebook Login (POST /api/v1/accounts/oauth, permissions
/// pages_show_list, pages_manage_posts, pages_read_engagement) with the settings
/// {"page_id": "…"}; a person who manages exactly one Page may leave it out. The code's token
/// is traded for a long-lived user token (60 days), renewed when 45 days have passed; Herald
/// adds "page_name". Each publish asks Facebook for the Page's own token with the user token
/// (Page tokens got that way do not expire), so nothing but the user grant is stored.
///
/// Text goes to the Page's feed; one image is a photo post (the file is uploaded); several
/// are uploaded unpublished and attached to one feed post (attached_media, not verified
/// against Facebook's documentation: its excerpt did not name the parameter). The first
/// comment is a comment on the post. No videos, no threads. Facebook has no idempotency key
/// and no lookup: an unanswered publish is shown as unconfirmed, never sent again blindly.
class FacebookAdapter final : public OAuthAdapter<meta::LongLivedTokens> {
  public:
    /// `api_base`: https://graph.facebook.com/v23.0, the version included (the login dialog
    /// uses the same version on www.facebook.com).
    FacebookAdapter(const core::Clock& clock, HttpOptions http, std::string api_base,
                    std::optional<OAuthClient> client);
    std::string_view Name() const override { return "facebook"; }
    /// 63,206 characters; up to 10 images of 10 MiB; a first comment; no threads or videos.
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
