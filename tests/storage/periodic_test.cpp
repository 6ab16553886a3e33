// Periodic schedules and tasks end to end: PeriodicRunner and Dispatcher::RunOnce against a real
// SQLite store, with handlers from a TaskRegistry. Time moves only when a test sets the fake
// clock; nothing sleeps.

#include "domain/periodic.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "app/maintenance.hpp"
#include "app/ports.hpp"
#include "auth/vault.hpp"
#include "core/clock.hpp"
#include "domain/time.hpp"
#include "platforms/registry.hpp"
#include "queue/dispatcher.hpp"
#include "queue/periodic.hpp"
#include "scratch_database.hpp"
#include "storage/store.hpp"

namespace herald::queue {
namespace {

using core::TimePoint;
using domain::JobKind;
using domain::JobState;
using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TimePoint At(const char* rfc3339) {
    auto t = domain::ParseRfc3339(rfc3339);
    EXPECT_TRUE(t.has_value()) << rfc3339;
    return t ? *t : TimePoint{};
}

std::string Iso(TimePoint t) { return domain::FormatRfc3339(t); }

class NoEvents final : public app::EventSink {
  public:
    void Publish(const app::Event&) override {}
};

auth::SecretKey FixedKey() {
    auth::SecretKey key;
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<unsigned char>(i * 5 + 3);
    return key;
}

domain::PeriodicSchedule Every(const std::string& name, const std::string& cron, const std::string& zone = "UTC",
                               JobKind kind = JobKind::kCleanup) {
    domain::PeriodicSchedule s;
    s.name = name;
    s.kind = kind;
    s.cron = cron;
    s.time_zone = zone;
    s.max_attempts = 3;
    return s;
}

/// What a handler saw, one entry per attempt.
struct Calls {
    void Add(const TaskContext& ctx) {
        std::lock_guard lock(mu);
        jobs.push_back(ctx.job);
        at.push_back(ctx.now);
    }
    std::mutex mu;
    std::vector<domain::Job> jobs;
    std::vector<TimePoint> at;
};

class PeriodicFlow : public ::testing::TestWithParam<std::string> {
  protected:
    PeriodicFlow() : clock_(At("2026-01-05T12:00:00Z")), vault_(FixedKey()) {}

    void SetUp() override {
        auto opened = storage::OpenStore(db_.url(), storage::StoreOptions{3});
        ASSERT_TRUE(opened.has_value()) << opened.error().message;
        store_ = std::move(*opened);
        registry_ = platforms::BuiltinRegistry(*store_, clock_);
    }

    // Handlers are registered first, then the dispatcher is made with them.
    Dispatcher& dispatcher() {
        if (!dispatcher_) {
            DispatcherSettings settings;
            settings.workers = 1;
            settings.lease = 5min;
            settings.tasks = tasks_;
            dispatcher_ = std::make_unique<Dispatcher>(*store_, clock_, *registry_, events_, vault_, settings);
        }
        return *dispatcher_;
    }

    void CountCalls(JobKind kind, Calls& calls, RetryPolicy retry = {3, 1min, 0.0}) {
        tasks_.Register(
            kind,
            [&calls](const TaskContext& ctx) -> core::Status {
                calls.Add(ctx);
                return {};
            },
            retry);
    }

    int RunAt(TimePoint at) {
        clock_.Set(at);
        return dispatcher().RunOnce();
    }

    void Register(const domain::PeriodicSchedule& s) {
        auto ok = RegisterPeriodic(*store_, {s}, clock_.Now());
        ASSERT_TRUE(ok.has_value()) << ok.error().message;
    }

    domain::PeriodicSchedule Read(const std::string& name) {
        auto all = store_->ListPeriodic();
        EXPECT_TRUE(all.has_value());
        for (const auto& s : all ? *all : std::vector<domain::PeriodicSchedule>{}) {
            if (s.name == name) return s;
        }
        ADD_FAILURE() << "no schedule " << name;
        return {};
    }

    std::optional<app::JobRecord> Job(const std::string& id) {
        auto found = store_->FindJob(id);
        EXPECT_TRUE(found.has_value()) << found.error().message;
        return found ? *found : std::nullopt;
    }

