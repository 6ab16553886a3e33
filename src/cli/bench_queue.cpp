#include "cli/bench_queue.hpp"

#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "auth/secret_key.hpp"
#include "auth/vault.hpp"
#include "cli/bench_common.hpp"
#include "core/ids.hpp"
#include "platforms/registry.hpp"
#include "queue/dispatcher.hpp"
#include "storage/store.hpp"

namespace herald::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Counts the events the dispatcher emits, as the WebSocket hub would receive them.
class CountingSink final : public app::EventSink {
  public:
    void Publish(const app::Event& e) override {
        if (!e.data_json.empty()) events.fetch_add(1, std::memory_order_relaxed);
    }
    std::atomic<int64_t> events{0};
};

double Percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
    return v[i];
}

// One store with one workspace and one sandbox account, in a directory removed afterwards
// unless the caller named it.
struct Fixture {
    explicit Fixture(BenchDir d) : dir(std::move(d)) {}
    ~Fixture() { store.reset(); }  // closed before its directory goes
    BenchDir dir;
    std::unique_ptr<app::Store> store;
    std::string workspace_id, user_id, account_id;
};

core::Result<std::unique_ptr<Fixture>> MakeFixture(const std::string& data_dir, const std::string& dedupe,
                                                   const core::Clock& clock) {
    auto dir = BenchDir::Make(data_dir);
    if (!dir) return tl::unexpected(dir.error());
    auto f = std::make_unique<Fixture>(std::move(*dir));
    auto store = storage::OpenStore("sqlite:" + f->dir.path() + "/herald.db", {});
    if (!store) return tl::unexpected(store.error());
    f->store = std::move(*store);
    const auto now = clock.Now();
    const domain::User user{core::NewId(now), "bench@example.com", "Bench", now};
    const domain::Workspace ws{core::NewId(now), "Bench", now};
    if (auto ok = f->store->CreateUserWithWorkspace(user, "not-a-real-hash", ws); !ok) {
        return tl::unexpected(ok.error());
    }
    domain::Account account{
        core::NewId(now), ws.id, "sandbox", "bench sandbox", nlohmann::json{{"dedupe", dedupe}}.dump(), false, now};
    if (auto ok = f->store->InsertAccount(account, ""); !ok) return tl::unexpected(ok.error());
    f->workspace_id = ws.id;
    f->user_id = user.id;
    f->account_id = account.id;
    return f;
}

// Writes `count` posts (one sandbox delivery each) due at due(i), in transactions of 5,000.
core::Status AddPosts(Fixture& f, int64_t count, const std::function<core::TimePoint(int64_t)>& due,
                      const core::Clock& clock, const char* what) {
    constexpr int64_t kChunk = 5000;
    std::vector<domain::Post> chunk;
    for (int64_t i = 0; i < count; ++i) {
        const auto now = clock.Now();
        domain::Post p;
        p.id = core::NewId(now);
        p.workspace_id = f.workspace_id;
        p.created_by = f.user_id;
        p.text = "benchmark post " + std::to_string(i);
        p.scheduled_at = due(i);
        p.status = domain::PostStatus::kScheduled;
        p.created_at = p.updated_at = now;
        domain::Delivery d;
        d.id = core::NewId(now);
        d.post_id = p.id;
        d.account_id = f.account_id;
        d.status = domain::DeliveryStatus::kScheduled;
        d.updated_at = now;
        p.deliveries.push_back(std::move(d));
        chunk.push_back(std::move(p));
        if (static_cast<int64_t>(chunk.size()) == kChunk || i + 1 == count) {
            if (auto ok = f.store->CreatePosts(chunk); !ok) return ok;
            chunk.clear();
            std::cerr << "\r" << what << ": " << (i + 1) << "/" << count << std::flush;
        }
    }
    if (count > 0) std::cerr << "\n";
    return {};
}

struct RunResult {
    double seconds = 0;
    int64_t published = 0;
    int64_t other = 0;
    std::vector<double> lateness_ms;
};

