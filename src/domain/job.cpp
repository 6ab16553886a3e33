#include "domain/job.hpp"

#include <algorithm>

namespace herald::domain {

std::string_view ToString(JobKind k) {
    switch (k) {
        case JobKind::kPublish:
            return "publish";
    }
    return "publish";
}

std::string_view ToString(JobState s) {
    switch (s) {
        case JobState::kPending:
            return "pending";
        case JobState::kPaused:
            return "paused";
        case JobState::kRunning:
            return "running";
        case JobState::kDone:
            return "done";
        case JobState::kDead:
            return "dead";
    }
    return "pending";
}

core::Millis RetryDelay(int attempts_done, core::Millis base) {
    const core::Millis cap = std::chrono::hours(24);
    core::Millis d = base;
    for (int i = 1; i < attempts_done && d < cap; ++i) d *= 2;
    return std::min(d, cap);
}

}  // namespace herald::domain
