#pragma once

#include <optional>
#include <string>
#include <vector>

#include "app/ports.hpp"
#include "app/principal.hpp"

namespace herald::app {

/// What a person pauses in their workspace: all of it, one account, or one platform.
struct PauseRequest {
    std::optional<std::string> account_id;
    std::optional<std::string> platform;
    std::optional<std::string> reason;
};

/// Operating the queue from the API: jobs, dead jobs, cancel, pause and resume, statistics.
/// Everything is scoped to the caller's workspace; the installation-wide variants are for the
/// operator's CLI, which calls the Store directly.
class QueueService {
  public:
    QueueService(Store& store, const core::Clock& clock, const PlatformRegistry& platforms, EventSink& events)
        : store_(store), clock_(clock), platforms_(platforms), events_(events) {}

    core::Result<std::vector<JobView>> ListJobs(const Principal& p, JobFilter filter);
    core::Result<JobView> GetJob(const Principal& p, const std::string& id);
    core::Result<JobView> Requeue(const Principal& p, const std::string& id);
    core::Result<JobView> Cancel(const Principal& p, const std::string& id);
    /// Cancels a post's unsent deliveries, or one of them.
    core::Result<domain::Post> CancelPost(const Principal& p, const std::string& post_id,
                                          const std::optional<std::string>& delivery_id);
    core::Result<PauseRecord> Pause(const Principal& p, const PauseRequest& request);
    core::Result<int64_t> Resume(const Principal& p, const PauseRequest& request);
    core::Result<std::vector<PauseRecord>> ListPauses(const Principal& p);
    core::Result<QueueStats> Stats(const Principal& p);

  private:
    core::Result<PauseScope> ScopeFor(const Principal& p, const PauseRequest& request);
    /// Publishes the job event, then post.updated for the job's post (if it has one).
    void EmitJob(const std::string& workspace_id, const std::string& type, const JobView& job);

    Store& store_;
    const core::Clock& clock_;
    const PlatformRegistry& platforms_;
    EventSink& events_;
};

}  // namespace herald::app
