#pragma once

// What Meta's platforms share (Threads, Instagram): the Graph API's error envelope and its
// meanings, long-lived tokens instead of refresh tokens, and publishing through containers
// that Meta fills by downloading the media from a public URL, then publishes.

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "app/ports.hpp"
#include "platforms/http.hpp"
#include "platforms/oauth.hpp"

namespace herald::platforms::meta {

/// A Graph API refusal in words, typed: code 190 (the token expired or the grant was
/// revoked) → AuthExpired; throttling (4, 17, 32, 613, 80001, 2207042 the daily publishing
/// limit) → RateLimited; is_transient and server errors (1, 2, -1, -2) → Retryable, or
/// Unknown when `sent_post` (the publish call itself, which may have gone through);
/// everything else → Rejected, with Meta's message for people where it gave one.
app::PublishOutcome Outcome(const HttpResponse& r, std::string_view label, const std::string& doing, bool sent_post,
                            core::TimePoint now);

/// scheme://host[:port] of a URL: the host of a versioned API base (https://graph.threads.net/v1.0),
/// for the endpoints Meta keeps outside the version (tokens).
std::string Origin(const std::string& url);

/// Connecting: a Graph refusal of the account check as the error to show. An expired or
/// revoked token is the credentials' fault (a field error), anything else the platform's.
core::Error ConnectionError(const HttpResponse& r, std::string_view label, const std::string& doing,
                            core::TimePoint now);

/// Long-lived tokens (60 days): the code's short-lived token is exchanged for one, and it is
/// renewed (not refreshed: there is no refresh token) before it lapses.
struct TokenEndpoints {
    std::string label;           ///< "Threads"
    std::string exchange_url;    ///< GET …/access_token
    std::string exchange_grant;  ///< th_exchange_token, ig_exchange_token
    std::string refresh_url;     ///< GET …/refresh_access_token
    std::string refresh_grant;   ///< th_refresh_token, ig_refresh_token, fb_exchange_token
    /// Facebook: the token goes as fb_exchange_token (not access_token), and both calls carry
    /// the app's id and secret.
    bool facebook_style = false;
};

class LongLivedTokens {
  public:
    LongLivedTokens(OAuthSpec spec, TokenEndpoints endpoints, std::optional<OAuthClient> client,
                    const core::Clock& clock, HttpOptions http);
    bool Ready() const { return oauth_.Ready(); }
    core::Result<std::string> AuthorizeUrl(const std::string& state, const std::string& challenge,
                                           const std::string& redirect_uri) const {
        return oauth_.AuthorizeUrl(state, challenge, redirect_uri);
    }
    /// The code for a short-lived token (keeping the user id it names), then that for a
    /// long-lived one.
    core::Result<app::OAuthGrant> Exchange(const std::string& code, const std::string& verifier,
                                           const std::string& redirect_uri) const;
    /// A renewed long-lived token; kPermissionDenied when Meta says the grant is gone (190).
    core::Result<app::OAuthGrant> Refresh(const std::string& credentials_json) const;

  private:
    core::Result<app::OAuthGrant> LongLived(const std::string& url, const std::string& grant, const std::string& token,
                                            const nlohmann::json& keep, std::string_view doing) const;

    OAuth2 oauth_;
    TokenEndpoints endpoints_;
    std::optional<OAuthClient> client_;
    const core::Clock& clock_;
    HttpClient http_;
};

/// Publishing through containers: create one (or one per carousel item and a parent), wait
/// until Meta has fetched and processed the media, publish it, read its permalink.
struct ContainerApi {
    std::string label;         ///< "Threads", "Instagram"
    std::string base;          ///< https://graph.threads.net/v1.0
    std::string create_edge;   ///< "threads", "media"
    std::string publish_edge;  ///< "threads_publish", "media_publish"
    std::string status_field;  ///< "status" (Threads), "status_code" (Instagram)
};

class Containers {
  public:
    Containers(ContainerApi api, HttpClient& http, const core::Clock& clock)
        : api_(std::move(api)), http_(http), clock_(clock) {}
    /// Polls start a second apart (or `interval`, if shorter) and double up to `interval`.
    void SetPolling(std::chrono::milliseconds interval, std::chrono::milliseconds total) {
        poll_interval_ = interval;
        poll_total_ = total;
    }
    using Step = std::variant<std::string, app::PublishOutcome>;  ///< an id, or why not
    /// POST /{user}/{create_edge} with `params` (form): the container's id.
    Step Create(const std::string& user_id, const std::string& token,
                const std::vector<std::pair<std::string, std::string>>& params);
    /// Polls the container until FINISHED: its id again, or why it never will be.
    Step WaitReady(const std::string& container_id, const std::string& token);
    /// POST /{user}/{publish_edge}?creation_id=…: the post's id. No answer: Unknown.
    Step Publish(const std::string& user_id, const std::string& token, const std::string& container_id);
    using Params = std::vector<std::pair<std::string, std::string>>;
    /// A carousel's items, each created (with is_carousel_item) and waited for: their ids,
    /// comma-separated, for the parent's `children`.
    Step Carousel(const std::string& user_id, const std::string& token, const std::vector<Params>& items);
    /// Create, WaitReady, then Publish: the post's id, or why not.
    Step Post(const std::string& user_id, const std::string& token, const Params& params);
    /// GET /{id}?fields=permalink; empty when Meta does not say.
    std::string Permalink(const std::string& id, const std::string& token);

  private:
    ContainerApi api_;
    HttpClient& http_;
    const core::Clock& clock_;
    std::chrono::milliseconds poll_interval_{30000};
    std::chrono::milliseconds poll_total_{300000};
};

}  // namespace herald::platforms::meta
