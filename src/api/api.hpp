#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "app/account_service.hpp"
#include "app/auth_service.hpp"
#include "app/limits_service.hpp"
#include "app/media_service.hpp"
#include "app/oauth_service.hpp"
#include "app/post_service.hpp"
#include "app/queue_service.hpp"
#include "net/http.hpp"
#include "queue/dispatcher.hpp"
#include "queue/metrics.hpp"

namespace herald::api {

/// Turns an error into the one JSON shape {"error":{"code","message","details"}} and its status.
/// The ErrorCode → HTTP status table lives here and nowhere else.
int HttpStatus(core::ErrorCode code);
net::Response ErrorResponse(const core::Error& e);
net::Response JsonResponse(int status, const nlohmann::json& body);

struct ApiDeps {
    app::AuthService& auth;
    app::AccountService& accounts;
    app::PostService& posts;
    app::QueueService& queue;
    app::LimitsService& limits;
    app::Store& store;
    const core::Clock& clock;
    const queue::Dispatcher* dispatcher = nullptr;  ///< for /readyz; nullptr: this node runs no workers
    int64_t ready_max_lag_seconds = 60;
    const queue::Metrics* metrics = nullptr;           ///< for /metrics
    app::MediaService* media = nullptr;                ///< nullptr: no media library on this node
    bool serve_api = true;                             ///< false (herald worker): only /healthz, /readyz and /metrics
    const app::PlatformRegistry* platforms = nullptr;  ///< for GET /api/v1/platforms
    app::OAuthService* oauth = nullptr;                ///< connecting accounts through a consent page
    bool secure_cookies = false;                       ///< the public base URL is https: cookies say Secure
    std::string web_dir;                               ///< the dashboard's built files; empty: none
};

/// The HTTP API: routing, authentication, and one handler per endpoint.
class Api {
  public:
    explicit Api(ApiDeps deps);

    net::Response Handle(const net::Request& request);
    /// WebSocket /api/v1/events: the topic is the caller's workspace.
    std::optional<std::string> AcceptEvents(const net::Request& request, net::Response& reject);

    /// The paths whose bodies the server streams to disk as forms (routes added with form).
    std::vector<std::string> UploadPaths() const;

    static std::string TopicFor(const std::string& workspace_id) { return "workspace:" + workspace_id; }

  private:
    // An account as the API shows it: with its effective posting limits and warm-up phase.
    /// An account as the API shows it. `held`: the workspace's reconnect_required pauses by
    /// account id (ReconnectHolds), so a list reads them once.
    core::Result<nlohmann::json> AccountJson(const app::Principal& who, const domain::Account& a,
                                             const std::map<std::string, std::string>& held);
    std::map<std::string, std::string> ReconnectHolds(const app::Principal& who);
    using Params = std::vector<std::string>;
    using Authed = std::function<net::Response(const net::Request&, const app::Principal&, const Params&)>;
    using Open = std::function<net::Response(const net::Request&, const Params&)>;
    struct Route {
        std::string method;
        std::vector<std::string> segments;  ///< "{}" matches one path segment
        Authed authed;
        Open open;
        /// Takes multipart/form-data, streamed to disk by the server (UploadPaths), instead of JSON.
        bool form = false;
    };
    void AddAuthed(std::string method, std::string pattern, Authed h, bool form = false);
    void AddOpen(std::string method, std::string pattern, Open h);
    net::Response Dispatch(const net::Request& request);
    core::Result<app::Principal> Authenticate(const net::Request& request);
    // idempotency.cpp: runs `handler` at most once per Idempotency-Key.
    net::Response WithIdempotency(const net::Request& request, const app::Principal& who,
                                  const std::function<net::Response()>& handler);

