#include <gtest/gtest.h>

#include <algorithm>
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

TEST(RateLimit, ExplainNamesTheCapThatDecides) {
    const Limit l{2, 3, Millis(10min)};
    EXPECT_EQ(ExplainEarliest(l, {}, kT0).cause, Cause::kNone);
    const std::vector<TimePoint> one = {kT0 - 1min};
    auto w = ExplainEarliest(l, one, kT0);
    EXPECT_EQ(w.at, kT0 + 9min);
    EXPECT_EQ(w.cause, Cause::kMinGap);
    const std::vector<TimePoint> two = {kT0 - 30min, kT0 - 20min};
    w = ExplainEarliest(l, two, kT0);
    EXPECT_EQ(w.at, kT0 + 30min);
    EXPECT_EQ(w.cause, Cause::kHourly);
    const std::vector<TimePoint> three = {kT0 - 5h, kT0 - 4h, kT0 - 3h};
    w = ExplainEarliest(l, three, kT0);
    EXPECT_EQ(w.at, kT0 - 5h + 24h);
    EXPECT_EQ(w.cause, Cause::kDaily);
    EXPECT_EQ(Describe(Cause::kDaily, l, Action::kPost), "daily cap of 3 posts reached");
    EXPECT_EQ(Describe(Cause::kMinGap, l, Action::kPost), "at least 10 min must pass between posts");
    EXPECT_EQ(Describe(Cause::kHourly, Limit{5, 0, Millis(0)}, Action::kMediaUpload),
              "hourly cap of 5 media uploads reached");
    EXPECT_EQ(Describe(Cause::kDaily, Limit{0, 9, Millis(0)}, Action::kReply), "daily cap of 9 replies reached");
}

TEST(RateLimit, QueuePlanTakesTheMostUrgentDueItemAtEachSlot) {
    const Limit gap{0, 0, Millis(10min)};
    // Three due now at priority 5, one at priority 9 due in 5 minutes, one at 9 due in an hour.
    const std::vector<QueueItem> items = {{kT0, kT0, 5, "a"},
                                          {kT0, kT0, 5, "b"},
                                          {kT0, kT0, 5, "c"},
                                          {kT0 + 5min, kT0 + 5min, 9, "d"},
                                          {kT0 + 1h, kT0 + 1h, 9, "e"}};
    const auto slots = PlanQueue(gap, {}, std::nullopt, kT0, items);
    ASSERT_EQ(slots.size(), items.size());
    EXPECT_EQ(slots[0].at, kT0);          // a: first due, by id
    EXPECT_EQ(slots[3].at, kT0 + 10min);  // d fell due while the gap ran, and outranks b and c
    EXPECT_EQ(slots[1].at, kT0 + 20min);  // b
    EXPECT_EQ(slots[2].at, kT0 + 30min);  // c
    EXPECT_EQ(slots[4].at, kT0 + 1h);     // e: nothing holds it at its own time
    EXPECT_EQ(slots[0].cause, Cause::kNone);
    EXPECT_EQ(slots[1].cause, Cause::kMinGap);
    EXPECT_EQ(slots[4].cause, Cause::kNone);
    // A platform hold moves everything to its end, and says so.
    const auto held = PlanQueue(Limit{}, {}, kT0 + 2h, kT0, items);
    for (const auto& slot : held) {
        EXPECT_EQ(slot.at, kT0 + 2h);
        EXPECT_EQ(slot.cause, Cause::kPlatform);
    }
}

TEST(RateLimit, AReportedQuotaWinsUntilItResets) {
    // No caps of Herald's own; the platform says one more until T0 + 30 min.
    const std::vector<QueueItem> items = {{kT0, kT0, 5, "a"}, {kT0, kT0, 5, "b"}, {kT0, kT0, 5, "c"}};
    const auto slots = PlanQueue(Limit{}, {}, std::nullopt, kT0, items, Quota{1, kT0 + 30min});
    EXPECT_EQ(slots[0].at, kT0);
    EXPECT_EQ(slots[1].at, kT0 + 30min);
    EXPECT_EQ(slots[1].cause, Cause::kPlatform);
    EXPECT_EQ(slots[2].at, kT0 + 30min);  // after the reset, only Herald's own caps (none) count
    // Herald's own caps still hold inside the quota.
    const auto gapped = PlanQueue(Limit{0, 0, Millis(20min)}, {}, std::nullopt, kT0, items, Quota{5, kT0 + 1h});
    EXPECT_EQ(gapped[1].at, kT0 + 20min);
    EXPECT_EQ(gapped[2].at, kT0 + 40min);
}

