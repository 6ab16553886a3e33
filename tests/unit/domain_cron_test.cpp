#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "domain/cron.hpp"
#include "domain/time.hpp"

namespace herald::domain {
namespace {

using Strings = std::vector<std::string>;

// The first `n` ticks strictly after `after`, each fed back into Next, as RFC 3339 UTC.
Strings Ticks(std::string_view expression, const char* after, int n, std::string_view zone = "UTC") {
    auto schedule = CronSchedule::Parse(expression, zone);
    if (!schedule) {
        ADD_FAILURE() << expression << ": " << schedule.error().message;
        return {};
    }
    auto t = ParseRfc3339(after);
    if (!t) {
        ADD_FAILURE() << after << ": " << t.error().message;
        return {};
    }
    Strings out;
    core::TimePoint at = *t;
    for (int i = 0; i < n; ++i) {
        auto next = schedule->Next(at);
        if (!next) {
            ADD_FAILURE() << expression << " after " << FormatRfc3339(at) << ": " << next.error().message;
            break;
        }
        EXPECT_GT(*next, at) << expression;
        out.push_back(FormatRfc3339(*next));
        at = *next;
    }
    return out;
}

std::string NextAfter(std::string_view expression, const char* after, std::string_view zone = "UTC") {
    Strings ticks = Ticks(expression, after, 1, zone);
    return ticks.empty() ? "" : ticks.front();
}

// The message of a parse that must fail with kInvalidArgument.
std::string ParseError(std::string_view expression, std::string_view zone = "UTC") {
    auto schedule = CronSchedule::Parse(expression, zone);
    if (schedule) {
        ADD_FAILURE() << "\"" << expression << "\" parsed, expected an error";
        return "";
    }
    EXPECT_EQ(schedule.error().code, core::ErrorCode::kInvalidArgument) << expression;
    return schedule.error().message;
}

// ---- Parsing: every field form, checked through the ticks it produces ----

TEST(CronParse, SingleNumbers) {
    EXPECT_EQ(Ticks("7 * * * *", "2026-01-01T00:00:00Z", 3),
              (Strings{"2026-01-01T00:07:00Z", "2026-01-01T01:07:00Z", "2026-01-01T02:07:00Z"}));
    EXPECT_EQ(Ticks("30 8 * * *", "2026-01-01T00:00:00Z", 2),
              (Strings{"2026-01-01T08:30:00Z", "2026-01-02T08:30:00Z"}));
}

TEST(CronParse, Ranges) {
    EXPECT_EQ(
        Ticks("10-12 * * * *", "2026-01-01T00:00:00Z", 4),
        (Strings{"2026-01-01T00:10:00Z", "2026-01-01T00:11:00Z", "2026-01-01T00:12:00Z", "2026-01-01T01:10:00Z"}));
    EXPECT_EQ(Ticks("0 0 1 3-4 *", "2026-01-01T00:00:00Z", 3),
              (Strings{"2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", "2027-03-01T00:00:00Z"}));
}

TEST(CronParse, StarSteps) {
    EXPECT_EQ(Ticks("*/20 * * * *", "2026-01-01T00:00:00Z", 3),
              (Strings{"2026-01-01T00:20:00Z", "2026-01-01T00:40:00Z", "2026-01-01T01:00:00Z"}));
    EXPECT_EQ(
        Ticks("0 */6 * * *", "2026-01-01T00:00:00Z", 4),
        (Strings{"2026-01-01T06:00:00Z", "2026-01-01T12:00:00Z", "2026-01-01T18:00:00Z", "2026-01-02T00:00:00Z"}));
    // Day-of-month steps count from 1: days 1, 11, 21, 31.
    EXPECT_EQ(
        Ticks("0 0 */10 * *", "2026-01-01T00:00:00Z", 4),
        (Strings{"2026-01-11T00:00:00Z", "2026-01-21T00:00:00Z", "2026-01-31T00:00:00Z", "2026-02-01T00:00:00Z"}));
}

TEST(CronParse, RangeSteps) {
    EXPECT_EQ(
        Ticks("10-40/15 * * * *", "2026-01-01T00:00:00Z", 4),
        (Strings{"2026-01-01T00:10:00Z", "2026-01-01T00:25:00Z", "2026-01-01T00:40:00Z", "2026-01-01T01:10:00Z"}));
    EXPECT_EQ(
        Ticks("0 9-17/4 * * *", "2026-01-01T00:00:00Z", 4),
        (Strings{"2026-01-01T09:00:00Z", "2026-01-01T13:00:00Z", "2026-01-01T17:00:00Z", "2026-01-02T09:00:00Z"}));
}

TEST(CronParse, Lists) {
    EXPECT_EQ(Ticks("5,50 * * * *", "2026-01-01T00:00:00Z", 3),
              (Strings{"2026-01-01T00:05:00Z", "2026-01-01T00:50:00Z", "2026-01-01T01:05:00Z"}));
    EXPECT_EQ(Ticks("30 8 1,15 * *", "2026-01-01T09:00:00Z", 3),
              (Strings{"2026-01-15T08:30:00Z", "2026-02-01T08:30:00Z", "2026-02-15T08:30:00Z"}));
    // Values, ranges and steps mix in one list.
    EXPECT_EQ(Ticks("1,10-11,*/30 * * * *", "2026-01-01T00:00:00Z", 5),
              (Strings{"2026-01-01T00:01:00Z", "2026-01-01T00:10:00Z", "2026-01-01T00:11:00Z", "2026-01-01T00:30:00Z",
                       "2026-01-01T01:00:00Z"}));
}

TEST(CronParse, MonthAndDayNamesAnyCase) {
    EXPECT_EQ(Ticks("0 0 1 jan,Jul *", "2026-01-01T00:00:00Z", 2),
              (Strings{"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"}));
    EXPECT_EQ(
        Ticks("0 0 1 MAR-may *", "2026-01-01T00:00:00Z", 4),
        (Strings{"2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z", "2027-03-01T00:00:00Z"}));
    // 2026-01-01 is a Thursday.
    EXPECT_EQ(Ticks("0 12 * * sat,Sun", "2026-01-01T00:00:00Z", 3),
              (Strings{"2026-01-03T12:00:00Z", "2026-01-04T12:00:00Z", "2026-01-10T12:00:00Z"}));
    EXPECT_EQ(Ticks("0 9 * * MON-FRI", "2026-01-01T00:00:00Z", 6), Ticks("0 9 * * 1-5", "2026-01-01T00:00:00Z", 6));
}

TEST(CronParse, SevenIsSunday) {
    const Strings sundays{"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"};
    EXPECT_EQ(Ticks("0 0 * * 7", "2026-01-01T00:00:00Z", 2), sundays);
    EXPECT_EQ(Ticks("0 0 * * 0", "2026-01-01T00:00:00Z", 2), sundays);
    EXPECT_EQ(Ticks("0 0 * * SUN", "2026-01-01T00:00:00Z", 2), sundays);
    // 7 closes a range that runs into Sunday.
    EXPECT_EQ(
        Ticks("0 0 * * 5-7", "2026-01-01T00:00:00Z", 4),
        (Strings{"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-09T00:00:00Z"}));
}

TEST(CronParse, Nicknames) {
    const char* from = "2026-01-01T00:30:00Z";  // a Thursday
    EXPECT_EQ(NextAfter("@hourly", from), "2026-01-01T01:00:00Z");
    EXPECT_EQ(NextAfter("@daily", from), "2026-01-02T00:00:00Z");
    EXPECT_EQ(NextAfter("@midnight", from), "2026-01-02T00:00:00Z");
    EXPECT_EQ(NextAfter("@weekly", from), "2026-01-04T00:00:00Z");
    EXPECT_EQ(NextAfter("@monthly", from), "2026-02-01T00:00:00Z");
    EXPECT_EQ(NextAfter("@yearly", from), "2027-01-01T00:00:00Z");
    EXPECT_EQ(NextAfter("@annually", from), "2027-01-01T00:00:00Z");
    EXPECT_EQ(NextAfter(" @DAILY ", from), "2026-01-02T00:00:00Z");
}

TEST(CronParse, KeepsExpressionAndZone) {
    auto s = CronSchedule::Parse("0 9 * * MON-FRI", "Europe/Berlin");
    ASSERT_TRUE(s.has_value()) << s.error().message;
    EXPECT_EQ(s->expression(), "0 9 * * MON-FRI");
    EXPECT_EQ(s->time_zone(), "Europe/Berlin");
    auto utc = CronSchedule::Parse("@daily");
    ASSERT_TRUE(utc.has_value()) << utc.error().message;
    EXPECT_EQ(utc->expression(), "@daily");
    EXPECT_EQ(utc->time_zone(), "UTC");
}

TEST(CronParse, RejectsBadExpressionsWithExactMessages) {
    const std::pair<const char*, const char*> cases[] = {
        {"0 0 * *",
         "cron expression \"0 0 * *\": expected 5 fields (minute hour day-of-month month day-of-week), got 4"},
        {"0 0 * * * *",
         "cron expression \"0 0 * * * *\": expected 5 fields (minute hour day-of-month month day-of-week), got 6"},
        {"", "cron expression \"\": expected 5 fields (minute hour day-of-month month day-of-week), got 0"},
        {"0 25 * * *", "cron expression \"0 25 * * *\": hour 25 is out of range 0-23"},
        {"60 * * * *", "cron expression \"60 * * * *\": minute 60 is out of range 0-59"},
        {"0 0 0 * *", "cron expression \"0 0 0 * *\": day-of-month 0 is out of range 1-31"},
        {"0 0 32 * *", "cron expression \"0 0 32 * *\": day-of-month 32 is out of range 1-31"},
        {"0 0 * 13 *", "cron expression \"0 0 * 13 *\": month 13 is out of range 1-12"},
        {"0 0 * * 8", "cron expression \"0 0 * * 8\": day-of-week 8 is out of range 0-7"},
        {"0 0-99 * * *", "cron expression \"0 0-99 * * *\": hour 99 is out of range 0-23"},
        {"*/0 * * * *", "cron expression \"*/0 * * * *\": minute step 0 is out of range 1-59"},
        {"0 1-5/0 * * *", "cron expression \"0 1-5/0 * * *\": hour step 0 is out of range 1-23"},
        {"0 */24 * * *", "cron expression \"0 */24 * * *\": hour step 24 is out of range 1-23"},
        {"*/x * * * *", "cron expression \"*/x * * * *\": minute step \"x\" is not a number"},
        {"30-10 * * * *",
         "cron expression \"30-10 * * * *\": minute range 30-10 is reversed: the start must not be after the end"},
        {"0 0 * DEC-JAN *",
         "cron expression \"0 0 * DEC-JAN *\": month range DEC-JAN is reversed: the start must not be after the end"},
        {"0 0 * * FRI-SUN",
         "cron expression \"0 0 * * FRI-SUN\": day-of-week range FRI-SUN is reversed: the start must not be after the "
         "end (use 7 for Sunday at the end of a range)"},
        {"abc * * * *", "cron expression \"abc * * * *\": minute \"abc\" is not a number"},
        {"0 0 * FOO *", "cron expression \"0 0 * FOO *\": month \"FOO\" is not a number or a month name (JAN-DEC)"},
        {"0 0 * * MONDAY",
         "cron expression \"0 0 * * MONDAY\": day-of-week \"MONDAY\" is not a number or a day name (SUN-SAT)"},
        {"0 0 MON * *", "cron expression \"0 0 MON * *\": day-of-month \"MON\" is not a number"},
        {"1-2-3 * * * *",
         "cron expression \"1-2-3 * * * *\": minute \"1-2-3\" is malformed; expected a value, a range a-b, or a step "
         "*/n or a-b/n"},
        {"-5 * * * *",
         "cron expression \"-5 * * * *\": minute \"-5\" is malformed; expected a value, a range a-b, or a step */n or "
         "a-b/n"},
        {"5/15 * * * *",
         "cron expression \"5/15 * * * *\": minute \"5/15\" has a step without a range; write */n or "
         "a-b/n"},
        {"1,,2 * * * *", "cron expression \"1,,2 * * * *\": minute \"1,,2\" has an empty list item"},
        {"0 9 * * 1,", "cron expression \"0 9 * * 1,\": day-of-week \"1,\" has an empty list item"},
        {"@reboot",
         "cron expression \"@reboot\": unknown nickname @reboot; use @hourly, @daily, @weekly, @monthly or "
         "@yearly"},
    };
    for (const auto& [expression, message] : cases) {
        EXPECT_EQ(ParseError(expression), message) << expression;
    }
}

TEST(CronParse, ErrorsNameTheFieldAndRule) {
    auto bad = CronSchedule::Parse("0 25 * * *");
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().details.at("field"), "cron");
    EXPECT_EQ(bad.error().details.at("rule"), "cron_expression");

