#pragma once

#include "app/ports.hpp"

namespace herald::app {

struct MaintenanceSettings {
    /// Finished jobs stay in the history this long (config history_retention_days); dead tasks
    /// too. Dead publish jobs stay until a person resolves their delivery.
    core::Millis history_retention = std::chrono::hours(24 * 30);
    /// Work waiting longer than this is reported as stalled (config ready_max_lag_seconds, the
    /// same lag that fails /readyz).
    core::Millis stalled_after = std::chrono::seconds(60);
    /// Rows deleted per transaction, so the writer lock is never held for long.
    int purge_chunk = 1000;
    /// Most findings of each sort reported by one stalled check.
    int report_limit = 100;
};

/// The housekeeping tasks behind the built-in periodic jobs, written against the Store port.
class Maintenance {
  public:
    Maintenance(Store& store, MaintenanceSettings settings) : store_(store), settings_(settings) {}

    struct CleanupReport {
        int history = 0;           ///< job_history rows past the retention
        int dead_tasks = 0;        ///< dead jobs of other kinds than publish, past the retention
        int refresh_tokens = 0;    ///< tokens of login families that can no longer be used
        int idempotency_keys = 0;  ///< Idempotency-Key answers older than a day
    };
    /// Purges, in chunks, what has outlived the retention at `now`. Safe to run again at any
    /// point: each chunk is its own transaction.
    core::Result<CleanupReport> Cleanup(core::TimePoint now);

    /// Finds work that should have moved on and did not (Store::FindStalledWork) and logs one
    /// warning per finding. Changes nothing: rescuing expired leases is the dispatcher's job.
    core::Result<StalledWork> StalledCheck(core::TimePoint now);

  private:
    Store& store_;
    MaintenanceSettings settings_;
};

}  // namespace herald::app
