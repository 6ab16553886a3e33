#include "api/api.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <sstream>

#include "net/static_files.hpp"

namespace herald::api {
namespace {

std::vector<std::string> Split(const std::string& path) {
    std::vector<std::string> out;
    std::string seg;
    std::istringstream in(path);
    while (std::getline(in, seg, '/')) {
        if (!seg.empty()) out.push_back(seg);
    }
    return out;
}

}  // namespace

int HttpStatus(core::ErrorCode code) {
    using core::ErrorCode;
    switch (code) {
        case ErrorCode::kInvalidArgument:
            return 400;
        case ErrorCode::kUnauthenticated:
            return 401;
        case ErrorCode::kPermissionDenied:
            return 403;
        case ErrorCode::kNotFound:
            return 404;
        case ErrorCode::kAlreadyExists:
        case ErrorCode::kFailedPrecondition:
            return 409;
        case ErrorCode::kMethodNotAllowed:
            return 405;
        case ErrorCode::kPayloadTooLarge:
            return 413;
        case ErrorCode::kUnsupportedMediaType:
            return 415;
        case ErrorCode::kRateLimited:
            return 429;
        case ErrorCode::kUnavailable:
            return 503;
        case ErrorCode::kInternal:
            return 500;
    }
    return 500;
}

net::Response JsonResponse(int status, const nlohmann::json& body) {
    return net::Response{status, "application/json", body.dump(), {}};
}

net::Response ErrorResponse(const core::Error& e) {
    nlohmann::json details = nlohmann::json::object();
    for (const auto& [k, v] : e.details) details[k] = v;
    auto resp =
        JsonResponse(HttpStatus(e.code),
                     {{"error", {{"code", core::ToString(e.code)}, {"message", e.message}, {"details", details}}}});
    if (e.code == core::ErrorCode::kUnauthenticated) resp.headers.emplace_back("WWW-Authenticate", "Bearer");
    return resp;
}

Api::Api(ApiDeps deps) : deps_(std::move(deps)) {
    auto open = [this](auto fn) {
        return [this, fn](const net::Request& r, const Params& p) { return (this->*fn)(r, p); };
    };
    auto authed = [this](auto fn) {
        return [this, fn](const net::Request& r, const app::Principal& who, const Params& p) {
            return (this->*fn)(r, who, p);
        };
    };
    AddOpen("GET", "/healthz", open(&Api::Healthz));
    AddOpen("GET", "/readyz", open(&Api::Readyz));
    AddOpen("GET", "/api/v1/openapi.json", open(&Api::OpenApi));
    AddOpen("POST", "/api/v1/auth/register", open(&Api::Register));
    AddOpen("POST", "/api/v1/auth/login", open(&Api::Login));
    AddOpen("POST", "/api/v1/auth/refresh", open(&Api::RefreshSession));
    AddOpen("POST", "/api/v1/auth/logout", open(&Api::Logout));
    AddAuthed("GET", "/api/v1/me", authed(&Api::Me));
    AddAuthed("GET", "/api/v1/tokens", authed(&Api::ListTokens));
    AddAuthed("POST", "/api/v1/tokens", authed(&Api::CreateToken));
    AddAuthed("DELETE", "/api/v1/tokens/{}", authed(&Api::RevokeToken));
    AddAuthed("GET", "/api/v1/members", authed(&Api::ListMembers));
    AddAuthed("POST", "/api/v1/members", authed(&Api::AddMember));
    AddAuthed("GET", "/api/v1/accounts", authed(&Api::ListAccounts));
    AddAuthed("POST", "/api/v1/accounts", authed(&Api::CreateAccount));
    AddAuthed("GET", "/api/v1/accounts/{}", authed(&Api::GetAccount));
    AddAuthed("POST", "/api/v1/accounts/oauth", authed(&Api::StartOAuth));
    AddOpen("GET", "/api/v1/oauth/{}/callback", open(&Api::OAuthCallback));
    AddAuthed("PUT", "/api/v1/accounts/{}/credentials", authed(&Api::ReconnectAccount));
    AddAuthed("GET", "/api/v1/accounts/{}/sandbox/posts", authed(&Api::SandboxPosts));
    AddAuthed("GET", "/api/v1/accounts/{}/schedule", authed(&Api::GetSchedule));
    AddAuthed("PUT", "/api/v1/accounts/{}/schedule", authed(&Api::SetSchedule));
    AddAuthed("GET", "/api/v1/posts", authed(&Api::ListPosts));
    AddAuthed("POST", "/api/v1/posts", authed(&Api::CreatePost));
    AddAuthed("GET", "/api/v1/posts/{}", authed(&Api::GetPost));
    AddAuthed("PATCH", "/api/v1/posts/{}", authed(&Api::UpdatePost));
    AddAuthed("DELETE", "/api/v1/posts/{}", authed(&Api::DeletePost));
    AddAuthed("POST", "/api/v1/posts/{}/deliveries/{}/retry", authed(&Api::RetryDelivery));
    AddAuthed("POST", "/api/v1/posts/{}/deliveries/{}/mark-published", authed(&Api::MarkDeliveryPublished));
    AddAuthed("POST", "/api/v1/posts/bulk", authed(&Api::CreatePostsBulk));
    AddAuthed("POST", "/api/v1/posts/{}/cancel", authed(&Api::CancelPost));
    AddAuthed("POST", "/api/v1/posts/{}/deliveries/{}/cancel", authed(&Api::CancelDelivery));
    AddAuthed("GET", "/api/v1/queue/stats", authed(&Api::QueueStats));
    AddAuthed("GET", "/api/v1/queue/jobs", authed(&Api::ListJobs));
    AddAuthed("GET", "/api/v1/queue/jobs/{}", authed(&Api::GetJob));
    AddAuthed("POST", "/api/v1/queue/jobs/{}/requeue", authed(&Api::RequeueJob));
    AddAuthed("POST", "/api/v1/queue/jobs/{}/cancel", authed(&Api::CancelJob));
    AddAuthed("GET", "/api/v1/queue/pauses", authed(&Api::ListPauses));
    AddAuthed("POST", "/api/v1/queue/pause", authed(&Api::PauseQueue));
    AddAuthed("POST", "/api/v1/queue/resume", authed(&Api::ResumeQueue));
    AddAuthed("GET", "/api/v1/queue/plan", authed(&Api::QueuePlan));
    AddAuthed("GET", "/api/v1/limits", authed(&Api::GetLimits));
    AddAuthed("PUT", "/api/v1/limits", authed(&Api::SetLimits));
    AddAuthed("POST", "/api/v1/media", authed(&Api::UploadMedia), /*form=*/true);
    AddAuthed("POST", "/api/v1/media/from-url", authed(&Api::UploadMediaFromUrl));
    AddAuthed("GET", "/api/v1/media", authed(&Api::ListMedia));
    AddAuthed("GET", "/api/v1/media/{}", authed(&Api::GetMedia));
    AddAuthed("PATCH", "/api/v1/media/{}", authed(&Api::UpdateMedia));
    AddAuthed("DELETE", "/api/v1/media/{}", authed(&Api::DeleteMedia));
    AddAuthed("GET", "/api/v1/media/{}/thumbnail", authed(&Api::MediaThumbnail));
    AddAuthed("POST", "/api/v1/media/{}/convert", authed(&Api::ConvertMedia));
    AddOpen("GET", "/api/v1/public/media/{}", open(&Api::PublicMedia));
    AddAuthed("GET", "/api/v1/platforms", authed(&Api::ListPlatforms));
    AddOpen("GET", "/metrics", open(&Api::PrometheusMetrics));
}

void Api::AddAuthed(std::string method, std::string pattern, Authed h, bool form) {
    routes_.push_back(Route{std::move(method), Split(pattern), std::move(h), nullptr, form});
}

std::vector<std::string> Api::UploadPaths() const {
    std::vector<std::string> out;
    for (const auto& route : routes_) {
        if (!route.form) continue;
        std::string path;
        for (const auto& seg : route.segments) path += "/" + seg;
        out.push_back(path);
    }
    return out;
}

void Api::AddOpen(std::string method, std::string pattern, Open h) {
    routes_.push_back(Route{std::move(method), Split(pattern), nullptr, std::move(h)});
}

core::Result<app::Principal> Api::Authenticate(const net::Request& r) {
    auto header = r.Header("authorization");
    if (!header) {
        return core::Fail(core::ErrorCode::kUnauthenticated, "sign in first: send Authorization: Bearer <token>");
    }
    constexpr std::string_view kBearer = "Bearer ";
    if (header->size() <= kBearer.size() || header->compare(0, kBearer.size(), kBearer) != 0) {
        return core::Fail(core::ErrorCode::kUnauthenticated, "Authorization must be: Bearer <token>");
    }
    return deps_.auth.Authenticate(header->substr(kBearer.size()));
}

net::Response Api::Handle(const net::Request& r) {
    const auto started = std::chrono::steady_clock::now();
    net::Response resp;
    try {
        resp = Dispatch(r);
    } catch (const std::exception& e) {
        // The request boundary: a bug or broken infrastructure, never an expected failure.
        spdlog::error("event=request_failed request_id={} method={} path={} error=\"{}\"", r.request_id, r.method,
                      r.path, e.what());
        resp = ErrorResponse(core::Error{
            core::ErrorCode::kInternal, "internal error; see the server log", {{"request_id", r.request_id}}});
    }
    const auto ms = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    spdlog::debug("event=request request_id={} method={} path={} status={} duration_us={}", r.request_id, r.method,
                  r.path, resp.status, ms.count());
    return resp;
}

net::Response Api::Dispatch(const net::Request& r) {
    if (!deps_.serve_api && r.path != "/healthz" && r.path != "/readyz" && r.path != "/metrics") {
        return ErrorResponse(core::Error{core::ErrorCode::kNotFound,
                                         "this node only publishes (herald worker): send API requests to a herald "
                                         "serve node",
                                         {}});
    }
    if (r.malformed_query) {
        return ErrorResponse(core::Error{core::ErrorCode::kInvalidArgument,
                                         "the query string has a malformed %-escape",
                                         {{"rule", "percent_encoding"}}});
    }
    const auto segments = Split(r.path);
    std::vector<std::string> allowed;
    for (const auto& route : routes_) {
        if (route.segments.size() != segments.size()) continue;
        Params params;
        bool match = true;
        for (size_t i = 0; i < segments.size() && match; ++i) {
            if (route.segments[i] == "{}") {
                auto decoded = net::PercentDecode(segments[i]);
                if (!decoded)
                    return ErrorResponse(core::Error{core::ErrorCode::kInvalidArgument, "malformed path", {}});
                params.push_back(*decoded);
            } else {
                match = route.segments[i] == segments[i];
            }
        }
        if (!match) continue;
        if (route.method != r.method) {
            allowed.push_back(route.method);
            continue;
        }
        // A form route takes multipart/form-data and says so itself, after authentication.
        if (!r.body.empty() && !route.form) {
            auto ct = r.Header("content-type");
            if (ct && ct->find("application/json") == std::string::npos) {
                return ErrorResponse(core::Error{core::ErrorCode::kUnsupportedMediaType,
                                                 "request body must be JSON (Content-Type: application/json)",
                                                 {{"rule", "content_type"}}});
            }
        }
        if (route.open) return route.open(r, params);
        auto who = Authenticate(r);
        if (!who) return ErrorResponse(who.error());
        // An upload's body is its files, already on disk: not something a key can replay.
        if (r.method == "POST" && r.Header("idempotency-key") && !r.multipart) {
            return WithIdempotency(r, *who, [&] { return route.authed(r, *who, params); });
        }
        return route.authed(r, *who, params);
    }
    if (!allowed.empty()) {
        std::string allow;
        for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
        auto resp = ErrorResponse(
            core::Error{core::ErrorCode::kMethodNotAllowed, r.method + " is not allowed here; use " + allow, {}});
        resp.headers.emplace_back("Allow", allow);
        return resp;
    }
    // Everything else a browser asks for is the dashboard's.
    if (r.method == "GET" && !deps_.web_dir.empty()) {
        if (auto page = net::ServeStatic(deps_.web_dir, r.path)) return std::move(*page);
    }
    return ErrorResponse(core::Error{core::ErrorCode::kNotFound, "no such endpoint: " + r.method + " " + r.path, {}});
}

std::optional<std::string> Api::AcceptEvents(const net::Request& r, net::Response& reject) {
    if (r.path != "/api/v1/events" || !deps_.serve_api) {
        reject = ErrorResponse(core::Error{core::ErrorCode::kNotFound, "no WebSocket endpoint at " + r.path, {}});
        return std::nullopt;
    }
    // Browsers cannot set headers on a WebSocket, so the token may also come as ?access_token=.
    core::Result<app::Principal> who = core::Fail(core::ErrorCode::kUnauthenticated, "");
    if (auto q = r.query.find("access_token"); q != r.query.end() && !r.Header("authorization")) {
        who = deps_.auth.Authenticate(q->second);
    } else {
        who = Authenticate(r);
    }
    if (!who) {
        reject = ErrorResponse(who.error());
        return std::nullopt;
    }
    return TopicFor(who->workspace_id);
}

}  // namespace herald::api
