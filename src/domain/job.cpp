#include "domain/job.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace herald::domain {
namespace {

constexpr std::array<std::pair<JobKind, std::string_view>, 7> kKindNames = {{
    {JobKind::kPublish, "publish"},
    {JobKind::kRefreshToken, "refresh_token"},
    {JobKind::kSyncMetrics, "sync_metrics"},
    {JobKind::kHealthCheck, "health_check"},
    {JobKind::kCleanup, "cleanup"},
    {JobKind::kStalledCheck, "stalled_check"},
    {JobKind::kImport, "import"},
}};

constexpr std::array<std::pair<JobState, std::string_view>, 5> kStateNames = {{
    {JobState::kPending, "pending"},
    {JobState::kPaused, "paused"},
    {JobState::kRunning, "running"},
    {JobState::kDone, "done"},
    {JobState::kDead, "dead"},
}};

}  // namespace

std::string_view ToString(JobKind k) {
    for (const auto& [kind, name] : kKindNames) {
        if (kind == k) return name;
    }
    return "publish";
}

std::string_view ToString(JobState s) {
    for (const auto& [state, name] : kStateNames) {
        if (state == s) return name;
    }
    return "pending";
}

std::optional<JobKind> ParseJobKind(std::string_view name) {
    for (const auto& [kind, n] : kKindNames) {
        if (n == name) return kind;
    }
    return std::nullopt;
}

std::optional<JobState> ParseJobState(std::string_view name) {
    for (const auto& [state, n] : kStateNames) {
        if (n == name) return state;
    }
    return std::nullopt;
}

core::Millis RetryDelay(int attempts_done, core::Millis base) {
    const core::Millis cap = std::chrono::hours(24);
    core::Millis d = base;
    for (int i = 1; i < attempts_done && d < cap; ++i) d *= 2;
    return std::min(d, cap);
}

}  // namespace herald::domain
