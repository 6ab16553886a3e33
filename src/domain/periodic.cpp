#include "domain/periodic.hpp"

#include <algorithm>

namespace herald::domain {

core::Status CheckSchedule(const PeriodicSchedule& p) {
    if (p.name.empty()) return core::FieldError("name", "required", "a periodic schedule needs a name");
    if (p.kind == JobKind::kPublish) {
        return core::FieldError("kind", "task_kind", "publish jobs come from posts, not from a periodic schedule");
    }
    if (p.priority < kMinPriority || p.priority > kMaxPriority || p.max_attempts < 1) {
        return core::FieldError("priority", "range", "priority must be 1-10 and max attempts at least 1");
    }
    if (auto parsed = CronSchedule::Parse(p.cron, p.time_zone); !parsed) {
        return tl::unexpected(parsed.error());
    }
    return {};
}

core::Result<TickPlan> PlanTick(const CronSchedule& schedule, core::TimePoint due, core::TimePoint now) {
    using namespace std::chrono_literals;
    if (due > now) {
        return core::Fail(core::ErrorCode::kInvalidArgument, "the schedule's next tick is not due yet");
    }
    TickPlan plan{due, due, false};
    // CronSchedule only looks forward. Find the latest tick in [due, now] by looking back from
    // `now` over windows that double in size: a handful of Next calls however long the gap (a
    // year of a once-a-minute cron is not walked minute by minute).
    for (core::Millis window = 1min;; window *= 2) {
        const bool reached_due = now - due < window;
        const core::TimePoint start = reached_due ? due - 1ms : now - window;  // Next is strictly after
        auto first = schedule.Next(start);
        if (!first) return tl::unexpected(first.error());
        if (*first <= now) {
            // The half window after this one had no tick, so this walk stays short.
            plan.tick = *first;
            while (true) {
                auto n = schedule.Next(plan.tick);
                if (!n) return tl::unexpected(n.error());
                if (*n > now) break;
                plan.tick = *n;
            }
            break;
        }
        if (reached_due) break;  // no tick of this cron in [due, now]: run the planned one
    }
    auto next = schedule.Next(now);
    if (!next) return tl::unexpected(next.error());
    plan.next = *next;
    plan.coalesced = plan.tick > due;
    return plan;
}

std::string PeriodicJobId(std::string_view name, core::TimePoint tick) {
    return "periodic:" + std::string(name) + ":" + std::to_string(core::ToUnixMillis(tick));
}

}  // namespace herald::domain