    auto zone = CronSchedule::Parse("0 9 * * *", "Mars/Olympus_Mons");
    ASSERT_FALSE(zone.has_value());
    EXPECT_EQ(zone.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_EQ(zone.error().message,
              "timezone must be an IANA time zone such as Europe/Berlin, got 'Mars/Olympus_Mons'");
    EXPECT_EQ(zone.error().details.at("field"), "timezone");
    EXPECT_EQ(zone.error().details.at("rule"), "iana_time_zone");
    EXPECT_EQ(ParseError("0 9 * * *", ""), "timezone must be an IANA time zone such as Europe/Berlin, got ''");
}

// ---- Next in UTC ----

TEST(CronNext, EveryFifteenMinutes) {
    EXPECT_EQ(
        Ticks("*/15 * * * *", "2026-01-01T00:07:30Z", 4),
        (Strings{"2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z", "2026-01-01T01:00:00Z"}));
}

TEST(CronNext, IsStrictlyAfter) {
    // Exactly on a tick: the following one.
    EXPECT_EQ(NextAfter("*/15 * * * *", "2026-01-01T00:15:00Z"), "2026-01-01T00:30:00Z");
    EXPECT_EQ(NextAfter("0 2 * * *", "2026-01-01T02:00:00Z"), "2026-01-02T02:00:00Z");
    // A millisecond either side of a tick.
    EXPECT_EQ(NextAfter("*/15 * * * *", "2026-01-01T00:14:59.999Z"), "2026-01-01T00:15:00Z");
    EXPECT_EQ(NextAfter("*/15 * * * *", "2026-01-01T00:15:00.001Z"), "2026-01-01T00:30:00Z");
}

TEST(CronNext, HourlyAcrossTheYearEnd) {
    EXPECT_EQ(Ticks("@hourly", "2026-12-31T22:59:00Z", 3),
              (Strings{"2026-12-31T23:00:00Z", "2027-01-01T00:00:00Z", "2027-01-01T01:00:00Z"}));
}

TEST(CronNext, DailyAtTwoUtc) {
    EXPECT_EQ(NextAfter("0 2 * * *", "2026-01-01T01:59:59Z"), "2026-01-01T02:00:00Z");
    EXPECT_EQ(Ticks("0 2 * * *", "2026-01-01T03:00:00Z", 3),
              (Strings{"2026-01-02T02:00:00Z", "2026-01-03T02:00:00Z", "2026-01-04T02:00:00Z"}));
}

TEST(CronNext, WeekdaysSkipTheWeekend) {
    // 2026-01-02 is a Friday.
    EXPECT_EQ(Ticks("0 9 * * MON-FRI", "2026-01-02T09:00:00Z", 2),
              (Strings{"2026-01-05T09:00:00Z", "2026-01-06T09:00:00Z"}));
    EXPECT_EQ(NextAfter("0 9 * * MON-FRI", "2026-01-02T08:59:00Z"), "2026-01-02T09:00:00Z");
}

TEST(CronNext, DayOfMonthOrDayOfWeekWhenBothRestricted) {
    // The 13th (a Tuesday in January 2026) or any Friday.
    EXPECT_EQ(
        Ticks("0 0 13 * FRI", "2026-01-01T00:00:00Z", 4),
        (Strings{"2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z", "2026-01-16T00:00:00Z"}));
    // The 30th never comes in February, but Mondays do.
    EXPECT_EQ(NextAfter("0 0 30 2 MON", "2026-01-01T00:00:00Z"), "2026-02-02T00:00:00Z");
}

TEST(CronNext, StarStepDayFieldCountsAsStarSoBothMustMatch) {
    // Vixie cron: "*/2" starts with "*", so this is odd days that are also Mondays, not "or".
    EXPECT_EQ(Ticks("0 0 */2 * MON", "2026-01-01T00:00:00Z", 3),
              (Strings{"2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z", "2026-02-09T00:00:00Z"}));
}

TEST(CronNext, MonthBoundaries) {
    // The 31st skips the months without one.
    EXPECT_EQ(
        Ticks("0 12 31 * *", "2026-01-31T12:00:00Z", 4),
        (Strings{"2026-03-31T12:00:00Z", "2026-05-31T12:00:00Z", "2026-07-31T12:00:00Z", "2026-08-31T12:00:00Z"}));
    EXPECT_EQ(Ticks("@monthly", "2026-12-15T00:00:00Z", 2), (Strings{"2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"}));
    EXPECT_EQ(NextAfter("59 23 * * *", "2026-01-31T23:59:00Z"), "2026-02-01T23:59:00Z");
}

TEST(CronNext, LeapDayIsYearsAway) {
    EXPECT_EQ(Ticks("0 0 29 2 *", "2026-01-01T00:00:00Z", 2),
              (Strings{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}));
}

TEST(CronNext, ImpossibleDateIsAnError) {
    for (const char* expression : {"0 0 30 2 *", "0 0 31 4,6,9,11 *"}) {
        auto s = CronSchedule::Parse(expression);
        ASSERT_TRUE(s.has_value()) << s.error().message;
        auto next = s->Next(*ParseRfc3339("2026-01-01T00:00:00Z"));
        ASSERT_FALSE(next.has_value()) << expression << " gave " << FormatRfc3339(*next);
        EXPECT_EQ(next.error().code, core::ErrorCode::kInvalidArgument);
        EXPECT_EQ(next.error().message, "cron expression \"" + std::string(expression) +
                                            "\" has no tick in the 5 years after 2026-01-01T00:00:00Z");
    }
}

// ---- Next in a time zone ----

TEST(CronZone, BerlinDailyNineAcrossDstChanges) {
    // 2026-03-29: CET (+1) becomes CEST (+2).
    EXPECT_EQ(Ticks("0 9 * * *", "2026-03-27T12:00:00Z", 3, "Europe/Berlin"),
              (Strings{"2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"}));
    // 2026-10-25: CEST (+2) becomes CET (+1).
    EXPECT_EQ(Ticks("0 9 * * *", "2026-10-23T12:00:00Z", 3, "Europe/Berlin"),
              (Strings{"2026-10-24T07:00:00Z", "2026-10-25T08:00:00Z", "2026-10-26T08:00:00Z"}));
}

TEST(CronZone, SpringForwardGapFiresOnceWhenTheClocksJump) {
    // Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST, so 02:30 never happens; the job runs at
    // 03:00 local, 01:00 UTC, then at 02:30 CEST the next day.
    EXPECT_EQ(Ticks("30 2 * * *", "2026-03-28T12:00:00Z", 2, "Europe/Berlin"),
              (Strings{"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}));
    // Four missing quarter hours (and 03:00 itself) are one tick, not five.
    EXPECT_EQ(Ticks("*/15 * * * *", "2026-03-29T00:30:00Z", 3, "Europe/Berlin"),
              (Strings{"2026-03-29T00:45:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:15:00Z"}));
}

TEST(CronZone, FallBackOverlapFiresOnceAtTheEarlierInstant) {
    // Berlin 2026-10-25: 03:00 CEST goes back to 02:00 CET, so 02:30 happens at 00:30 UTC and
    // again at 01:30 UTC; only the first fires.
    EXPECT_EQ(Ticks("30 2 * * *", "2026-10-24T12:00:00Z", 2, "Europe/Berlin"),
              (Strings{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}));
    // Asked during the repeated hour, the next 02:30 is the next day's.
    EXPECT_EQ(NextAfter("30 2 * * *", "2026-10-25T01:15:00Z", "Europe/Berlin"), "2026-10-26T01:30:00Z");
    // Hourly at :30 runs at 01:30 CEST, 02:30 CEST, then 03:30 CET; the repeated 02:30 CET is skipped.
    EXPECT_EQ(Ticks("30 * * * *", "2026-10-24T23:00:00Z", 3, "Europe/Berlin"),
              (Strings{"2026-10-24T23:30:00Z", "2026-10-25T00:30:00Z", "2026-10-25T02:30:00Z"}));
}

TEST(CronZone, OtherZonesUseTheirOwnWallClock) {
    EXPECT_EQ(NextAfter("0 9 * * *", "2026-01-01T00:00:00Z", "Asia/Kolkata"), "2026-01-01T03:30:00Z");
    // New York 2026-03-08: EST (-5) becomes EDT (-4).
    EXPECT_EQ(Ticks("0 9 * * *", "2026-03-07T00:00:00Z", 2, "America/New_York"),
              (Strings{"2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z"}));
    // Weekdays are local weekdays: Monday 00:30 in Berlin is still Sunday in UTC.
    EXPECT_EQ(NextAfter("30 0 * * MON", "2026-01-01T00:00:00Z", "Europe/Berlin"), "2026-01-04T23:30:00Z");
}

}  // namespace
}  // namespace herald::domain
