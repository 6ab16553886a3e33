#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace herald::domain {

/// What a job does. Publish jobs point at a delivery and run through the publishing pipeline;
/// every other kind is a task the host registers a handler for (queue::TaskRegistry).
enum class JobKind {
    kPublish,
    kRefreshToken,  ///< renew an account's platform token before it expires
    kSyncMetrics,   ///< fetch analytics from the platforms
    kHealthCheck,   ///< check that connected accounts still work
    kCleanup,       ///< purge history past its retention and dead sessions
    kStalledCheck,  ///< report work that should have moved on and did not
    kImport,        ///< bulk import of posts
};
enum class JobState { kPending, kPaused, kRunning, kDone, kDead };

std::string_view ToString(JobKind k);
std::string_view ToString(JobState s);
/// The kind a name stands for ("publish", "refresh_token", "sync_metrics", "health_check",
/// "cleanup", "stalled_check", "import"); nullopt for anything else.
std::optional<JobKind> ParseJobKind(std::string_view name);
std::optional<JobState> ParseJobState(std::string_view name);

inline constexpr int kMinPriority = 1;
inline constexpr int kMaxPriority = 10;
inline constexpr int kDefaultPriority = 5;

/// A unit of queued work. A publish job points at one delivery; other kinds have no delivery
/// (empty delivery_id, usually no workspace) and carry their input in `payload`.
struct Job {
    std::string id;
    JobKind kind = JobKind::kPublish;
    std::string workspace_id;
    std::string delivery_id;
    JobState state = JobState::kPending;
    int priority = 5;
    int attempts = 0;  ///< attempts started so far, this one included once claimed
    int max_attempts = 3;
    core::TimePoint due_at{};
    std::optional<core::TimePoint> lease_until;
    bool uncertain = false;  ///< an earlier attempt may have reached the platform
    std::string payload;     ///< JSON text for tasks; empty for publish jobs
};

/// Exponential backoff: `base` before the 2nd attempt, 2×base before the 3rd, and so on,
/// capped at one day. `attempts_done` ≥ 1.
core::Millis RetryDelay(int attempts_done, core::Millis base);

}  // namespace herald::domain
