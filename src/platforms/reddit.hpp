#pragma once

#include "app/ports.hpp"
#include "platforms/http.hpp"
#include "platforms/oauth.hpp"

namespace herald::platforms {

/// Reddit, through its Data API with an OAuth 2.0 user token (a "web app" with a secret;
/// authorization code, duration=permanent for a refresh token; scopes identity submit read).
/// Reddit does not do PKCE: the challenge Herald always sends is ignored there.
///
/// Connecting: through Reddit's consent page (POST /api/v1/accounts/oauth) with the settings
/// {"subreddit": "heraldtest"} (a leading "r/" is dropped; "u/name" posts to the account's own
/// profile) and, for subreddits that demand post flair, "flair_id" (a flair template's id).
/// Herald adds "username". Credentials: the grant (access_token, refresh_token, expires_at);
/// access tokens last an hour and are renewed ahead of that.
///
/// Every post is a text ("self") post: Reddit needs a title, so the first line of the text is
/// the title (cut at 300 characters, Reddit's limit) and the rest is the body, in Reddit's
/// markdown. When the first line had to be cut, the body is the whole text, so nothing is lost.
/// Media are not posted: Reddit's image upload is undocumented (a lease from
/// /api/media/asset.json, an upload to S3, and the post's id only over a websocket), so Limits()
/// allows none. No threads; a first comment is a comment on the post.
///
/// Reddit answers form calls with HTTP 200 even when it refuses them; the reasons come inside
/// (json.errors). It offers no idempotency key and no way to find a post by a marker: an
/// unanswered send is shown as unconfirmed, never sent again blindly.
class RedditAdapter final : public OAuthAdapter<OAuth2> {
  public:
    /// `api_base`: https://oauth.reddit.com, where posts go; `www_base`: https://www.reddit.com,
    /// where the token endpoint is (the consent page is always on www.reddit.com). Reddit
    /// wants a User-Agent of its own: the default one of HttpOptions is replaced by Herald's.
    RedditAdapter(const core::Clock& clock, HttpOptions http, std::string api_base, std::string www_base,
                  std::optional<OAuthClient> client);
    std::string_view Name() const override { return "reddit"; }
    /// Text only: 40,000 characters (a self post's body, with its title line); no media, no
    /// threads; a first comment.
    domain::PlatformLimits Limits() const override;
    core::Status ValidateSettings(const std::string& settings_json) const override;
    core::Result<std::string> VerifyConnection(const std::string& settings_json,
                                               const std::string& credentials_json) override;
    app::PublishCapabilities Capabilities(const std::string&) const override { return {false, false}; }
    app::PublishOutcome Publish(const app::PublishRequest& request) override;

    /// The title and body a text becomes (the first line, cut at 300 characters; the rest).
    struct TitledText {
        std::string title;
        std::string body;
    };
    static TitledText SplitTitle(const std::string& text);

  private:
    const core::Clock& clock_;
    HttpOptions options_;
    HttpClient http_;
    std::string api_;
    std::string www_;
};

}  // namespace herald::platforms
