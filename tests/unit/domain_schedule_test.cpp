#include <gtest/gtest.h>

#include "domain/schedule.hpp"
#include "domain/time.hpp"

namespace herald::domain {
namespace {

core::TimePoint At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

PostingSchedule Must(const char* json) {
    auto s = PostingSchedule::Parse(json);
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
    return s ? *s : PostingSchedule{};
}

std::vector<std::string> Formatted(const std::vector<core::TimePoint>& ts) {
    std::vector<std::string> out;
    for (const auto& t : ts) out.push_back(FormatRfc3339(t));
    return out;
}

TEST(PostingSchedule, WeekdaySlotsKeepTheirWallClockTimeAcrossDst) {
    const auto s = Must(R"({"timezone": "America/New_York",
                            "slots": [{"days": ["mon", "tue", "wed", "thu", "fri"], "times": ["17:30", "09:00"]}]})");
    // Friday before the clocks spring forward (Sunday 8 March 2026): 09:00 EST is 14:00 UTC and
    // 17:30 EST 22:30 UTC; the next Monday 09:00 is EDT, 13:00 UTC.
    EXPECT_EQ(Formatted(s.Upcoming(At("2026-03-06T12:00:00Z"), 3)),
              (std::vector<std::string>{"2026-03-06T14:00:00Z", "2026-03-06T22:30:00Z", "2026-03-09T13:00:00Z"}));
    EXPECT_EQ(s.LocalTime(At("2026-03-09T13:00:00Z")), "2026-03-09T09:00");
    // A slot exactly at `from` counts.
    EXPECT_EQ(FormatRfc3339(s.Upcoming(At("2026-03-09T13:00:00Z"), 1).at(0)), "2026-03-09T13:00:00Z");
}

TEST(PostingSchedule, GapSlotsMoveToTheJumpAndRepeatedOnesHappenOnce) {
    const auto gap = Must(R"({"timezone": "America/New_York", "slots": [{"days": ["sun"], "times": ["02:30"]}]})");
    // 02:30 never happens on 8 March 2026: the slot is at the jump, 03:00 EDT (07:00 UTC).
    EXPECT_EQ(FormatRfc3339(gap.Upcoming(At("2026-03-07T00:00:00Z"), 1).at(0)), "2026-03-08T07:00:00Z");
    const auto overlap = Must(R"({"timezone": "America/New_York", "slots": [{"days": ["sun"], "times": ["01:30"]}]})");
    // 01:30 happens twice on 1 November 2026: once, the first time (EDT, 05:30 UTC); the next is
    // a week later, in EST.
    EXPECT_EQ(Formatted(overlap.Upcoming(At("2026-10-31T00:00:00Z"), 2)),
              (std::vector<std::string>{"2026-11-01T05:30:00Z", "2026-11-08T06:30:00Z"}));
}

TEST(PostingSchedule, NextFreeSlotSkipsTakenOnesAndMustSuitEveryAccount) {
    const auto weekdays = Must(R"({"timezone": "UTC", "slots": [{"days": ["mon", "tue", "wed", "thu", "fri"],
                                                                "times": ["09:00", "12:00"]}]})");
    const auto tuesdays = Must(R"({"timezone": "UTC", "slots": [{"days": ["tue"], "times": ["12:00"]}]})");
    const auto monday = At("2026-11-23T08:00:00Z");
    EXPECT_EQ(NextCommonFreeSlot({weekdays}, {{}}, monday), At("2026-11-23T09:00:00Z"));
    EXPECT_EQ(NextCommonFreeSlot({weekdays}, {{At("2026-11-23T09:00:00Z")}}, monday), At("2026-11-23T12:00:00Z"));
    EXPECT_EQ(NextCommonFreeSlot({weekdays, tuesdays}, {{}, {}}, monday), At("2026-11-24T12:00:00Z"));
    EXPECT_EQ(NextCommonFreeSlot({weekdays, tuesdays}, {{}, {At("2026-11-24T12:00:00Z")}}, monday),
              At("2026-12-01T12:00:00Z"));
    const auto never = Must(R"({"timezone": "UTC", "slots": [{"days": ["sat"], "times": ["09:00"]}]})");
    EXPECT_EQ(NextCommonFreeSlot({weekdays, never}, {{}, {}}, monday), std::nullopt);
}

TEST(PostingSchedule, ParseNamesTheBadFieldAndRoundTrips) {
    const auto s = Must(R"({"timezone": "Europe/Berlin", "slots": [{"days": ["sat", "sun"], "times": ["10:00"]},
                            {"days": ["sun", "sat"], "times": ["08:15"]}]})");
    EXPECT_EQ(s.ToJson(), R"({"slots":[{"days":["sat","sun"],"times":["08:15","10:00"]}],"timezone":"Europe/Berlin"})");
    const std::vector<std::pair<const char*, const char*>> bad = {
        {R"({"slots": []})", "timezone"},
        {R"({"timezone": "Nowhere/Land", "slots": []})", "timezone"},
        {R"({"timezone": "UTC"})", "slots"},
        {R"({"timezone": "UTC", "slots": [{"days": ["mon"], "times": ["9:00"]}]})", "slots[0].times[0]"},
        {R"({"timezone": "UTC", "slots": [{"days": ["monday"], "times": ["09:00"]}]})", "slots[0].days[0]"},
        {R"({"timezone": "UTC", "slots": [{"days": [], "times": ["09:00"]}]})", "slots[0].days"},
        {R"({"timezone": "UTC", "slots": [{"days": ["mon"], "times": ["09:00"], "every": 2}]})", "slots[0].every"},
        {R"({"timezone": "UTC", "slots": [], "colour": "red"})", "colour"},
    };
    for (const auto& [json, field] : bad) {
        auto r = PostingSchedule::Parse(json);
        ASSERT_FALSE(r.has_value()) << json;
        EXPECT_EQ(r.error().details.at("field"), field) << json;
    }
}

}  // namespace
}  // namespace herald::domain
