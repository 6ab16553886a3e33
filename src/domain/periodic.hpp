#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "domain/cron.hpp"
#include "domain/job.hpp"

namespace herald::domain {

/// A job that recurs on a cron schedule: one row of periodic_jobs. Each tick that runs becomes
/// one ordinary job of `kind`, whose id is PeriodicJobId(name, tick).
struct PeriodicSchedule {
    std::string name;  ///< unique: "cleanup", "stalled_check", …
    JobKind kind = JobKind::kCleanup;
    std::string cron;  ///< five fields or a nickname, see CronSchedule::Parse
    std::string time_zone = "UTC";
    int priority = kDefaultPriority;
    int max_attempts = 3;
    bool enabled = true;
    std::optional<core::TimePoint> next_run_at;  ///< the tick to run next; unset: plan it from now
    std::optional<core::TimePoint> last_run_at;  ///< the last tick that was enqueued
};

/// Whether a schedule may be stored: a name, a task kind (publish jobs come from posts), priority
/// 1–10, at least one attempt, and a cron that parses in its time zone. Errors name the field.
core::Status CheckSchedule(const PeriodicSchedule& p);

/// What a due schedule does now.
struct TickPlan {
    /// The tick to enqueue: the latest tick at or before `now`. Ticks missed while nothing ran
    /// (the server was down) are coalesced into this one run; they are not run one by one.
    core::TimePoint tick;
    core::TimePoint next;    ///< the first tick after `now`: the schedule's new next_run_at
    bool coalesced = false;  ///< earlier ticks than `tick` were due and are skipped
};

/// Plans the run of a schedule whose next tick `due` is at or before `now`. When the cron has no
/// tick in [due, now] (an operator changed it since `due` was planned), `due` itself runs.
/// Fails only when the cron never fires again (see CronSchedule::Next) or `due` > `now`.
core::Result<TickPlan> PlanTick(const CronSchedule& schedule, core::TimePoint due, core::TimePoint now);

/// The id of the job that runs `tick` of schedule `name`: the same in every process, so the
/// database's primary key refuses a second copy of one tick.
std::string PeriodicJobId(std::string_view name, core::TimePoint tick);

}  // namespace herald::domain