    // Runs `name` tick by tick from its registration, `n` times; returns the instants the
    // handler ran at, in RFC 3339.
    std::vector<std::string> RunTicks(const std::string& name, int n) {
        std::vector<std::string> out;
        for (int i = 0; i < n; ++i) {
            const auto next = Read(name).next_run_at;
            if (!next) {
                ADD_FAILURE() << name << " has no next run";
                break;
            }
            EXPECT_EQ(RunAt(*next - 1ms), 0) << "ran early, before " << Iso(*next);
            EXPECT_EQ(RunAt(*next), 1) << "did not run at " << Iso(*next);
            EXPECT_EQ(Read(name).last_run_at, next);
            out.push_back(Iso(*next));
        }
        return out;
    }

    test_support::ScratchDb db_{GetParam()};
    core::FakeClock clock_;
    auth::TokenVault vault_;
    NoEvents events_;
    std::unique_ptr<app::Store> store_;
    std::unique_ptr<platforms::Registry> registry_;
    TaskRegistry tasks_;
    std::unique_ptr<Dispatcher> dispatcher_;
};

// ---- exactly once ---------------------------------------------------------------------------

TEST_P(PeriodicFlow, TwoProcessesRunEveryTickExactlyOnce) {
    // Two stores on one database file, each with its own runner, stand for two processes. At
    // every tick both wake at the same moment, queue what is due and claim what they can.
    auto opened = storage::OpenStore(db_.url(), storage::StoreOptions{3});
    ASSERT_TRUE(opened.has_value());
    std::unique_ptr<app::Store> second = std::move(*opened);
    std::array<app::Store*, 2> stores = {store_.get(), second.get()};
    std::array<std::unique_ptr<PeriodicRunner>, 2> runners = {std::make_unique<PeriodicRunner>(*stores[0]),
                                                              std::make_unique<PeriodicRunner>(*stores[1])};
    Register(Every("race", "* * * * *"));
    const TimePoint first = *Read("race").next_run_at;

    constexpr int kTicks = 50;
    int queued_total = 0;
    for (int i = 0; i < kTicks; ++i) {
        const TimePoint tick = first + 1min * i;
        std::atomic<int> gate{0};
        std::array<int, 2> queued{0, 0};
        std::array<size_t, 2> claimed{0, 0};
        auto process = [&](int k) {
            gate.fetch_add(1);
            while (gate.load() < 2) {
            }
            queued[k] = runners[k]->RunDue(tick).queued;
            gate.fetch_add(1);
            while (gate.load() < 4) {
            }
            auto jobs = stores[k]->ClaimDueJobs(tick, 10, tick + 1min);
            if (!jobs) return;
            claimed[k] = jobs->size();
            for (const auto& c : *jobs) stores[k]->CompleteTask(c.job.id, c.job.attempts, app::TaskOutcome{}, tick);
        };
        std::thread a(process, 0), b(process, 1);
        a.join();
        b.join();
        ASSERT_EQ(queued[0] + queued[1], 1) << "tick " << Iso(tick);
        ASSERT_EQ(claimed[0] + claimed[1], 1u) << "tick " << Iso(tick);
        queued_total += queued[0] + queued[1];
        auto record = Job(domain::PeriodicJobId("race", tick));
        ASSERT_TRUE(record.has_value()) << Iso(tick);
        EXPECT_EQ(record->job.state, JobState::kDone);
        EXPECT_EQ(record->job.attempts, 1);
    }
    EXPECT_EQ(queued_total, kTicks);
    EXPECT_EQ(Read("race").next_run_at, first + 1min * kTicks);
}

// ---- time zones and DST ---------------------------------------------------------------------

TEST_P(PeriodicFlow, CronInATimeZoneFollowsTheWallClockAcrossDaylightSavingTime) {
    Calls calls;
    CountCalls(JobKind::kCleanup, calls);
    clock_.Set(At("2026-03-27T12:00:00Z"));
    // 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC from 29 March (CEST).
    Register(Every("morning", "0 9 * * *", "Europe/Berlin"));
    EXPECT_EQ(Read("morning").next_run_at, At("2026-03-28T08:00:00Z"));
    EXPECT_THAT(RunTicks("morning", 3),
                ElementsAre("2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"));
    EXPECT_EQ(Read("morning").next_run_at, At("2026-03-31T07:00:00Z"));
    ASSERT_EQ(calls.at.size(), 3u);
    EXPECT_EQ(calls.at[1], At("2026-03-29T07:00:00Z"));
}

TEST_P(PeriodicFlow, CronInADstGapFiresAtTheJumpAndInAnOverlapOnceAtTheEarlierInstant) {
    Calls calls;
    CountCalls(JobKind::kCleanup, calls);
    clock_.Set(At("2026-03-27T12:00:00Z"));
    // 02:30 does not exist in Berlin on 29 March: it runs when the clocks jump (03:00 CEST).
    Register(Every("night", "30 2 * * *", "Europe/Berlin"));
    EXPECT_THAT(RunTicks("night", 3),
                ElementsAre("2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"));

    // 02:30 happens twice on 25 October: it runs once, at the first (CEST) one.
    clock_.Set(At("2026-10-23T12:00:00Z"));
    ASSERT_TRUE(store_->UpdatePeriodic({"night", {}, {}, {}}, clock_.Now()).has_value());  // replan from now
    EXPECT_EQ(RunAt(At("2026-10-23T12:00:00Z")), 0);
    EXPECT_THAT(RunTicks("night", 3),
                ElementsAre("2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"));
    EXPECT_EQ(RunAt(At("2026-10-25T01:30:00Z")), 0);  // the second 02:30 is not another run
    EXPECT_EQ(calls.at.size(), 6u);
}

// ---- missed ticks ---------------------------------------------------------------------------

TEST_P(PeriodicFlow, TicksMissedWhileDownRunOnceForTheLatestTick) {
    Calls quarter, daily;
    CountCalls(JobKind::kStalledCheck, quarter);
    CountCalls(JobKind::kCleanup, daily);
    Register(Every("quarter", "*/15 * * * *", "UTC", JobKind::kStalledCheck));
    Register(Every("daily", "0 2 * * *", "UTC", JobKind::kCleanup));
    EXPECT_EQ(Read("quarter").next_run_at, At("2026-01-05T12:15:00Z"));
    EXPECT_EQ(Read("daily").next_run_at, At("2026-01-06T02:00:00Z"));

    // Nothing ran from 12:00 on the 5th until 22:07 on the 8th: 327 quarter-hour ticks and 3
    // daily ones were missed. Each schedule runs once, for its latest tick.
    EXPECT_EQ(RunAt(At("2026-01-08T22:07:00Z")), 2);
    ASSERT_EQ(quarter.jobs.size(), 1u);
    EXPECT_EQ(quarter.jobs[0].id, domain::PeriodicJobId("quarter", At("2026-01-08T22:00:00Z")));
    ASSERT_EQ(daily.jobs.size(), 1u);
    EXPECT_EQ(daily.jobs[0].id, domain::PeriodicJobId("daily", At("2026-01-08T02:00:00Z")));
    EXPECT_EQ(Read("quarter").last_run_at, At("2026-01-08T22:00:00Z"));
    EXPECT_EQ(Read("quarter").next_run_at, At("2026-01-08T22:15:00Z"));
    EXPECT_EQ(Read("daily").last_run_at, At("2026-01-08T02:00:00Z"));
    EXPECT_EQ(Read("daily").next_run_at, At("2026-01-09T02:00:00Z"));

    // Then on schedule again.
    EXPECT_EQ(RunAt(At("2026-01-08T22:14:59Z")), 0);
    EXPECT_EQ(RunAt(At("2026-01-08T22:15:00Z")), 1);
    EXPECT_EQ(quarter.jobs.size(), 2u);
}

TEST_P(PeriodicFlow, ADisabledScheduleDoesNotRunAndAChangedOneIsPlannedAfresh) {
    Calls calls;
    CountCalls(JobKind::kCleanup, calls);
    Register(Every("hourly", "0 * * * *"));
    ASSERT_TRUE(store_->UpdatePeriodic({"hourly", {}, {}, false}, clock_.Now()).has_value());
    EXPECT_EQ(RunAt(At("2026-01-05T15:00:00Z")), 0);
    EXPECT_FALSE(Read("hourly").next_run_at.has_value());

    // Enabled again with another cron: planned from now, not from when it was turned off.
    ASSERT_TRUE(store_->UpdatePeriodic({"hourly", "30 * * * *", {}, true}, clock_.Now()).has_value());
    EXPECT_EQ(RunAt(At("2026-01-05T15:10:00Z")), 0);
    EXPECT_EQ(Read("hourly").next_run_at, At("2026-01-05T15:30:00Z"));
    EXPECT_EQ(RunAt(At("2026-01-05T15:30:00Z")), 1);
    EXPECT_EQ(calls.jobs.size(), 1u);
}

// ---- the scheduler thread --------------------------------------------------------------------

/// Real time, moved to start at `start`: for the one test that runs the scheduler's own thread.
class ShiftedClock final : public core::Clock {
  public:
    explicit ShiftedClock(TimePoint start) : start_(start), origin_(std::chrono::steady_clock::now()) {}
    TimePoint Now() const override {
        return start_ + std::chrono::duration_cast<core::Millis>(std::chrono::steady_clock::now() - origin_);
    }

