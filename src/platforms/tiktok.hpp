#pragma once

#include <chrono>

#include "app/ports.hpp"
#include "platforms/http.hpp"
#include "platforms/oauth.hpp"

namespace herald::platforms {

/// TikTok, through the Content Posting API (Direct Post) with an OAuth 2.0 user token (Login
/// Kit; scopes user.info.basic and video.publish, comma-separated; the client is named by
/// client_key, and proves itself with client_key and client_secret in the token form).
///
/// Connecting: through TikTok's consent page (POST /api/v1/accounts/oauth), optionally with
/// the settings {"privacy_level": "SELF_ONLY"} (PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS,
/// FOLLOWER_OF_CREATOR or SELF_ONLY; without it SELF_ONLY where the account offers it, else
/// the first level it offers) and "disable_comment", "disable_duet", "disable_stitch"
/// (booleans, false by default). Herald asks TikTok for the creator's info and adds
/// "creator_username", "creator_nickname", "privacy_level_options" and
/// "max_video_post_duration_sec"; a privacy level the account does not offer is refused.
/// Credentials: the grant (access_token, refresh_token, open_id, expires_at,
/// refresh_expires_at). Access tokens last 2 hours (24 on older apps) and are renewed ahead of
/// that; TikTok rotates the refresh token at each renewal, and the newest is kept.
///
/// An app TikTok has not audited may post only to private accounts, and only with privacy
/// SELF_ONLY: until the operator has the app audited, accounts need "privacy_level":
/// "SELF_ONLY" (the default where offered) and a private TikTok account.
///
/// A post is one video, or 1 to 35 JPEG or WebP images (a photo post). TikTok downloads the
/// media from Herald's public links (PULL_FROM_URL), so the server needs a public_base_url,
/// and the operator must verify that URL's domain (or prefix) for the app in TikTok's developer
/// portal; TikTok refuses links it has not verified. The post's text is the video's caption
/// (2,200 UTF-16 units); for photos its first line is also the title (cut at 90).
///
/// After the post is handed over, TikTok downloads and processes it: Herald asks how it is
/// going (every 2 seconds at first, then less often) until it is published or failed. TikTok
/// offers no idempotency key and no lookup: once it has the post (a publish_id), nothing is
/// ever sent again; when processing outlasts the wait, the outcome is unconfirmed (TikTok
/// finishes it by itself). No threads, no first comments.
class TikTokAdapter final : public OAuthAdapter<OAuth2> {
  public:
    /// `api_base`: https://open.tiktokapis.com (or a proxy, the tests' fake); the token
    /// endpoint is under it.
    TikTokAdapter(const core::Clock& clock, HttpOptions http, std::string api_base, std::optional<OAuthClient> client);
    std::string_view Name() const override { return "tiktok"; }
    /// 2,200 UTF-16 units; one video (MP4, MOV or WebM, up to 10 minutes and 4 GB) or 1 to 35
    /// JPEG or WebP images, required, fetched from a public link; no threads or first comments.
    domain::PlatformLimits Limits() const override;
    core::Status ValidateSettings(const std::string& settings_json) const override;
    core::Result<std::string> VerifyConnection(const std::string& settings_json,
                                               const std::string& credentials_json) override;
    app::PublishCapabilities Capabilities(const std::string&) const override { return {false, false}; }
    app::PublishOutcome Publish(const app::PublishRequest& request) override;

    /// How long to wait between checks of a post TikTok is still processing, at most, and in
    /// all (default 10 seconds and 5 minutes; the first check comes after 2 seconds or
    /// `max_interval`, whichever is shorter, and the waits double from there).
    void SetMediaPolling(std::chrono::milliseconds max_interval, std::chrono::milliseconds total) {
        poll_max_interval_ = max_interval;
        poll_total_ = total;
    }

  private:
    /// Follows a post TikTok accepted (`publish_id`) until it is published or failed, or the
    /// wait is over.
    app::PublishOutcome AwaitPublish(const std::string& token, const std::string& publish_id,
                                     const std::string& username);

    const core::Clock& clock_;
    HttpClient http_;
    std::string api_;
    std::chrono::milliseconds poll_max_interval_{10000};
    std::chrono::milliseconds poll_total_{300000};
};

}  // namespace herald::platforms