TEST(RateLimit, ADeferredItemKeepsItsPlaceAheadOfLaterOnes) {
    const Limit gap{0, 0, Millis(10min)};
    // b was due at T0 and deferred to T0 + 10 min; c fell due at T0 + 5 min. b stays ahead.
    const std::vector<QueueItem> items = {{kT0 + 10min, kT0, 5, "b"}, {kT0 + 5min, kT0 + 5min, 5, "c"}};
    const std::vector<TimePoint> log = {kT0};
    const auto slots = PlanQueue(gap, log, std::nullopt, kT0 + 5min, items);
    EXPECT_EQ(slots[0].at, kT0 + 10min);
    EXPECT_EQ(slots[1].at, kT0 + 20min);
}

TEST(RateLimit, RandomQueuePlansKeepTheCapsAndMatchThePlanForEqualPriorities) {
    std::mt19937 rng(7);
    for (int round = 0; round < 300; ++round) {
        const Limit l{std::uniform_int_distribution<int>(0, 5)(rng), std::uniform_int_distribution<int>(0, 12)(rng),
                      Millis(std::uniform_int_distribution<int>(0, 3)(rng) * 7min)};
        std::vector<TimePoint> log;
        for (int k = std::uniform_int_distribution<int>(0, 4)(rng); k > 0; --k) {
            log.push_back(kT0 - Millis(std::uniform_int_distribution<int64_t>(1, 86'400'000)(rng)));
        }
        std::sort(log.begin(), log.end());
        std::vector<QueueItem> items;
        const int n = std::uniform_int_distribution<int>(1, 30)(rng);
        std::vector<std::string> ids;
        for (int k = 0; k < n; ++k) ids.push_back(std::to_string(1000 + k));
        for (int k = 0; k < n; ++k) {
            const auto due = kT0 + Millis(std::uniform_int_distribution<int64_t>(0, 4 * 3'600'000)(rng));
            items.push_back(QueueItem{due, due, std::uniform_int_distribution<int>(1, 10)(rng), ids[k]});
        }
        const auto slots = PlanQueue(l, log, std::nullopt, kT0, items);
        std::vector<TimePoint> times;
        for (size_t k = 0; k < slots.size(); ++k) {
            EXPECT_GE(slots[k].at, items[k].due);
            times.push_back(slots[k].at);
        }
        std::sort(times.begin(), times.end());
        // Every planned action keeps the caps, counting the log (which itself may not have).
        std::vector<TimePoint> all = log;
        all.insert(all.end(), times.begin(), times.end());
        for (const auto& t : times) {
            const auto in = [&](Millis w) {
                return std::count_if(all.begin(), all.end(), [&](TimePoint x) { return x > t - w && x <= t; });
            };
            if (l.per_hour > 0) {
                EXPECT_LE(in(1h), l.per_hour) << "round " << round;
            }
            if (l.per_day > 0) {
                EXPECT_LE(in(24h), l.per_day) << "round " << round;
            }
            for (const auto& x : all) {
                if (x < t && l.min_gap.count() > 0) {
                    EXPECT_GE(t - x, l.min_gap) << "round " << round;
                }
            }
        }
        // Priorities only decide who goes when: the times are those of the plain plan.
        std::vector<TimePoint> due;
        for (const auto& item : items) due.push_back(item.due);
        std::sort(due.begin(), due.end());
        EXPECT_EQ(times, PlanActions(l, log, kT0, due, due.size())) << "round " << round;
    }
}

TEST(RateLimit, SeveralActionsAtOnceNeedRoomForAllOfThem) {
    const Limit three{3, 0, Millis(10min)};
    const std::vector<TimePoint> log = {kT0 - 30min};
    // Two more fit now; three must wait until the logged one leaves the hour.
    EXPECT_EQ(ExplainEarliest(three, log, kT0, 2).at, kT0);
    EXPECT_EQ(ExplainEarliest(Limit{3, 0, Millis(0)}, log, kT0, 3).at, kT0 + 30min);
    EXPECT_EQ(ExplainEarliest(Limit{3, 0, Millis(0)}, log, kT0, 3).cause, Cause::kHourly);
    // More than the cap at once can never go.
    EXPECT_EQ(ExplainEarliest(three, {}, kT0, 4).at, kNever);
    EXPECT_EQ(ExplainEarliest(Limit{0, 5, Millis(0)}, {}, kT0, 6).at, kNever);
    // The gap separates groups, not the actions inside one.
    EXPECT_EQ(ExplainEarliest(three, {}, kT0, 3).at, kT0);
}

