#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace herald::domain {

enum class JobKind { kPublish };
enum class JobState { kPending, kPaused, kRunning, kDone, kDead };

std::string_view ToString(JobKind k);
std::string_view ToString(JobState s);

inline constexpr int kMinPriority = 1;
inline constexpr int kMaxPriority = 10;
inline constexpr int kDefaultPriority = 5;

/// A unit of queued work. A publish job points at one delivery.
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
};

/// Exponential backoff: `base` before the 2nd attempt, 2×base before the 3rd, and so on,
/// capped at one day. `attempts_done` ≥ 1.
core::Millis RetryDelay(int attempts_done, core::Millis base);

}  // namespace herald::domain
