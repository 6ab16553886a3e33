#include "api/api.hpp"
#include "api/json_body.hpp"
#include "api/paging.hpp"
#include "app/json_views.hpp"

namespace herald::api {
namespace {

// Reads {account_id?, platform?, reason?}; an empty body means the whole workspace.
core::Result<app::PauseRequest> ReadPauseRequest(const net::Request& r, bool with_reason) {
    app::PauseRequest req;
    if (r.body.empty()) return req;
    auto body = JsonBody::Parse(r.body);
    if (!body) return tl::unexpected(body.error());
    req.account_id = body->OptString("account_id");
    req.platform = body->OptString("platform");
    if (with_reason) req.reason = body->OptString("reason");
    if (auto ok = body->Finish(); !ok) return tl::unexpected(ok.error());
    return req;
}

}  // namespace

net::Response Api::QueueStats(const net::Request& r, const app::Principal& who, const Params&) {
    if (!r.query.empty()) {
        const auto& key = r.query.begin()->first;
        return ErrorResponse(
            core::FieldError(key, "unknown_parameter", "unknown query parameter '" + key + "' (none are known)")
                .value());
    }
    auto stats = deps_.queue.Stats(who);
    if (!stats) return ErrorResponse(stats.error());
    return JsonResponse(200, app::ToJson(*stats));
}

net::Response Api::ListJobs(const net::Request& r, const app::Principal& who, const Params&) {
    app::JobFilter f;
    for (const auto& [key, value] : r.query) {
        if (key == "state") {
            static const std::vector<std::string> kStates = {"pending", "paused", "running", "dead", "done"};
            if (std::find(kStates.begin(), kStates.end(), value) == kStates.end()) {
                return ErrorResponse(
                    core::FieldError("state", "enum", "state must be one of pending, paused, running, dead, done")
                        .value());
            }
            f.state = value;
        } else if (key == "kind") {
            f.kind = value;
        } else if (key == "account_id") {
            f.account_id = value;
        } else if (key == "platform") {
            f.platform = value;
        } else if (key == "cursor" || key == "limit") {
            if (auto ok = ReadPagingParam(key, value, !value.empty() && value.size() <= 200, f.after_id, f.limit);
                !ok) {
                return ErrorResponse(ok.error());
            }
        } else {
            return ErrorResponse(core::FieldError(key, "unknown_parameter",
                                                  "unknown query parameter '" + key +
                                                      "' (known: state, kind, account_id, platform, cursor, limit)")
                                     .value());
        }
    }
    const int page = f.limit;
    f.limit = page + 1;
    auto jobs = deps_.queue.ListJobs(who, f);
    if (!jobs) return ErrorResponse(jobs.error());
    return JsonResponse(200, Page(*jobs, page, [](const app::JobView& j) { return app::ToJson(j); }));
}

net::Response Api::GetJob(const net::Request&, const app::Principal& who, const Params& p) {
    auto job = deps_.queue.GetJob(who, p[0]);
    if (!job) return ErrorResponse(job.error());
    return JsonResponse(200, app::ToJson(*job));
}

net::Response Api::RequeueJob(const net::Request& r, const app::Principal& who, const Params& p) {
    if (auto ok = JsonBody::Empty(r.body); !ok) return ErrorResponse(ok.error());
    auto job = deps_.queue.Requeue(who, p[0]);
    if (!job) return ErrorResponse(job.error());
    return JsonResponse(200, app::ToJson(*job));
}

net::Response Api::CancelJob(const net::Request& r, const app::Principal& who, const Params& p) {
    if (auto ok = JsonBody::Empty(r.body); !ok) return ErrorResponse(ok.error());
    auto job = deps_.queue.Cancel(who, p[0]);
    if (!job) return ErrorResponse(job.error());
    return JsonResponse(200, app::ToJson(*job));
}

net::Response Api::ListPauses(const net::Request&, const app::Principal& who, const Params&) {
    auto pauses = deps_.queue.ListPauses(who);
    if (!pauses) return ErrorResponse(pauses.error());
    nlohmann::json items = nlohmann::json::array();
    for (const auto& p : *pauses) items.push_back(app::ToJson(p));
    return JsonResponse(200, {{"items", items}});
}

net::Response Api::PauseQueue(const net::Request& r, const app::Principal& who, const Params&) {
    auto req = ReadPauseRequest(r, /*with_reason=*/true);
    if (!req) return ErrorResponse(req.error());
    auto pause = deps_.queue.Pause(who, *req);
    if (!pause) return ErrorResponse(pause.error());
    return JsonResponse(200, app::ToJson(*pause));
}

net::Response Api::ResumeQueue(const net::Request& r, const app::Principal& who, const Params&) {
    auto req = ReadPauseRequest(r, /*with_reason=*/false);
    if (!req) return ErrorResponse(req.error());
    auto resumed = deps_.queue.Resume(who, *req);
    if (!resumed) return ErrorResponse(resumed.error());
    return JsonResponse(200, {{"jobs_resumed", *resumed}});
}

net::Response Api::PrometheusMetrics(const net::Request&, const Params&) {
    auto stats = deps_.store.GetQueueStats(std::nullopt, deps_.clock.Now());
    if (!stats) return ErrorResponse(stats.error());
    static const queue::Metrics kNone;
    const auto& metrics = deps_.metrics != nullptr ? *deps_.metrics : kNone;
    return net::Response{200, "text/plain; version=0.0.4", metrics.Render(*stats), {}};
}

}  // namespace herald::api