  private:
    TimePoint start_;
    std::chrono::steady_clock::time_point origin_;
};

TEST_P(PeriodicFlow, TheSchedulerWakesForTheNextTickAndAWorkerRunsIt) {
    // 300 ms before a minute's tick, with nothing else to wake for and an idle limit of ten
    // minutes: only waking for the tick itself gets the job run within the test's patience.
    ShiftedClock clock(At("2026-01-05T11:59:59.700Z"));
    std::mutex mu;
    std::condition_variable cv;
    std::vector<TimePoint> ran;
    tasks_.Register(
        JobKind::kStalledCheck,
        [&](const TaskContext& ctx) -> core::Status {
            {
                std::lock_guard lock(mu);
                ran.push_back(ctx.now);
            }
            cv.notify_all();
            return {};
        },
        RetryPolicy{});
    auto ok = RegisterPeriodic(*store_, {Every("minutely", "* * * * *", "UTC", JobKind::kStalledCheck)}, clock.Now());
    ASSERT_TRUE(ok.has_value());
    DispatcherSettings settings;
    settings.workers = 2;
    settings.max_idle = 10min;
    settings.tasks = tasks_;
    Dispatcher dispatcher(*store_, clock, *registry_, events_, vault_, settings);
    dispatcher.Start();
    {
        std::unique_lock lock(mu);
        cv.wait_for(lock, 5s, [&] { return !ran.empty(); });
    }
    EXPECT_TRUE(dispatcher.Stop(5s));
    std::lock_guard lock(mu);
    ASSERT_EQ(ran.size(), 1u);
    EXPECT_GE(ran[0], At("2026-01-05T12:00:00Z"));
    auto job = Job(domain::PeriodicJobId("minutely", At("2026-01-05T12:00:00Z")));
    ASSERT_TRUE(job.has_value());
    EXPECT_EQ(job->job.state, JobState::kDone);
}

// ---- task retries ---------------------------------------------------------------------------

TEST_P(PeriodicFlow, AFailingTaskRetriesWithBackoffThenGoesDeadWithTheReason) {
    std::vector<int> attempts;
    tasks_.Register(
        JobKind::kCleanup,
        [&attempts](const TaskContext& ctx) -> core::Status {
            attempts.push_back(ctx.job.attempts);
            return core::Fail(core::ErrorCode::kUnavailable, "the disk is full");
        },
        RetryPolicy{3, 1min, 0.0});
    const TimePoint due = At("2026-01-05T12:00:00Z");
    app::NewTask task;
    task.id = "cleanup-once";
    task.kind = JobKind::kCleanup;
    task.max_attempts = 3;
    task.due_at = due;
    ASSERT_TRUE(store_->EnqueueTask(task, due).value_or(false));

    EXPECT_EQ(RunAt(due), 1);
    auto job = Job("cleanup-once");
    ASSERT_TRUE(job.has_value());
    EXPECT_EQ(job->job.state, JobState::kPending);
    EXPECT_EQ(job->job.attempts, 1);
    EXPECT_EQ(job->job.due_at, due + 1min);
    ASSERT_TRUE(job->last_error.has_value());
    EXPECT_THAT(*job->last_error, HasSubstr("the disk is full"));
    EXPECT_THAT(*job->last_error, HasSubstr("attempt 2 of 3"));

    // Backoff doubles: 1 minute before the 2nd attempt, 2 before the 3rd.
    EXPECT_EQ(RunAt(due + 1min - 1ms), 0);
    EXPECT_EQ(RunAt(due + 1min), 1);
    EXPECT_EQ(Job("cleanup-once")->job.due_at, due + 3min);
    EXPECT_EQ(RunAt(due + 3min - 1ms), 0);
    EXPECT_EQ(RunAt(due + 3min), 1);

    job = Job("cleanup-once");
    ASSERT_TRUE(job.has_value());
    EXPECT_EQ(job->job.state, JobState::kDead);
    EXPECT_EQ(job->job.attempts, 3);
    EXPECT_EQ(job->last_error, "the disk is full (gave up after 3 attempts)");
    EXPECT_EQ(RunAt(due + 24h), 0);
    EXPECT_THAT(attempts, ElementsAre(1, 2, 3));
}

TEST_P(PeriodicFlow, RetryJitterSpreadsWithinItsBand) {
    tasks_.Register(
        JobKind::kImport,
        [](const TaskContext&) -> core::Status { return core::Fail(core::ErrorCode::kInternal, "no"); },
        RetryPolicy{2, 10min, 0.1});
    const TimePoint due = At("2026-01-05T12:00:00Z");
    for (int i = 0; i < 20; ++i) {
        app::NewTask task;
        task.id = "import-" + std::to_string(i);
        task.kind = JobKind::kImport;
        task.max_attempts = 2;
        task.due_at = due;
        ASSERT_TRUE(store_->EnqueueTask(task, due).value_or(false));
    }
    EXPECT_EQ(RunAt(due), 20);
    std::vector<TimePoint> retries;
    for (int i = 0; i < 20; ++i) {
        auto job = Job("import-" + std::to_string(i));
        ASSERT_TRUE(job.has_value());
        EXPECT_GE(job->job.due_at, due + 9min);
        EXPECT_LE(job->job.due_at, due + 11min);
        retries.push_back(job->job.due_at);
    }
    std::sort(retries.begin(), retries.end());
    EXPECT_NE(retries.front(), retries.back()) << "20 retries at one instant: no jitter";
}

TEST_P(PeriodicFlow, AThrowingHandlerIsAFailureAndAKindWithoutHandlerGoesDead) {
    tasks_.Register(
        JobKind::kImport, [](const TaskContext&) -> core::Status { throw std::runtime_error("bad input file"); },
        RetryPolicy{2, 1min, 0.0});
    const TimePoint due = At("2026-01-05T12:00:00Z");
    for (auto [id, kind] : {std::pair{"import", JobKind::kImport}, std::pair{"metrics", JobKind::kSyncMetrics}}) {
        app::NewTask task;
        task.id = id;
        task.kind = kind;
        task.max_attempts = 2;
        task.due_at = due;
        ASSERT_TRUE(store_->EnqueueTask(task, due).value_or(false));
    }
    EXPECT_EQ(RunAt(due), 2);
    auto import = Job("import");
    ASSERT_TRUE(import.has_value());
    EXPECT_EQ(import->job.state, JobState::kPending);
    EXPECT_THAT(*import->last_error, HasSubstr("the handler threw: bad input file"));
    auto metrics = Job("metrics");
    ASSERT_TRUE(metrics.has_value());
    EXPECT_EQ(metrics->job.state, JobState::kDead);
    EXPECT_THAT(*metrics->last_error, HasSubstr("no handler for jobs of kind sync_metrics"));
}

TEST_P(PeriodicFlow, PublishJobsStillPublishBesideTasks) {
    Calls calls;
    CountCalls(JobKind::kCleanup, calls);
    const domain::User user{"u1", "owner@example.com", "Owner", clock_.Now()};
    const domain::Workspace ws{"w1", "Workspace", clock_.Now()};
    ASSERT_TRUE(store_->CreateUserWithWorkspace(user, "hash", ws).has_value());
    const domain::Account account{"a1", ws.id, "sandbox", "sandbox", R"({"mode":"ok"})", true, clock_.Now()};
    ASSERT_TRUE(store_->InsertAccount(account, vault_.Seal(R"({"token":"t"})")).has_value());
    const TimePoint due = At("2026-01-05T12:05:00Z");
    domain::Post post;
    post.id = "p1";
    post.workspace_id = ws.id;
    post.created_by = user.id;
    post.text = "beside a task";
    post.scheduled_at = due;
    post.status = domain::DeliveryStatus::kScheduled;
    post.created_at = post.updated_at = clock_.Now();
    post.deliveries.push_back(domain::Delivery{});
    post.deliveries[0].id = "d1";
    post.deliveries[0].post_id = post.id;
    post.deliveries[0].account_id = account.id;
    post.deliveries[0].status = domain::DeliveryStatus::kScheduled;
    post.deliveries[0].updated_at = clock_.Now();
    ASSERT_TRUE(store_->CreatePost(post).has_value());
    Register(Every("sweep", "5 12 * * *"));

    EXPECT_EQ(RunAt(due), 2);
    EXPECT_EQ(calls.jobs.size(), 1u);
    auto published = store_->GetPost(ws.id, post.id);
    ASSERT_TRUE(published.has_value());
    EXPECT_EQ(published->status, domain::DeliveryStatus::kPublished);
    auto sent = store_->SandboxList(account.id);
    ASSERT_TRUE(sent.has_value());
    EXPECT_EQ(sent->size(), 1u);
}

// ---- the built-in tasks ---------------------------------------------------------------------

TEST_P(PeriodicFlow, CleanupPurgesOnlyHistoryOlderThanTheRetention) {
    app::MaintenanceSettings ms;
    ms.history_retention = 30 * 24h;
    ms.purge_chunk = 2;  // several chunks, as with a large history
    app::Maintenance maintenance(*store_, ms);
    tasks_.Register(
        JobKind::kCleanup,
        [&maintenance](const TaskContext& ctx) -> core::Status {
            auto r = maintenance.Cleanup(ctx.now);
            if (!r) return tl::unexpected(r.error());
            return {};
        },
        RetryPolicy{3, 5min, 0.0});
    tasks_.Register(
        JobKind::kImport, [](const TaskContext&) -> core::Status { return {}; }, RetryPolicy{});

    // Imports finished at these times; cleanup runs at 02:00 on 10 February, so the cutoff is
    // 02:00 on 11 January.
    const TimePoint cleanup_at = At("2026-02-10T02:00:00Z");
    const std::vector<std::pair<std::string, TimePoint>> finished = {
        {"forty-days", cleanup_at - 40 * 24h},
        {"thirty-one", cleanup_at - 31 * 24h},
        {"just-past", cleanup_at - 30 * 24h - 1ms},
        {"at-cutoff", cleanup_at - 30 * 24h},
        {"yesterday", cleanup_at - 24h},
        {"an-hour-ago", cleanup_at - 1h},
    };
    for (const auto& [id, at] : finished) {
        app::NewTask task;
        task.id = id;
        task.kind = JobKind::kImport;
        task.due_at = at;
        ASSERT_TRUE(store_->EnqueueTask(task, at).value_or(false));
        ASSERT_EQ(RunAt(at), 1);
        ASSERT_EQ(Job(id)->job.state, JobState::kDone);
    }

    clock_.Set(cleanup_at - 1h);
    Register(Every("cleanup", "0 2 * * *"));
    EXPECT_EQ(RunAt(cleanup_at), 1);
    for (const auto& [id, at] : finished) {
        EXPECT_EQ(Job(id).has_value(), at >= cleanup_at - 30 * 24h) << id << " finished at " << Iso(at);
    }
    // The cleanup job is history too, and young.
    auto own = Job(domain::PeriodicJobId("cleanup", cleanup_at));
    ASSERT_TRUE(own.has_value());
    EXPECT_EQ(own->job.state, JobState::kDone);
}

TEST_P(PeriodicFlow, StalledCheckReportsAndLeavesStateToTheRescuePath) {
    app::MaintenanceSettings ms;
    ms.stalled_after = 60s;
    app::Maintenance maintenance(*store_, ms);
    const TimePoint now = At("2026-01-05T12:00:00Z");
    app::NewTask task;
    task.id = "forgotten";
    task.kind = JobKind::kImport;
    task.due_at = now - 10min;
    ASSERT_TRUE(store_->EnqueueTask(task, now - 10min).value_or(false));

    auto found = maintenance.StalledCheck(now);
    ASSERT_TRUE(found.has_value()) << found.error().message;
    ASSERT_EQ(found->overdue_jobs.size(), 1u);
    EXPECT_EQ(found->overdue_jobs[0].job_id, "forgotten");
    auto job = Job("forgotten");
    ASSERT_TRUE(job.has_value());
    EXPECT_EQ(job->job.state, JobState::kPending);
    EXPECT_EQ(job->job.attempts, 0);
    EXPECT_EQ(job->job.due_at, now - 10min);
}

INSTANTIATE_TEST_SUITE_P(On, PeriodicFlow, ::testing::ValuesIn(test_support::kBackends), test_support::BackendName);

}  // namespace
}  // namespace herald::queue
