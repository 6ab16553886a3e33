#include <gtest/gtest.h>

#include <random>

#include "ratelimit/limits.hpp"

namespace herald::ratelimit {
namespace {

using namespace std::chrono_literals;
using core::Millis;
using core::TimePoint;

const TimePoint kT0 = TimePoint(Millis(1'800'000'000'000));

// Every window of `length` that ends at an action holds at most `cap` actions; actions are at
// least `gap` apart. Windows are (t - length, t]; checking those that end at an action is enough,
// since the count in a window only grows when it reaches a new action.
::testing::AssertionResult KeepsLimit(const Limit& l, const std::vector<TimePoint>& actions) {
    for (size_t i = 0; i < actions.size(); ++i) {
        if (i > 0 && actions[i] < actions[i - 1]) return ::testing::AssertionFailure() << "out of order at " << i;
        if (i > 0 && l.min_gap.count() > 0 && actions[i] - actions[i - 1] < l.min_gap) {
            return ::testing::AssertionFailure() << "gap broken at " << i;
        }
        for (const auto& [cap, length] : {std::pair{l.per_hour, Millis(1h)}, std::pair{l.per_day, Millis(24h)}}) {
            if (cap == 0) continue;
            int n = 0;
            for (size_t k = 0; k <= i; ++k) n += actions[k] > actions[i] - length ? 1 : 0;
            if (n > cap) return ::testing::AssertionFailure() << n << " actions in a window at " << i;
        }
    }
    return ::testing::AssertionSuccess();
}

TEST(RateLimit, NoCapsAllowNow) {
    const std::vector<TimePoint> log = {kT0 - 1min, kT0 - 1s};
    EXPECT_EQ(EarliestAllowed(Limit{}, log, kT0), kT0);
}

TEST(RateLimit, HourCapWaitsForTheOldestCountedActionToLeaveTheWindow) {
    const Limit l{3, 0, Millis(0)};
    const std::vector<TimePoint> log = {kT0, kT0 + 10min, kT0 + 20min};
    EXPECT_EQ(EarliestAllowed(l, log, kT0 + 30min), kT0 + 1h);
    // Exactly an hour after, the first no longer counts: windows are (t - 1 h, t].
    EXPECT_EQ(EarliestAllowed(l, log, kT0 + 1h), kT0 + 1h);
    EXPECT_EQ(EarliestAllowed(l, log, kT0 + 2h), kT0 + 2h);
    // Two in the log: a third is fine now.
    EXPECT_EQ(EarliestAllowed(l, std::vector<TimePoint>{kT0, kT0 + 10min}, kT0 + 30min), kT0 + 30min);
}

TEST(RateLimit, DayCapAndGapTogetherTakeTheLaterInstant) {
    const Limit l{0, 2, Millis(15min)};
    const std::vector<TimePoint> log = {kT0, kT0 + 5h};
    EXPECT_EQ(EarliestAllowed(l, log, kT0 + 6h), kT0 + 24h);
    const Limit gap_only{0, 0, Millis(15min)};
    EXPECT_EQ(EarliestAllowed(gap_only, log, kT0 + 5h + 1min), kT0 + 5h + 15min);
    EXPECT_EQ(EarliestAllowed(gap_only, log, kT0 + 6h), kT0 + 6h);
}

TEST(RateLimit, PlanSpreadsABurstExactlyAsTheCapsAllow) {
    const Limit tiktok{3, 10, Millis(0)};
    const auto plan = PlanActions(tiktok, {}, kT0, {}, 12);
    ASSERT_EQ(plan.size(), 12u);
    const std::vector<TimePoint> want = {kT0,      kT0,      kT0,      kT0 + 1h, kT0 + 1h,  kT0 + 1h,
                                         kT0 + 2h, kT0 + 2h, kT0 + 2h, kT0 + 3h, kT0 + 24h, kT0 + 24h};
    EXPECT_EQ(plan, want);
    EXPECT_TRUE(KeepsLimit(tiktok, plan));
}

TEST(RateLimit, PlanHonoursEachActionsOwnDueTime) {
    const Limit l{0, 0, Millis(10min)};
    const std::vector<TimePoint> due = {kT0 + 1h, kT0 + 1h + 1min, kT0 + 3h};
    const auto plan = PlanActions(l, std::vector<TimePoint>{kT0 + 55min}, kT0, due, 3);
    EXPECT_EQ(plan, (std::vector<TimePoint>{kT0 + 1h + 5min, kT0 + 1h + 15min, kT0 + 3h}));
}

// Random limits, logs, bursts and due times: the plan never breaks a cap or a gap, and no
// action could have gone a millisecond earlier.
TEST(RateLimit, RandomPlansKeepEveryCapAndAreAsEarlyAsPossible) {
    std::mt19937_64 rng(20261123);
    int held_back = 0;  // actions the limits moved later than their due time
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int round = 0; round < 400; ++round) {
        const Limit l{pick(0, 1) ? pick(1, 6) : 0, pick(0, 1) ? pick(1, 15) : 0,
                      Millis(pick(0, 1) ? pick(1, 3600) * 1000 : 0)};
        // A history that kept the same limit: planned the same way, a day and more ago.
        std::vector<TimePoint> earlier_due;
        auto at = kT0 - Millis(pick(1, 30) * 3600'000);
        for (int k = pick(0, 8); k > 0; --k) earlier_due.push_back(at += Millis(pick(0, 3 * 3600) * 1000));
        std::vector<TimePoint> log;
        if (!earlier_due.empty()) {
            for (const auto& t : PlanActions(l, {}, earlier_due.front(), earlier_due, earlier_due.size())) {
                if (t < kT0) log.push_back(t);
            }
        }
        std::vector<TimePoint> due;
        auto d = kT0;
        for (int k = pick(1, 25); k > 0; --k) {
            d += Millis(pick(0, 1) ? 0 : pick(0, 7200) * 1000);
            due.push_back(d);
        }
        const auto plan = PlanActions(l, log, kT0, due, due.size());
        std::vector<TimePoint> all = log;
        all.insert(all.end(), plan.begin(), plan.end());
        ASSERT_TRUE(KeepsLimit(l, log)) << "round " << round;
        ASSERT_TRUE(KeepsLimit(l, all)) << "round " << round;
        for (size_t i = 0; i < plan.size(); ++i) {
            ASSERT_GE(plan[i], due[i]) << "round " << round;
            if (plan[i] == due[i] || (i > 0 && plan[i] == plan[i - 1])) continue;
            // One millisecond earlier must break something.
            std::vector<TimePoint> earlier(log);
            earlier.insert(earlier.end(), plan.begin(), plan.begin() + static_cast<std::ptrdiff_t>(i));
            earlier.push_back(plan[i] - 1ms);
            ASSERT_FALSE(KeepsLimit(l, earlier)) << "round " << round << " action " << i << " could go earlier";
            ++held_back;
        }
    }
    EXPECT_GT(held_back, 500);  // the limits really bit, often
}

TEST(RateLimit, WorkspaceLimitsOnlyLower) {
    const Limit platform{10, 50, Millis(0)};
    EXPECT_EQ(Tighter(platform, Limit{5, 0, Millis(60'000)}), (Limit{5, 50, Millis(60'000)}));
    EXPECT_EQ(Tighter(platform, Limit{20, 100, Millis(0)}), platform);
    EXPECT_EQ(Tighter(Limit{}, Limit{3, 0, Millis(0)}), (Limit{3, 0, Millis(0)}));
}

TEST(RateLimit, WarmupPhasesScaleTheCaps) {
    const Warmup w;
    ASSERT_TRUE(w.Validate().has_value());
    const auto connected = kT0;
    EXPECT_EQ(w.PhaseAt(connected, kT0 + 24h * 29 + 23h), 1);
    EXPECT_EQ(w.PhaseAt(connected, kT0 + 24h * 30), 2);
    EXPECT_EQ(w.PhaseAt(connected, kT0 + 24h * 60), 3);
    const Limit tiktok{3, 10, Millis(60'000)};
    EXPECT_EQ(w.Apply(tiktok, 1), (Limit{1, 5, Millis(120'000)}));
    EXPECT_EQ(w.Apply(tiktok, 2), (Limit{2, 7, Millis(80'000)}));
    EXPECT_EQ(w.Apply(tiktok, 3), tiktok);
    EXPECT_EQ(w.Apply(Limit{}, 1), Limit{});  // no cap stays no cap

    EXPECT_FALSE((Warmup{30, 0.5, 20, 0.75}).Validate().has_value());
    EXPECT_FALSE((Warmup{30, 0.5, 30, 0.75}).Validate().has_value());
    EXPECT_EQ((Warmup{30, 0.29, 60, 0.5}).Apply(Limit{100, 0, Millis(0)}, 1).per_hour, 29);
    EXPECT_FALSE((Warmup{30, 0.0, 60, 0.75}).Validate().has_value());
    EXPECT_FALSE((Warmup{30, 0.5, 60, 1.5}).Validate().has_value());
}

TEST(RateLimit, ShippedTableHasTheDocumentedDefaults) {
    const auto& t = LimitTable::Defaults();
    EXPECT_EQ(t.For("tiktok", Action::kPost), (Limit{3, 10, Millis(0)}));
    EXPECT_EQ(t.For("instagram", Action::kPost), (Limit{5, 15, Millis(0)}));
    EXPECT_EQ(t.For("youtube", Action::kPost), (Limit{5, 20, Millis(0)}));
    EXPECT_EQ(t.For("x", Action::kPost), (Limit{10, 50, Millis(0)}));
    EXPECT_EQ(t.For("reddit", Action::kPost), (Limit{2, 10, Millis(0)}));
    EXPECT_EQ(t.For("threads", Action::kReply), (Limit{0, 1000, Millis(0)}));
    EXPECT_EQ(t.For("telegram", Action::kPost), (Limit{0, 0, Millis(1000)}));
    EXPECT_EQ(t.For("sandbox", Action::kPost), Limit{});  // no entry: no limit
}

TEST(RateLimit, TableErrorsNameTheBadEntry) {
    auto bad = [](std::string_view json) {
        auto t = LimitTable::Parse(json);
        return t ? std::string() : t.error().message;
    };
    EXPECT_NE(bad("[]").find("JSON object"), std::string::npos);
    EXPECT_NE(bad(R"({"x": {"tweet": {"per_hour": 1}}})").find("x.tweet is not an action"), std::string::npos);
    EXPECT_NE(bad(R"({"x": {"post": {"per_hour": -1}}})").find("x.post.per_hour must be a whole number"),
              std::string::npos);
    EXPECT_NE(bad(R"({"x": {"post": {"per_week": 3}}})").find("x.post.per_week is not a limit"), std::string::npos);
    auto ok = LimitTable::Parse(R"({"x": {"note": "why", "post": {"per_hour": 4, "min_gap_seconds": 30}}})");
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->For("x", Action::kPost), (Limit{4, 0, Millis(30'000)}));
}

}  // namespace
}  // namespace herald::ratelimit
