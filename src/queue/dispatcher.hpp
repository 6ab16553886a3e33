#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "app/credentials.hpp"
#include "app/ports.hpp"
#include "auth/vault.hpp"
#include "queue/decide.hpp"
#include "queue/group_commit.hpp"
#include "queue/periodic.hpp"
#include "queue/tasks.hpp"

namespace herald::queue {

/// One finished attempt, as seen by the dispatcher (for metrics, benchmarks and tests).
struct AttemptReport {
    std::string job_id;
    std::string delivery_id;
    std::string platform;
    core::TimePoint due_at{};
    core::TimePoint started_at{};   ///< when the platform call began (or the decision without one)
    core::TimePoint finished_at{};  ///< when the outcome was recorded
    domain::DeliveryStatus status = domain::DeliveryStatus::kScheduled;
};

struct DispatcherSettings {
    int workers = 4;
    /// Most jobs a worker takes at once when work piles up: they are marked, sent (through
    /// PlatformAdapter::PublishBatch) and recorded together, one transaction each step. When
    /// the queue is quiet a worker takes one job at a time.
    int worker_batch = 256;
    /// Most jobs claimed in one statement.
    int claim_batch = 2048;
    /// A claimed job is leased for this long and the lease is renewed (heartbeat) every third
    /// of it while the job is held; a lease that runs out means its worker died.
    core::Millis lease = std::chrono::seconds(60);
    RetryPolicy retry;  ///< for publish jobs
    /// Handlers and retry policies of the other kinds of job (cleanup, stalled check, …).
    TaskRegistry tasks;
    /// Longest the scheduler sleeps without a reason; it normally wakes exactly at the next due
    /// time or on Notify(). This bounds the damage of a missed wake-up, and how long work that
    /// another process (the CLI) made due waits to be noticed.
    core::Millis max_idle = std::chrono::seconds(5);
    /// The platforms' posting limits (the operator's table); nullptr: the shipped defaults.
    /// Must outlive the dispatcher.
    const ratelimit::LimitTable* limits = nullptr;
    /// Called after each recorded attempt, on a worker thread. Must be quick. A job the limits
    /// deferred is reported too, with status rate_limited.
    std::function<void(const AttemptReport&)> on_attempt;
    /// Reads the media of posts that carry some; nullptr: such posts are refused, saying this
    /// node has no media store. Must outlive the dispatcher.
    app::MediaResolver* media = nullptr;
    /// Renews OAuth grants that expired or that a platform refused (then the post is sent
    /// once more); nullptr: a refused token holds the account for reconnection at once.
    app::CredentialKeeper* credentials = nullptr;
};

/// The scheduler and its workers. The scheduler sleeps until the next job or periodic tick is
/// due (or Notify()), queues due periodic ticks, claims due jobs in a batch, and hands them to
/// workers. Publish jobs are sent through the adapter and recorded in one transaction per
/// batch; other kinds run one at a time through their TaskRegistry handler.
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
    /// The earliest due time among jobs this dispatcher has claimed and not yet started (they
    /// wait for a free worker); none when every claimed job is running.
    std::optional<core::TimePoint> OldestWaitingDue() const;

  private:
    void SchedulerLoop();
    void WorkerLoop();
    void Rescue();
    void Heartbeat();
    void RunBatch(const std::vector<app::ClaimedJob>& jobs);
    void RunTask(const app::ClaimedJob& job);
    // Queues due periodic ticks and notes when to look again.
    void RunPeriodic(core::TimePoint now);
    core::Result<std::vector<app::ClaimedJob>> Claim(core::TimePoint now, int limit);
    /// Fills `req.media` from the post's media ids; an outcome when that fails (an item deleted
    /// since: rejected; the store not answering: retried).
    std::optional<app::PublishOutcome> AttachMedia(const app::ClaimedJob& c, app::PublishRequest& req);
    /// Renews the job's account's OAuth grant into `credentials`: nullopt when it worked, else
    /// the outcome to record (AuthExpired when the grant is gone, Retryable when the platform
    /// could not be asked).
    std::optional<app::PublishOutcome> RenewGrant(const app::ClaimedJob& c, std::string& credentials);
    // For a job whose earlier attempt may have landed: the outcome to record without sending,
    // or nullopt when sending (again) is safe.
    std::optional<app::PublishOutcome> Reconcile(app::PlatformAdapter& adapter, const app::PublishCapabilities& caps,
                                                 const app::PublishRequest& req);
    void EmitChange(const app::DeliveryChange& c);
    // Asks for rate-limit permits for the jobs whose account has a limit (or a platform hold):
    // sets `permit` for those granted, `skip` for those deferred or no longer ours, and
    // `refused` (why) for those that can never go (they fail without a platform call).
    void TakePermits(const std::vector<app::ClaimedJob>& jobs, std::vector<bool>& permit, std::vector<bool>& skip,
                     std::vector<std::optional<std::string>>& refused);
    ratelimit::Limits LimitFor(const app::ClaimedJob& c, core::TimePoint now);
    bool Held(const std::string& account_id, core::TimePoint now);
    double Jitter();

    app::Store& store_;
    const core::Clock& clock_;
    const app::PlatformRegistry& platforms_;
    app::EventSink& events_;
    const auth::TokenVault& vault_;
    DispatcherSettings settings_;
    /// Workers marking at the same moment share one synced commit; so do workers recording.
    GroupCommit<std::string, std::optional<app::DeliveryChange>> marks_;
    GroupCommit<app::Store::Completion, app::DeliveryChange> records_;
    GroupCommit<app::PermitRequest, app::PermitDecision> permits_;
    /// Parsed workspace limit settings, by their JSON text; and platform holds (429) this
    /// process has seen, by account: a held account's jobs ask for a permit even without caps.
    std::mutex limits_mu_;
    std::unordered_map<std::string, ratelimit::WorkspaceLimits> workspace_limits_;
    std::unordered_map<std::string, core::TimePoint> holds_;

    mutable std::mutex mu_;
    std::condition_variable scheduler_cv_;
    std::condition_variable worker_cv_;
    std::condition_variable idle_cv_;
    std::deque<app::ClaimedJob> ready_;
    std::unordered_set<std::string> held_;  ///< claimed and not yet recorded: leases to renew
    int busy_ = 0;                          ///< workers running a batch
    int busy_jobs_ = 0;                     ///< jobs in those batches
    bool notified_ = false;
    bool stopping_ = false;
    std::atomic<bool> running_{false};
    core::TimePoint last_heartbeat_{};
    PeriodicRunner periodic_;
    /// Scheduler thread only: the next periodic tick, or the latest moment to re-read the
    /// schedules (an operator or another process may have changed them).
    core::TimePoint next_periodic_check_{};
    std::mutex rng_mu_;
    std::mt19937_64 rng_{std::random_device{}()};
    std::thread scheduler_;
    std::vector<std::thread> workers_;
};

}  // namespace herald::queue