// Starts a dispatcher on the fixture and waits until `expect` attempts were recorded.
RunResult RunDispatcher(Fixture& f, const BenchQueueOptions& o, int64_t expect, const core::Clock& clock) {
    auto registry = platforms::BuiltinRegistry(*f.store, clock);
    CountingSink sink;
    auth::SecretKey key{};
    key.fill(7);
    auth::TokenVault vault(key);
    std::mutex mu;
    std::condition_variable cv;
    RunResult r;
    r.lateness_ms.reserve(static_cast<size_t>(expect));
    queue::DispatcherSettings ds;
    ds.workers = o.workers;
    ds.worker_batch = o.worker_batch;
    ds.claim_batch = o.claim_batch;
    ds.on_attempt = [&](const queue::AttemptReport& a) {
        std::lock_guard lock(mu);
        if (a.status == domain::DeliveryStatus::kPublished) {
            ++r.published;
        } else {
            ++r.other;
        }
        r.lateness_ms.push_back(static_cast<double>((a.started_at - a.due_at).count()));
        if (r.published + r.other >= expect) cv.notify_all();
    };
    queue::Dispatcher dispatcher(*f.store, clock, *registry, sink, vault, ds);
    const auto t0 = Clock::now();
    dispatcher.Start(true);
    {
        std::unique_lock lock(mu);
        int64_t last = -1;
        while (r.published + r.other < expect) {
            cv.wait_for(lock, std::chrono::milliseconds(500));
            if (r.published + r.other != last) {
                last = r.published + r.other;
                std::cerr << "\rrecorded: " << last << "/" << expect << std::flush;
            }
        }
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    std::cerr << "\n";
    dispatcher.Stop(std::chrono::seconds(10));
    return r;
}

std::string Settings(const BenchQueueOptions& o) {
    const std::string path =
        o.dedupe == "idempotent"
            ? "the sandbox account deduplicates by idempotency key (dedupe=idempotent, the default), so a resend "
              "cannot duplicate: the claim itself marks the deliveries publishing and no commit is fsynced per job"
            : "the sandbox account cannot drop a repeat (dedupe=" + o.dedupe +
                  "): a publishing mark is fsynced before every platform call, group-committed across workers";
    return "SQLite WAL, synchronous=NORMAL for queue writes: every commit survives a crash of the process; " + path +
           "; " + std::to_string(o.workers) + " workers, worker batch " + std::to_string(o.worker_batch) +
           ", claim batch " + std::to_string(o.claim_batch) +
           "; full path per job: claim, sandbox publish (stored in the sandbox's own SQLite file), record outcome + "
           "move to history, "
           "delivery events, and the rate-limit check (the bench account has no caps, so it is decided in memory; "
           "an account with caps takes a synced permit, see herald bench limits)";
}

void Print(const BenchQueueOptions& o, nlohmann::json j) {
    j["system"] = "herald";
    j["version"] = "0.1.0";
    j["settings"] = Settings(o);
    j["load_average"] = LoadAverage();
    if (o.json) {
        std::cout << j.dump() << std::endl;
    } else {
        std::cout << j.dump(2) << std::endl;
    }
}

int Fail(const core::Error& e) {
    std::cerr << "herald bench: " << e.message << "\n";
    return 1;
}

int BurnDown(const BenchQueueOptions& o, const core::Clock& clock) {
    auto f = MakeFixture(o.data_dir, o.dedupe, clock);
    if (!f) return Fail(f.error());
    const auto now = clock.Now();
    if (auto ok = AddPosts(
            **f, o.jobs, [&](int64_t) { return now; }, clock, "creating posts due now");
        !ok) {
        return Fail(ok.error());
    }
    auto r = RunDispatcher(**f, o, o.jobs, clock);
    Print(o, {{"workload", "burn-down"},
              {"jobs", o.jobs},
              {"published", r.published},
              {"seconds", r.seconds},
              {"jobs_per_s", static_cast<double>(o.jobs) / r.seconds},
              {"peak_rss_mb", PeakRssMb()}});
    return r.published == o.jobs ? 0 : 1;
}

int Lateness(const BenchQueueOptions& o, const core::Clock& clock) {
    auto f = MakeFixture(o.data_dir, o.dedupe, clock);
    if (!f) return Fail(f.error());
    // Spread over `over_seconds`, starting 2 s after the posts are written.
    const auto start = clock.Now() + std::chrono::seconds(2);
    const double step_ms = o.over_seconds * 1000.0 / static_cast<double>(std::max<int64_t>(o.jobs, 1));
    auto due = [&](int64_t i) { return start + core::Millis(static_cast<int64_t>(static_cast<double>(i) * step_ms)); };
    if (auto ok = AddPosts(**f, o.jobs, due, clock, "scheduling posts"); !ok) return Fail(ok.error());
    auto r = RunDispatcher(**f, o, o.jobs, clock);
    Print(o, {{"workload", "lateness"},
              {"jobs", o.jobs},
              {"over_seconds", o.over_seconds},
              {"published", r.published},
              {"p50_ms", Percentile(r.lateness_ms, 0.50)},
              {"p99_ms", Percentile(r.lateness_ms, 0.99)},
              {"max_ms", Percentile(r.lateness_ms, 1.0)},
              {"peak_rss_mb", PeakRssMb()}});
    return r.published == o.jobs ? 0 : 1;
}

int Scale(const BenchQueueOptions& o, const core::Clock& clock) {
    // The same burn-down twice: on an otherwise empty queue, then with `backlog` jobs scheduled
    // for the coming year in the table.
    auto empty = MakeFixture("", o.dedupe, clock);
    if (!empty) return Fail(empty.error());
    const auto now = clock.Now();
    if (auto ok = AddPosts(
            **empty, o.jobs, [&](int64_t) { return now; }, clock, "empty queue: posts due now");
        !ok) {
        return Fail(ok.error());
    }
    auto base = RunDispatcher(**empty, o, o.jobs, clock);
    empty->reset();

    auto full = MakeFixture(o.data_dir, o.dedupe, clock);
    if (!full) return Fail(full.error());
    const auto later = clock.Now() + std::chrono::hours(24);
    const auto spread = std::chrono::hours(24 * 365) / std::max<int64_t>(o.backlog, 1);
    if (auto ok = AddPosts(
            **full, o.backlog, [&](int64_t i) { return later + i * spread; }, clock, "backlog: posts in the future");
        !ok) {
        return Fail(ok.error());
    }
    const auto now2 = clock.Now();
    if (auto ok = AddPosts(
            **full, o.jobs, [&](int64_t) { return now2; }, clock, "posts due now");
        !ok) {
        return Fail(ok.error());
    }
    auto loaded = RunDispatcher(**full, o, o.jobs, clock);
    const double base_rate = static_cast<double>(o.jobs) / base.seconds;
    const double loaded_rate = static_cast<double>(o.jobs) / loaded.seconds;
    Print(o, {{"workload", "scale"},
              {"jobs", o.jobs},
              {"backlog", o.backlog},
              {"empty_jobs_per_s", base_rate},
              {"loaded_jobs_per_s", loaded_rate},
              {"loaded_vs_empty", loaded_rate / base_rate},
              {"peak_rss_mb", PeakRssMb()}});
    return base.published == o.jobs && loaded.published == o.jobs ? 0 : 1;
}

}  // namespace

int BenchQueue(const BenchQueueOptions& o) {
    // The benchmark measures the queue, not the log: only warnings and errors are printed.
    spdlog::set_level(spdlog::level::warn);
    core::SystemClock clock;
    if (o.workload == "burn-down") return BurnDown(o, clock);
    if (o.workload == "lateness") return Lateness(o, clock);
    if (o.workload == "scale") return Scale(o, clock);
    std::cerr << "herald bench queue: --workload must be burn-down, lateness or scale\n";
    return 2;
}

}  // namespace herald::cli
