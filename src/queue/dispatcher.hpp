#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "app/ports.hpp"
#include "auth/vault.hpp"
#include "queue/decide.hpp"

namespace herald::queue {

struct DispatcherSettings {
    int workers = 4;
    core::Millis lease = std::chrono::minutes(5);
    RetryPolicy retry;
    /// Longest the scheduler sleeps without a reason; it normally wakes exactly at the next due
    /// time or on Notify(). This only bounds the damage of a missed wake-up.
    core::Millis max_idle = std::chrono::seconds(30);
};

/// The scheduler and its workers. The scheduler sleeps until the next job is due (or Notify()),
/// claims due jobs in a batch, and hands them to workers, which publish through the adapter and
/// record the outcome in one transaction.
class Dispatcher {
  public:
    Dispatcher(app::Store& store, const core::Clock& clock, const app::PlatformRegistry& platforms,
               app::EventSink& events, const auth::TokenVault& vault, DispatcherSettings settings);
    ~Dispatcher();

    /// Starts the scheduler and workers. With `sole_owner`, leases left by a previous run are
    /// rescued at once instead of after they expire (see Store::RescueAllLeases).
    void Start(bool sole_owner = false);
    /// Something was scheduled or changed: re-read the next due time now.
    void Notify();
    /// Stops claiming, lets running jobs finish for up to `grace`, hands back claimed jobs that
    /// never started. Returns true when nothing was left running.
    bool Stop(core::Millis grace);

    /// One synchronous round (rescue, claim, run every claimed job on this thread), for tests
    /// driven by a fake clock. Returns how many jobs ran. Not for use while Start()ed.
    int RunOnce();

    bool running() const { return running_.load(); }

  private:
    void SchedulerLoop();
    void WorkerLoop();
    void Rescue();
    void Run(const app::ClaimedJob& job);
    // For a job whose earlier attempt may have landed: the outcome to record without sending,
    // or nullopt when sending (again) is safe.
    std::optional<app::PublishOutcome> Reconcile(app::PlatformAdapter& adapter, const app::PublishCapabilities& caps,
                                                 const app::PublishRequest& req);
    void EmitChange(const app::DeliveryChange& c);

    app::Store& store_;
    const core::Clock& clock_;
    const app::PlatformRegistry& platforms_;
    app::EventSink& events_;
    const auth::TokenVault& vault_;
    DispatcherSettings settings_;

    std::mutex mu_;
    std::condition_variable scheduler_cv_;
    std::condition_variable worker_cv_;
    std::condition_variable idle_cv_;
    std::deque<app::ClaimedJob> ready_;
    int busy_ = 0;
    bool notified_ = false;
    bool stopping_ = false;
    std::atomic<bool> running_{false};
    std::thread scheduler_;
    std::vector<std::thread> workers_;
};

}  // namespace herald::queue
