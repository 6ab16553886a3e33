#pragma once

#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "app/ports.hpp"

namespace herald::queue {

/// Turns the due ticks of the periodic schedules (Store::ListPeriodic) into jobs. Every process
/// running a dispatcher runs one; the store's compare-and-set makes each tick run once
/// whichever process gets there first.
class PeriodicRunner {
  public:
    explicit PeriodicRunner(app::Store& store) : store_(store) {}

    struct Round {
        int queued = 0;                          ///< ticks this process queued
        std::optional<core::TimePoint> next_at;  ///< the earliest next tick of an enabled schedule
    };

    /// One pass at `now`. An enabled schedule whose next tick is due gets one job, for the
    /// latest tick at or before `now`: ticks missed while no process ran are coalesced into
    /// that one run, not run one by one. A schedule with no next tick (new, or changed by an
    /// operator) gets one planned from `now`. A schedule whose cron or zone does not parse is
    /// reported once and skipped. Store failures are logged; the other schedules still run.
    Round RunDue(core::TimePoint now);

  private:
    app::Store& store_;
    std::mutex mu_;
    std::set<std::string> reported_;  ///< "name|cron|zone" already logged as broken
};

/// Writes the built-in schedules at startup (Store::UpsertPeriodic), each first due at its
/// cron's next tick after `now`. Rows an operator changed keep their cron, zone and enabled.
core::Status RegisterPeriodic(app::Store& store, const std::vector<domain::PeriodicSchedule>& schedules,
                              core::TimePoint now);

}  // namespace herald::queue
