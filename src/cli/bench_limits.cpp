#include "cli/bench_limits.hpp"

#include <spdlog/spdlog.h>

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "app/planner.hpp"
#include "app/post_service.hpp"
#include "auth/vault.hpp"
#include "cli/bench_common.hpp"
#include "core/ids.hpp"
#include "domain/time.hpp"
#include "platforms/registry.hpp"
#include "queue/dispatcher.hpp"
#include "storage/store.hpp"

namespace herald::cli {
namespace {

using Steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

// TikTok's shipped caps, given to the sandbox so that every workload is capped.
constexpr const char* kCaps = R"({"sandbox": {"post": {"per_hour": 3, "per_day": 10, "min_gap_seconds": 600}}})";

double Since(Steady::time_point t0) { return std::chrono::duration<double>(Steady::now() - t0).count(); }

class NoEvents final : public app::EventSink {
  public:
    void Publish(const app::Event&) override {}
    bool Wants(const std::string&) const override { return false; }
};

struct World {
    std::optional<BenchDir> dir;
    std::unique_ptr<app::Store> store;
    domain::User user;
    domain::Workspace workspace;
    std::vector<domain::Account> accounts;
};

// A store with one workspace and `n` sandbox accounts: a fifth connected 10 days ago (warm-up
// phase 1), a fifth 45 days ago (phase 2), the rest a year ago.
core::Result<World> MakeWorld(const std::string& data_dir, int n, core::TimePoint now) {
    World w;
    auto dir = BenchDir::Make(data_dir);
    if (!dir) return tl::unexpected(dir.error());
    w.dir.emplace(std::move(*dir));
    auto store = storage::OpenStore("sqlite:" + w.dir->path() + "/herald.db", {});
    if (!store) return tl::unexpected(store.error());
    w.store = std::move(*store);
    w.user = domain::User{core::NewId(now), "bench@example.com", "Bench", now};
    w.workspace = domain::Workspace{core::NewId(now), "Bench", now};
    if (auto ok = w.store->CreateUserWithWorkspace(w.user, "not-a-real-hash", w.workspace); !ok) {
        return tl::unexpected(ok.error());
    }
    for (int i = 0; i < n; ++i) {
        const auto age = i % 5 == 0 ? 24h * 10 : i % 5 == 1 ? 24h * 45 : 24h * 365;
        domain::Account a{core::NewId(now), w.workspace.id, "sandbox", "bench " + std::to_string(i), "{}", false,
                          now - age};
        if (auto ok = w.store->InsertAccount(a, ""); !ok) return tl::unexpected(ok.error());
        w.accounts.push_back(std::move(a));
    }
    return w;
}

void Print(const BenchLimitsOptions& o, nlohmann::json j) {
    j["system"] = "herald";
    j["load_average"] = LoadAverage();
    j["peak_rss_mb"] = PeakRssMb();
    std::cout << (o.json ? j.dump() : j.dump(2)) << std::endl;
}

// Limiter decisions: pure (EarliestAllowed on a day's log), and durable (Store::TakePermits:
// one synced transaction per batch, the account's log and queue read inside it).
bool Decisions(const BenchLimitsOptions& o, const ratelimit::LimitTable& caps) {
    std::mt19937_64 rng(1);
    const auto now = core::SystemClock().Now();
    const ratelimit::Limit limit = caps.For("sandbox", ratelimit::Action::kPost);
    std::vector<std::vector<core::TimePoint>> logs(1000);
    for (auto& log : logs) {
        for (int k = std::uniform_int_distribution<int>(0, 12)(rng); k > 0; --k)
            log.push_back(now - core::Millis(std::uniform_int_distribution<int64_t>(0, 86'400'000)(rng)));
        std::sort(log.begin(), log.end());
    }
    constexpr int kPure = 2'000'000;
    auto t0 = Steady::now();
    int64_t later = 0;
    for (int i = 0; i < kPure; ++i) later += ratelimit::EarliestAllowed(limit, logs[i % logs.size()], now) > now;
    const double pure_s = Since(t0);

    auto world = MakeWorld(o.data_dir.empty() ? "" : o.data_dir + "/decisions", 200, now);
    if (!world) {
        std::cerr << "herald bench: " << world.error().message << "\n";
        return false;
    }
    // Five posts due now for each of 200 accounts: with 3 an hour, two of each five wait.
    std::vector<domain::Post> posts;
    for (const auto& a : world->accounts) {
        for (int k = 0; k < 5; ++k) {
            domain::Post p;
            p.id = core::NewId(now);
            p.workspace_id = world->workspace.id;
            p.created_by = world->user.id;
            p.text = "decision " + std::to_string(k);
            p.scheduled_at = now - 1s;
            p.status = domain::PostStatus::kScheduled;
            p.created_at = p.updated_at = now;
            p.deliveries.push_back(domain::Delivery{core::NewId(now), p.id, a.id, domain::DeliveryStatus::kScheduled});
            p.deliveries.back().updated_at = now;
            posts.push_back(std::move(p));
        }
    }
    if (auto ok = world->store->CreatePosts(posts); !ok) return false;
    auto claimed = world->store->ClaimDueJobs(now, 100000, now + 60s);
    if (!claimed) return false;
    std::vector<app::PermitRequest> asks;
    for (const auto& c : *claimed) {
        const auto e = ratelimit::Effective(caps, {}, "sandbox", ratelimit::Action::kPost, c.account.created_at, now);
        asks.push_back(app::PermitRequest{c.job.id, c.account.id, ratelimit::PostOnly(e.limit)});
    }
    int64_t granted = 0, deferred = 0;
    t0 = Steady::now();
    constexpr size_t kBatch = 64;
    for (size_t i = 0; i < asks.size(); i += kBatch) {
        std::vector<app::PermitRequest> batch(
            asks.begin() + static_cast<std::ptrdiff_t>(i),
            asks.begin() + static_cast<std::ptrdiff_t>(std::min(asks.size(), i + kBatch)));
        auto d = world->store->TakePermits(batch, now, 60s);
        if (!d) {
            std::cerr << "herald bench: " << d.error().message << "\n";
            return false;
        }
        for (const auto& x : *d) (x.kind == app::PermitDecision::Kind::kGranted ? granted : deferred)++;
    }
    const double durable_s = Since(t0);
    Print(o, {{"workload", "decisions"},
              {"pure_decisions", kPure},
              {"pure_decisions_per_s", kPure / pure_s},
              {"pure_later", later},
              {"durable_decisions", asks.size()},
              {"durable_batch", kBatch},
              {"durable_decisions_per_s", static_cast<double>(asks.size()) / durable_s},
              {"granted", granted},
              {"deferred", deferred},
              {"settings",
               "pure: EarliestAllowed on day logs of 0-12 entries, one thread; durable: Store::TakePermits on "
               "SQLite, batches of 64 in one synced (fsync) transaction, each decision reading the "
               "account's log, hold and waiting jobs; 200 accounts x 5 posts due, 3/h 10/day 10 min gap"}});
    return granted + deferred == static_cast<int64_t>(asks.size());
}

// The plan for `accounts` accounts with `posts` posts each (every post to every account).
bool Plan(const BenchLimitsOptions& o, const ratelimit::LimitTable& caps) {
    const auto now = core::SystemClock().Now();
    auto world = MakeWorld(o.data_dir.empty() ? "" : o.data_dir + "/plan", o.accounts, now);
    if (!world) {
        std::cerr << "herald bench: " << world.error().message << "\n";
        return false;
    }
    auto t0 = Steady::now();
    std::vector<domain::Post> chunk;
    for (int i = 0; i < o.posts; ++i) {
        domain::Post p;
        p.id = core::NewId(now);
        p.workspace_id = world->workspace.id;
        p.created_by = world->user.id;
        p.text = "planned " + std::to_string(i);
        p.scheduled_at = now + 10min * i;
        p.status = domain::PostStatus::kScheduled;
        p.created_at = p.updated_at = now;
        for (const auto& a : world->accounts) {
            p.deliveries.push_back(domain::Delivery{core::NewId(now), p.id, a.id, domain::DeliveryStatus::kScheduled});
            p.deliveries.back().updated_at = now;
        }
        chunk.push_back(std::move(p));
        if (chunk.size() * static_cast<size_t>(o.accounts) >= 20000 || i + 1 == o.posts) {
            if (auto ok = world->store->CreatePosts(chunk); !ok) {
                std::cerr << "herald bench: " << ok.error().message << "\n";
                return false;
            }
            chunk.clear();
            std::cerr << "\rwriting posts: " << (i + 1) << "/" << o.posts << std::flush;
        }
    }
    std::cerr << "\n";
    const double write_s = Since(t0);
    std::vector<std::string> ids;
    for (const auto& a : world->accounts) ids.push_back(a.id);
    core::SystemClock clock;
    app::Planner planner(*world->store, clock, caps, 60s);
    std::vector<double> runs;
    size_t planned = 0;
    core::TimePoint last{};
    for (int run = 0; run < 3; ++run) {
        t0 = Steady::now();
        auto plan = planner.Plan(ids);
        runs.push_back(Since(t0));
        if (!plan) {
            std::cerr << "herald bench: " << plan.error().message << "\n";
            return false;
        }
        planned = plan->size();
        last = plan->empty() || !plan->back().eta ? now : *plan->back().eta;
    }
    // The planning alone, on inputs already read.
    t0 = Steady::now();
    auto inputs = world->store->LoadPlanInputs(ids, now, 60s);
    if (!inputs) return false;
    const double read_s = Since(t0);
    t0 = Steady::now();
    size_t slots = 0;
    for (const auto& in : *inputs) {
        std::vector<ratelimit::QueueItem> items;
        for (const auto& w : in.waiting) items.push_back(ratelimit::QueueItem{w.due, w.rank, w.priority, w.job_id});
        const auto limit =
            ratelimit::Effective(caps, {}, "sandbox", ratelimit::Action::kPost, in.account.created_at, now).limit;
        slots += ratelimit::PlanQueue(app::KeysOf(in, ratelimit::PostOnly(limit)), now, items).size();
    }
    const double pure_s = Since(t0);
    std::sort(runs.begin(), runs.end());
    Print(o, {{"workload", "plan"},
              {"accounts", o.accounts},
              {"posts_per_account", o.posts},
              {"deliveries", planned},
              {"write_seconds", write_s},
              {"plan_seconds_median", runs[1]},
              {"plan_seconds_runs", runs},
              {"reading_only_seconds", read_s},
              {"planning_only_seconds", pure_s},
              {"plan_ends_days_ahead", std::chrono::duration<double>(last - now).count() / 86400.0},
              {"settings",
               "app::Planner::Plan over every account (read each account's log, hold and waiting jobs "
               "from SQLite, then ratelimit::PlanQueue); caps 3/h 10/day 10 min gap, warm-up by account "
               "age; posts every 10 minutes"}});
    return planned == slots && planned == static_cast<size_t>(o.accounts) * static_cast<size_t>(o.posts);
}

// Bulk-add posts over the accounts through the API's service, plan, then publish the whole plan
// on a fake clock and check every post against its cap and its planned time.
bool Bulk(const BenchLimitsOptions& o, const ratelimit::LimitTable& caps) {
    const core::TimePoint start = core::SystemClock().Now();
    core::FakeClock clock(start);
    auto world = MakeWorld(o.data_dir.empty() ? "" : o.data_dir + "/bulk", o.accounts, start);
    if (!world) {
        std::cerr << "herald bench: " << world.error().message << "\n";
        return false;
    }
    auto registry = platforms::BuiltinRegistry(*world->store, clock);
    NoEvents events;
    app::PostService posts(*world->store, clock, *registry, events);
    const app::Principal who{world->user.id, world->workspace.id, domain::Role::kOwner};
    std::vector<app::CreatePostInput> in;
    std::mt19937 rng(3);
    for (int i = 0; i < o.bulk_posts; ++i) {
        app::CreatePostInput p;
        p.text = "bulk " + std::to_string(i);
        p.account_ids = {world->accounts[static_cast<size_t>(i) % world->accounts.size()].id};
        // Bursts: every post in the first two hours, on a random minute.
        p.schedule.scheduled_at = domain::FormatRfc3339(start + 1min * std::uniform_int_distribution<int>(1, 120)(rng));
        in.push_back(std::move(p));
    }
    auto t0 = Steady::now();
    auto created = posts.CreateMany(who, in, app::BulkOptions{static_cast<size_t>(o.bulk_posts), false, {}});
    if (!created || !created->errors.empty()) {
        std::cerr << "herald bench: bulk create failed\n";
        return false;
    }
    const double create_s = Since(t0);
    app::Planner planner(*world->store, clock, caps, 60s);
    std::vector<std::string> ids;
    for (const auto& a : world->accounts) ids.push_back(a.id);
    t0 = Steady::now();
    auto plan = planner.Plan(ids);
    const double plan_s = Since(t0);
    if (!plan) return false;
    std::map<std::string, core::TimePoint> eta;
    for (const auto& d : *plan) {
        if (d.eta) eta[d.delivery_id] = *d.eta;
    }

    auth::SecretKey key{};
    key.fill(9);
    auth::TokenVault vault(key);
    queue::DispatcherSettings ds;
    ds.workers = 1;
    ds.limits = &caps;
    queue::Dispatcher dispatcher(*world->store, clock, *registry, events, vault, ds);
    t0 = Steady::now();
    int64_t rounds = 0, ran = 0;
    while (true) {
        auto next = world->store->NextDueAt();
        if (!next || !*next) break;
        clock.Set(std::max(clock.Now(), **next));
        ran += dispatcher.RunOnce();
        if (++rounds % 1000 == 0)
            std::cerr << "\rrounds: " << rounds
                      << " simulated days: " << std::chrono::duration<double>(clock.Now() - start).count() / 86400
                      << std::flush;
    }
    std::cerr << "\n";
    const double drain_s = Since(t0);

    // Check: every post published once, at its planned time, and no cap broken.
    int64_t published = 0, off_plan = 0, broken = 0;
    for (const auto& a : world->accounts) {
        auto sent = world->store->SandboxList(a.id);
        if (!sent) return false;
        std::vector<core::TimePoint> times;
        for (const auto& p : *sent) times.push_back(p.created_at);
        std::sort(times.begin(), times.end());
        const auto limit =
            ratelimit::Effective(caps, {}, "sandbox", ratelimit::Action::kPost, a.created_at, start).limit;
        for (size_t i = 0; i < times.size(); ++i) {
            if (i > 0 && times[i] - times[i - 1] < limit.min_gap) ++broken;
            int64_t hour = 0, day = 0;
            for (size_t k = 0; k <= i; ++k) {
                hour += times[k] > times[i] - 1h;
                day += times[k] > times[i] - 24h;
            }
            if ((limit.per_hour > 0 && hour > limit.per_hour) || (limit.per_day > 0 && day > limit.per_day)) ++broken;
        }
    }
    for (const auto& p : created->posts) {
        auto got = world->store->GetPost(world->workspace.id, p.id);
        if (!got) return false;
        for (const auto& d : got->deliveries) {
            if (d.status != domain::DeliveryStatus::kPublished) continue;
            ++published;
            if (!d.published_at || *d.published_at != eta[d.id]) ++off_plan;
        }
    }
    Print(o, {{"workload", "bulk"},
              {"accounts", o.accounts},
              {"posts", o.bulk_posts},
              {"bulk_create_seconds", create_s},
              {"plan_seconds", plan_s},
              {"drain_wall_seconds", drain_s},
              {"drain_rounds", rounds},
              {"jobs_run", ran},
              {"simulated_days", std::chrono::duration<double>(clock.Now() - start).count() / 86400.0},
              {"published", published},
              {"cap_violations", broken},
              {"off_plan", off_plan},
              {"settings",
               "PostService::CreateMany (one transaction), posts due in the first two hours on random "
               "minutes; caps 3/h 10/day 10 min gap, warm-up by account age; one dispatcher, fake clock "
               "jumping to each next due time; checked on the sandbox's received times"}});
    return published == o.bulk_posts && broken == 0 && off_plan == 0;
}

}  // namespace

int BenchLimits(const BenchLimitsOptions& o) {
    spdlog::set_level(spdlog::level::warn);
    auto caps = ratelimit::LimitTable::Parse(kCaps);
    if (!caps) return 1;
    bool ok = true;
    if (o.workload == "decisions" || o.workload == "all") ok = Decisions(o, *caps) && ok;
    if (o.workload == "plan" || o.workload == "all") ok = Plan(o, *caps) && ok;
    if (o.workload == "bulk" || o.workload == "all") ok = Bulk(o, *caps) && ok;
    return ok ? 0 : 1;
}

}  // namespace herald::cli
