#include "app/queue_service.hpp"

#include <spdlog/spdlog.h>

#include "app/json_views.hpp"
#include "domain/time.hpp"

namespace herald::app {

core::Result<std::vector<JobView>> QueueService::ListJobs(const Principal& p, JobFilter filter) {
    filter.workspace_id = p.workspace_id;
    return store_.ListJobs(filter);
}

core::Result<JobView> QueueService::GetJob(const Principal& p, const std::string& id) {
    return store_.GetJob(p.workspace_id, id);
}

void QueueService::EmitJob(const std::string& workspace_id, const std::string& type, const JobView& job) {
    events_.Publish(Event{workspace_id, type, ToJson(job).dump()});
    // Requeued or cancelled, its delivery changed state, so its post did too.
    if (job.post_id) {
        if (auto post = store_.GetPost(workspace_id, *job.post_id)) {
            events_.Publish(Event{workspace_id, "post.updated", ToJson(*post).dump()});
        }
    }
}

core::Result<JobView> QueueService::Requeue(const Principal& p, const std::string& id) {
    if (auto ok = Require(p, domain::Role::kEditor); !ok) return tl::unexpected(ok.error());
    auto job = store_.RequeueJob(p.workspace_id, id, clock_.Now());
    if (!job) return job;
    spdlog::info("event=job_requeued workspace_id={} job_id={} kind={}", p.workspace_id, id, job->kind);
    EmitJob(p.workspace_id, "job.requeued", *job);
    return job;
}

core::Result<JobView> QueueService::Cancel(const Principal& p, const std::string& id) {
    if (auto ok = Require(p, domain::Role::kEditor); !ok) return tl::unexpected(ok.error());
    auto job = store_.CancelJob(p.workspace_id, id, clock_.Now());
    if (!job) return job;
    spdlog::info("event=job_cancelled workspace_id={} job_id={} kind={}", p.workspace_id, id, job->kind);
    EmitJob(p.workspace_id, "job.cancelled", *job);
    return job;
}

core::Result<domain::Post> QueueService::CancelPost(const Principal& p, const std::string& post_id,
                                                    const std::optional<std::string>& delivery_id) {
    if (auto ok = Require(p, domain::Role::kEditor); !ok) return tl::unexpected(ok.error());
    auto post = store_.CancelDeliveries(p.workspace_id, post_id, delivery_id, clock_.Now());
    if (!post) return post;
    spdlog::info("event=post_cancelled workspace_id={} post_id={} delivery_id={} status={}", p.workspace_id, post_id,
                 delivery_id.value_or("all"), domain::ToString(post->status));
    events_.Publish(Event{p.workspace_id, "post.updated", ToJson(*post).dump()});
    return post;
}

core::Result<PauseScope> QueueService::ScopeFor(const Principal& p, const PauseRequest& r) {
    if (r.account_id && r.platform) {
        return core::FieldError("platform", "one_of", "pause either one account or one platform, not both");
    }
    if (r.reason && r.reason->size() > 500) {
        return core::FieldError("reason", "max_length", "reason must be at most 500 characters");
    }
    if (r.account_id) {
        auto account = store_.GetAccount(p.workspace_id, *r.account_id);
        if (!account) {
            if (account.error().code == core::ErrorCode::kNotFound) {
                return core::FieldError("account_id", "existing_account",
                                        "no account " + *r.account_id + " in this workspace");
            }
            return tl::unexpected(account.error());
        }
    }
    if (r.platform && platforms_.Find(*r.platform) == nullptr) {
        return core::FieldError("platform", "known_platform", "no platform called " + *r.platform + " on this server");
    }
    return PauseScope{p.workspace_id, r.account_id, r.platform};
}

core::Result<PauseRecord> QueueService::Pause(const Principal& p, const PauseRequest& request) {
    if (auto ok = Require(p, domain::Role::kAdmin); !ok) return tl::unexpected(ok.error());
    auto scope = ScopeFor(p, request);
    if (!scope) return tl::unexpected(scope.error());
    auto pause = store_.Pause(*scope, request.reason, p.user_id, clock_.Now());
    if (!pause) return pause;
    spdlog::info("event=queue_paused workspace_id={} account_id={} platform={} jobs_paused={}", p.workspace_id,
                 request.account_id.value_or("-"), request.platform.value_or("-"), pause->jobs_paused);
    events_.Publish(Event{p.workspace_id, "queue.paused", ToJson(*pause).dump()});
    return pause;
}

core::Result<int64_t> QueueService::Resume(const Principal& p, const PauseRequest& request) {
    if (auto ok = Require(p, domain::Role::kAdmin); !ok) return tl::unexpected(ok.error());
    auto scope = ScopeFor(p, request);
    if (!scope) return tl::unexpected(scope.error());
    auto resumed = store_.Resume(*scope, clock_.Now());
    if (!resumed) return resumed;
    spdlog::info("event=queue_resumed workspace_id={} account_id={} platform={} jobs_resumed={}", p.workspace_id,
                 request.account_id.value_or("-"), request.platform.value_or("-"), *resumed);
    const char* what = scope->account_id ? "account" : scope->platform ? "platform" : "workspace";
    const auto opt = [](const std::optional<std::string>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
    const nlohmann::json data = {{"scope", what},
                                 {"account_id", opt(scope->account_id)},
                                 {"platform", opt(scope->platform)},
                                 {"resumed_at", domain::FormatRfc3339(clock_.Now())},
                                 {"jobs_resumed", *resumed}};
    events_.Publish(Event{p.workspace_id, "queue.resumed", data.dump()});
    return resumed;
}

core::Result<std::vector<PauseRecord>> QueueService::ListPauses(const Principal& p) {
    return store_.ListPauses(p.workspace_id);
}

core::Result<QueueStats> QueueService::Stats(const Principal& p) {
    return store_.GetQueueStats(p.workspace_id, clock_.Now());
}

}  // namespace herald::app
