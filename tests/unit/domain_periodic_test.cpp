#include <gtest/gtest.h>

#include <string>

#include "domain/job.hpp"
#include "domain/periodic.hpp"
#include "domain/time.hpp"

namespace herald::domain {
namespace {

core::TimePoint At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

CronSchedule Cron(std::string_view expression, std::string_view zone = "UTC") {
    auto parsed = CronSchedule::Parse(expression, zone);
    EXPECT_TRUE(parsed.has_value()) << expression;
    return *parsed;
}

struct Plan {
    std::string tick;
    std::string next;
    bool coalesced;
};

Plan PlanOf(const CronSchedule& cron, const char* due, const char* now) {
    auto plan = PlanTick(cron, At(due), At(now));
    EXPECT_TRUE(plan.has_value()) << plan.error().message;
    if (!plan) return {};
    return {FormatRfc3339(plan->tick), FormatRfc3339(plan->next), plan->coalesced};
}

TEST(JobKinds, EveryKindHasANameThatParsesBack) {
    for (auto kind : {JobKind::kPublish, JobKind::kRefreshToken, JobKind::kSyncMetrics, JobKind::kHealthCheck,
                      JobKind::kCleanup, JobKind::kStalledCheck, JobKind::kImport}) {
        EXPECT_EQ(ParseJobKind(ToString(kind)), kind) << ToString(kind);
    }
    EXPECT_EQ(ParseJobKind("refresh_token"), JobKind::kRefreshToken);
    EXPECT_EQ(ParseJobKind("sync_metrics"), JobKind::kSyncMetrics);
    EXPECT_EQ(ParseJobKind("health_check"), JobKind::kHealthCheck);
    EXPECT_EQ(ParseJobKind("import"), JobKind::kImport);
    EXPECT_FALSE(ParseJobKind("Cleanup").has_value());
    EXPECT_FALSE(ParseJobKind("").has_value());
    for (auto state : {JobState::kPending, JobState::kPaused, JobState::kRunning, JobState::kDone, JobState::kDead}) {
        EXPECT_EQ(ParseJobState(ToString(state)), state);
    }
}

TEST(PeriodicPlan, OnTimeRunsTheDueTick) {
    auto p = PlanOf(Cron("*/15 * * * *"), "2026-01-05T12:15:00Z", "2026-01-05T12:15:00Z");
    EXPECT_EQ(p.tick, "2026-01-05T12:15:00Z");
    EXPECT_EQ(p.next, "2026-01-05T12:30:00Z");
    EXPECT_FALSE(p.coalesced);
    // A little late, still the same tick.
    p = PlanOf(Cron("*/15 * * * *"), "2026-01-05T12:15:00Z", "2026-01-05T12:29:59Z");
    EXPECT_EQ(p.tick, "2026-01-05T12:15:00Z");
    EXPECT_EQ(p.next, "2026-01-05T12:30:00Z");
    EXPECT_FALSE(p.coalesced);
}

TEST(PeriodicPlan, MissedTicksCoalesceIntoTheLatest) {
    auto p = PlanOf(Cron("*/15 * * * *"), "2026-01-05T12:15:00Z", "2026-01-08T22:07:00Z");
    EXPECT_EQ(p.tick, "2026-01-08T22:00:00Z");
    EXPECT_EQ(p.next, "2026-01-08T22:15:00Z");
    EXPECT_TRUE(p.coalesced);
    // A year of a once-a-minute cron: still one tick, found without walking every minute.
    p = PlanOf(Cron("* * * * *"), "2025-01-01T00:00:00Z", "2026-01-01T00:00:30Z");
    EXPECT_EQ(p.tick, "2026-01-01T00:00:00Z");
    EXPECT_EQ(p.next, "2026-01-01T00:01:00Z");
    // Sparse and irregular: weekdays at 09:00 Berlin, down over a weekend.
    p = PlanOf(Cron("0 9 * * MON-FRI", "Europe/Berlin"), "2026-01-09T08:00:00Z", "2026-01-12T07:59:00Z");
    EXPECT_EQ(p.tick, "2026-01-09T08:00:00Z");
    EXPECT_EQ(p.next, "2026-01-12T08:00:00Z");
    EXPECT_FALSE(p.coalesced);
    p = PlanOf(Cron("0 9 * * MON-FRI", "Europe/Berlin"), "2026-01-05T08:00:00Z", "2026-01-12T08:00:00Z");
    EXPECT_EQ(p.tick, "2026-01-12T08:00:00Z");
    EXPECT_EQ(p.next, "2026-01-13T08:00:00Z");
    EXPECT_TRUE(p.coalesced);
}

TEST(PeriodicPlan, ADueTimeThatIsNoLongerATickStillRunsOnce) {
    // Planned under "0 2 * * *", then the cron became "0 3 * * *": 02:00 is still owed a run
    // when no 03:00 came since.
    auto p = PlanOf(Cron("0 3 * * *"), "2026-01-06T02:00:00Z", "2026-01-06T02:30:00Z");
    EXPECT_EQ(p.tick, "2026-01-06T02:00:00Z");
    EXPECT_EQ(p.next, "2026-01-06T03:00:00Z");
    EXPECT_FALSE(p.coalesced);
    // When a tick of the new cron came since, that one runs instead.
    p = PlanOf(Cron("0 3 * * *"), "2026-01-06T02:00:00Z", "2026-01-06T03:30:00Z");
    EXPECT_EQ(p.tick, "2026-01-06T03:00:00Z");
    EXPECT_TRUE(p.coalesced);
}

TEST(PeriodicPlan, RefusesATickThatIsNotDueYet) {
    auto plan = PlanTick(Cron("0 * * * *"), At("2026-01-05T13:00:00Z"), At("2026-01-05T12:59:59Z"));
    EXPECT_FALSE(plan.has_value());
}

TEST(PeriodicPlan, JobIdsAreTheSameForTheSameTickOnly) {
    EXPECT_EQ(PeriodicJobId("cleanup", At("2026-01-06T02:00:00Z")),
              PeriodicJobId("cleanup", At("2026-01-06T02:00:00Z")));
    EXPECT_NE(PeriodicJobId("cleanup", At("2026-01-06T02:00:00Z")),
              PeriodicJobId("cleanup", At("2026-01-07T02:00:00Z")));
    EXPECT_NE(PeriodicJobId("cleanup", At("2026-01-06T02:00:00Z")),
              PeriodicJobId("stalled_check", At("2026-01-06T02:00:00Z")));
}

}  // namespace
}  // namespace herald::domain