TEST(RateLimit, AThreadWaitsForItsRepliesAndAnImpossibleOneHoldsNothingBack) {
    KeyStates keys{};
    keys[static_cast<size_t>(Action::kPost)].limit = Limit{0, 0, Millis(5min)};
    keys[static_cast<size_t>(Action::kReply)].limit = Limit{3, 0, Millis(0)};
    const Demand thread3 = {1, 3, 0, 0};
    const Demand thread2 = {1, 2, 0, 0};
    const Demand thread9 = {1, 9, 0, 0};
    const std::vector<QueueItem> items = {{kT0, kT0, 5, "a", thread3},
                                          {kT0, kT0, 5, "b", thread2},
                                          {kT0, kT0, 5, "c", kOnePost},
                                          {kT0, kT0, 9, "d", thread9}};
    const auto slots = PlanQueue(keys, kT0, items);
    ASSERT_EQ(slots.size(), items.size());
    EXPECT_EQ(slots[3].at, kNever);  // nine replies at once: more than the hourly cap, ever
    EXPECT_EQ(slots[3].action, Action::kReply);
    EXPECT_EQ(slots[0].at, kT0);  // a goes first despite d's priority: d takes nothing
    // b needs two replies: the hour must first let a's three go. The queue keeps its order,
    // so c (a plain post, later id) waits behind b.
    EXPECT_EQ(slots[1].at, kT0 + 1h);
    EXPECT_EQ(slots[1].cause, Cause::kHourly);
    EXPECT_EQ(slots[1].action, Action::kReply);
    EXPECT_EQ(slots[2].at, kT0 + 1h + 5min);
    EXPECT_EQ(slots[2].cause, Cause::kMinGap);
    EXPECT_EQ(slots[2].action, Action::kPost);
    // Without a gap for posts, c may go the moment b does; it was late for what held b.
    keys[static_cast<size_t>(Action::kPost)].limit = Limit{};
    const auto gapless = PlanQueue(keys, kT0, items);
    EXPECT_EQ(gapless[2].at, kT0 + 1h);
    EXPECT_EQ(gapless[2].cause, Cause::kHourly);
    EXPECT_EQ(gapless[2].action, Action::kReply);
    keys[static_cast<size_t>(Action::kPost)].limit = Limit{0, 0, Millis(5min)};
    // A hold on replies only holds the items that reply.
    keys[static_cast<size_t>(Action::kReply)].hold_until = kT0 + 2h;
    const std::vector<QueueItem> two = {{kT0, kT0, 5, "a", thread2}, {kT0, kT0, 5, "b", kOnePost}};
    const auto held = PlanQueue(keys, kT0, two);
    EXPECT_EQ(held[0].at, kT0 + 2h);
    EXPECT_EQ(held[0].cause, Cause::kPlatform);
    EXPECT_EQ(held[0].action, Action::kReply);
    // a is the more urgent (by id), so it holds b back until it goes: the queue keeps order.
    EXPECT_EQ(held[1].at, kT0 + 2h + 5min);
}