    // health_handlers.cpp
    net::Response Healthz(const net::Request&, const Params&);
    net::Response Readyz(const net::Request&, const Params&);
    net::Response OpenApi(const net::Request&, const Params&);
    net::Response PrometheusMetrics(const net::Request&, const Params&);
    // auth_handlers.cpp
    net::Response Register(const net::Request&, const Params&);
    net::Response Login(const net::Request&, const Params&);
    net::Response RefreshSession(const net::Request&, const Params&);
    net::Response Logout(const net::Request&, const Params&);
    net::Response Me(const net::Request&, const app::Principal&, const Params&);
    net::Response ListTokens(const net::Request&, const app::Principal&, const Params&);
    net::Response CreateToken(const net::Request&, const app::Principal&, const Params&);
    net::Response RevokeToken(const net::Request&, const app::Principal&, const Params&);
    net::Response ListMembers(const net::Request&, const app::Principal&, const Params&);
    net::Response AddMember(const net::Request&, const app::Principal&, const Params&);
    // account_handlers.cpp
    net::Response CreateAccount(const net::Request&, const app::Principal&, const Params&);
    net::Response ReconnectAccount(const net::Request&, const app::Principal&, const Params&);
    net::Response ListAccounts(const net::Request&, const app::Principal&, const Params&);
    net::Response GetAccount(const net::Request&, const app::Principal&, const Params&);
    net::Response SandboxPosts(const net::Request&, const app::Principal&, const Params&);
    // oauth_handlers.cpp
    net::Response StartOAuth(const net::Request&, const app::Principal&, const Params&);
    net::Response OAuthCallback(const net::Request&, const Params&);
    // post_handlers.cpp
    net::Response CreatePost(const net::Request&, const app::Principal&, const Params&);
    net::Response ListPosts(const net::Request&, const app::Principal&, const Params&);
    net::Response GetPost(const net::Request&, const app::Principal&, const Params&);
    net::Response UpdatePost(const net::Request&, const app::Principal&, const Params&);
    net::Response DeletePost(const net::Request&, const app::Principal&, const Params&);
    net::Response RetryDelivery(const net::Request&, const app::Principal&, const Params&);
    net::Response MarkDeliveryPublished(const net::Request&, const app::Principal&, const Params&);
    net::Response CreatePostsBulk(const net::Request&, const app::Principal&, const Params&);
    net::Response CancelPost(const net::Request&, const app::Principal&, const Params&);
    net::Response CancelDelivery(const net::Request&, const app::Principal&, const Params&);
    // queue_handlers.cpp
    net::Response QueueStats(const net::Request&, const app::Principal&, const Params&);
    net::Response ListJobs(const net::Request&, const app::Principal&, const Params&);
    net::Response GetJob(const net::Request&, const app::Principal&, const Params&);
    net::Response RequeueJob(const net::Request&, const app::Principal&, const Params&);
    net::Response CancelJob(const net::Request&, const app::Principal&, const Params&);
    net::Response ListPauses(const net::Request&, const app::Principal&, const Params&);
    net::Response PauseQueue(const net::Request&, const app::Principal&, const Params&);
    net::Response ResumeQueue(const net::Request&, const app::Principal&, const Params&);
    net::Response GetSchedule(const net::Request&, const app::Principal&, const Params&);
    net::Response SetSchedule(const net::Request&, const app::Principal&, const Params&);
    net::Response QueuePlan(const net::Request&, const app::Principal&, const Params&);
    net::Response GetLimits(const net::Request&, const app::Principal&, const Params&);
    net::Response SetLimits(const net::Request&, const app::Principal&, const Params&);
    // media_handlers.cpp. Media routes are only reached when serve_api, which is when the host
    // makes a media library: Media() throws (a bug, answered 500) otherwise.
    app::MediaService& Media() const;
    net::Response UploadMedia(const net::Request&, const app::Principal&, const Params&);
    net::Response UploadMediaFromUrl(const net::Request&, const app::Principal&, const Params&);
    net::Response ConvertMedia(const net::Request&, const app::Principal&, const Params&);
    net::Response ListMedia(const net::Request&, const app::Principal&, const Params&);
    net::Response GetMedia(const net::Request&, const app::Principal&, const Params&);
    net::Response UpdateMedia(const net::Request&, const app::Principal&, const Params&);
    net::Response DeleteMedia(const net::Request&, const app::Principal&, const Params&);
    net::Response MediaThumbnail(const net::Request&, const app::Principal&, const Params&);
    net::Response PublicMedia(const net::Request&, const Params&);
    // platform_handlers.cpp
    net::Response ListPlatforms(const net::Request&, const app::Principal&, const Params&);

    ApiDeps deps_;
    std::vector<Route> routes_;
};

}  // namespace herald::api