TEST(RateLimit, RandomPlansOfSeveralActionsKeepEveryKeysCaps) {
    std::mt19937 rng(11);
    const auto draw = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int round = 0; round < 300; ++round) {
        KeyStates keys{};
        std::array<std::vector<TimePoint>, kActions.size()> logs;
        for (size_t k = 0; k < 3; ++k) {
            keys[k].limit = Limit{draw(0, 6), draw(0, 14), Millis(draw(0, 2) * 5min)};
            for (int n = draw(0, 3); n > 0; --n) logs[k].push_back(kT0 - Millis(draw(1, 86'400'000)));
            std::sort(logs[k].begin(), logs[k].end());
            keys[k].log = logs[k];
        }
        if (draw(0, 3) == 0) keys[1].hold_until = kT0 + Millis(draw(1, 3'600'000));
        if (draw(0, 3) == 0) keys[0].quota = Quota{draw(0, 3), kT0 + Millis(draw(1, 7'200'000))};
        const int n = draw(1, 25);
        std::vector<std::string> ids;
        for (int k = 0; k < n; ++k) ids.push_back(std::to_string(1000 + k));
        std::vector<QueueItem> items;
        for (int k = 0; k < n; ++k) {
            const auto due = kT0 + Millis(draw(0, 4 * 3'600'000));
            items.push_back(QueueItem{due, due, draw(1, 10), ids[k], Demand{1, draw(0, 4), draw(0, 1), 0}});
        }
        const auto slots = PlanQueue(keys, kT0, items);
        ASSERT_EQ(slots.size(), items.size());
        std::array<std::vector<TimePoint>, kActions.size()> planned;
        for (int i = 0; i < n; ++i) {
            const auto& d = items[i].demand;
            const auto over = [&](size_t k) {
                const auto& l = keys[k].limit;
                return (l.per_hour > 0 && d[k] > l.per_hour) || (l.per_day > 0 && d[k] > l.per_day);
            };
            const bool impossible = over(0) || over(1) || over(2);
            EXPECT_EQ(slots[i].at == kNever, impossible) << "round " << round << " item " << i;
            if (impossible) continue;
            EXPECT_GE(slots[i].at, items[i].due);
            for (size_t k = 0; k < 3; ++k) {
                if (d[k] > 0 && keys[k].hold_until) {
                    EXPECT_GE(slots[i].at, *keys[k].hold_until);
                }
                planned[k].insert(planned[k].end(), static_cast<size_t>(d[k]), slots[i].at);
            }
        }
        for (size_t k = 0; k < 3; ++k) {
            const auto& l = keys[k].limit;
            std::vector<TimePoint> all = logs[k];
            all.insert(all.end(), planned[k].begin(), planned[k].end());
            for (const auto& t : planned[k]) {
                const auto in = [&](Millis w) {
                    return std::count_if(all.begin(), all.end(), [&](TimePoint x) { return x > t - w && x <= t; });
                };
                if (l.per_hour > 0) {
                    EXPECT_LE(in(1h), l.per_hour) << "round " << round << " key " << k;
                }
                if (l.per_day > 0) {
                    EXPECT_LE(in(24h), l.per_day) << "round " << round << " key " << k;
                }
                for (const auto& x : all) {
                    // Groups keep the gap; actions of one group share their instant.
                    if (x < t && l.min_gap.count() > 0) {
                        EXPECT_GE(t - x, l.min_gap) << "round " << round;
                    }
                }
            }
            if (keys[k].quota) {
                const auto& q = *keys[k].quota;
                const auto before =
                    std::count_if(planned[k].begin(), planned[k].end(), [&](TimePoint x) { return x < q.resets_at; });
                EXPECT_LE(before, q.remaining) << "round " << round;
            }
        }
        // Followed up to a cut, then planned again (as the queue does when a job asks): the same
        // slots. What went is in the logs and the quota; what asked was deferred to its slot.
        std::vector<TimePoint> times;
        for (const auto& slot : slots) {
            if (slot.at != kNever) times.push_back(slot.at);
        }
        if (times.empty()) continue;
        const auto cut = times[static_cast<size_t>(draw(0, static_cast<int>(times.size()) - 1))];
        KeyStates later = keys;
        std::array<std::vector<TimePoint>, kActions.size()> later_logs = logs;
        std::vector<QueueItem> rest;
        std::vector<size_t> rest_of;
        for (int i = 0; i < n; ++i) {
            if (slots[i].at == kNever) continue;
            if (slots[i].at < cut) {
                for (size_t k = 0; k < 3; ++k) {
                    later_logs[k].insert(later_logs[k].end(), static_cast<size_t>(items[i].demand[k]), slots[i].at);
                    if (later[k].quota && slots[i].at < later[k].quota->resets_at) {
                        later[k].quota->remaining -= items[i].demand[k];
                    }
                }
                continue;
            }
            auto item = items[i];
            if (item.due <= cut) item.due = slots[i].at;  // it asked, and was told to come back then
            rest.push_back(item);
            rest_of.push_back(static_cast<size_t>(i));
        }
        for (size_t k = 0; k < 3; ++k) {
            std::sort(later_logs[k].begin(), later_logs[k].end());
            later[k].log = later_logs[k];
        }
        const auto again = PlanQueue(later, cut, rest);
        for (size_t r = 0; r < rest.size(); ++r) {
            EXPECT_EQ(again[r].at, slots[rest_of[r]].at) << "round " << round << " item " << rest_of[r];
        }
    }
}

TEST(RateLimit, WorkspaceSettingsParseCheckAndRoundTrip) {
    const auto& caps = LimitTable::Defaults();
    auto w = WorkspaceLimits::Parse(
        R"({"limits": {"tiktok": {"post": {"per_day": 6, "min_gap_seconds": 600}}}, "warmup": {"enabled": false}})",
        caps);
    ASSERT_TRUE(w.has_value()) << w.error().message;
    EXPECT_FALSE(w->warmup_enabled);
    const auto e = Effective(caps, *w, "tiktok", Action::kPost, kT0, kT0);
    EXPECT_EQ(e.phase, 3);
    EXPECT_EQ(e.limit, (Limit{3, 6, Millis(600s)}));
    auto again = WorkspaceLimits::Parse(w->ToJson(), caps);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->ToJson(), w->ToJson());
    for (const char* bad :
         {R"({"limits": {"tiktok": {"post": {"per_day": 11}}}})",
          R"({"limits": {"telegram": {"post": {"min_gap_seconds": 0}}}})", R"({"warmup": {"phase1_fraction": 0}})",
          R"({"warmup": {"phase2_days": 10}})", R"({"warmup": {"speed": 1}})", R"({"colour": 1})", R"([])"}) {
        EXPECT_FALSE(WorkspaceLimits::Parse(bad, caps).has_value()) << bad;
    }
    // What is stored is read without the caps (Effective applies them), and unreadable text
    // falls back to the defaults.
    EXPECT_EQ(WorkspaceLimits::ReadStored("not json").ToJson(), WorkspaceLimits{}.ToJson());
}

}  // namespace
}  // namespace herald::ratelimit
