#include <gtest/gtest.h>

#include "domain/time.hpp"

namespace herald::domain {
namespace {

std::string Resolve(const std::string& local, const std::string& zone) {
    auto t = ResolveLocalTime(local, zone);
    EXPECT_TRUE(t.has_value()) << (t ? "" : t.error().message);
    return t ? FormatRfc3339(*t) : "";
}

TEST(DomainTime, ParsesRfc3339WithZuluAndOffsets) {
    EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2026-12-01T09:00:00Z")), "2026-12-01T09:00:00Z");
    EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2026-12-01T10:00:00+01:00")), "2026-12-01T09:00:00Z");
    EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2026-12-01T04:30:00-04:30")), "2026-12-01T09:00:00Z");
    EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2026-12-01t09:00:00.250z")), "2026-12-01T09:00:00.250Z");
    EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2026-12-01T09:00:00.1Z")), "2026-12-01T09:00:00.100Z");
}

TEST(DomainTime, FormatsEveryPartOfTheDayAndCalendar) {
    using core::Millis;
    EXPECT_EQ(FormatRfc3339(core::TimePoint(Millis(0))), "1970-01-01T00:00:00Z");
    // Before the epoch the milliseconds still count forward within their second.
    EXPECT_EQ(FormatRfc3339(core::TimePoint(Millis(-1))), "1969-12-31T23:59:59.999Z");
    EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2024-02-29T23:59:59.001Z")), "2024-02-29T23:59:59.001Z");
    EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2099-12-31T00:00:01Z")), "2099-12-31T00:00:01Z");
    EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2026-07-04T13:07:09.090Z")), "2026-07-04T13:07:09.090Z");
}

TEST(DomainTime, RejectsInstantsWithoutOffsetOrOutOfRange) {
    for (const char* bad : {"2026-12-01T09:00:00", "2026-12-01 09:00:00Z", "2026-02-30T09:00:00Z",
                            "2026-12-01T24:00:00Z", "2026-12-01T09:60:00Z", "2026-12-01T09:00:60Z", "2026-12-01T09:00Z",
                            "2026-12-01T09:00:00+1:00", "tomorrow", "", "2026-12-01T09:00:00Zjunk"}) {
        auto t = ParseRfc3339(bad);
        ASSERT_FALSE(t.has_value()) << bad;
        EXPECT_EQ(t.error().code, core::ErrorCode::kInvalidArgument);
        EXPECT_EQ(t.error().details.at("field"), "scheduled_at");
        EXPECT_EQ(t.error().details.at("rule"), "rfc3339");
    }
}

TEST(DomainTime, ResolvesOrdinaryLocalTimes) {
    EXPECT_EQ(Resolve("2026-12-01T09:00", "Europe/Berlin"), "2026-12-01T08:00:00Z");        // CET, +1
    EXPECT_EQ(Resolve("2026-07-01T09:00", "Europe/Berlin"), "2026-07-01T07:00:00Z");        // CEST, +2
    EXPECT_EQ(Resolve("2026-07-01T09:00:30", "America/New_York"), "2026-07-01T13:00:30Z");  // EDT, -4
    EXPECT_EQ(Resolve("2026-12-01T09:00", "UTC"), "2026-12-01T09:00:00Z");
    EXPECT_EQ(Resolve("2026-12-01T09:00", "Asia/Kolkata"), "2026-12-01T03:30:00Z");
}

TEST(DomainTime, LocalTimeInDstGapMovesForwardToFirstValidInstant) {
    // Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:00–02:59 never happens.
    EXPECT_EQ(Resolve("2026-03-29T02:30", "Europe/Berlin"), "2026-03-29T01:00:00Z");
    EXPECT_EQ(Resolve("2026-03-29T02:00", "Europe/Berlin"), "2026-03-29T01:00:00Z");
    // 03:00 local is that same instant, and is a real wall-clock time.
    EXPECT_EQ(Resolve("2026-03-29T03:00", "Europe/Berlin"), "2026-03-29T01:00:00Z");
    // New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT.
    EXPECT_EQ(Resolve("2026-03-08T02:15", "America/New_York"), "2026-03-08T07:00:00Z");
}

TEST(DomainTime, LocalTimeInDstOverlapTakesTheEarlierInstant) {
    // Berlin, 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice.
    EXPECT_EQ(Resolve("2026-10-25T02:30", "Europe/Berlin"), "2026-10-25T00:30:00Z");  // the CEST one
    EXPECT_EQ(Resolve("2026-10-25T03:30", "Europe/Berlin"), "2026-10-25T02:30:00Z");  // after: unique
    // New York, 2026-11-01: 01:30 happens twice; EDT (-4) is earlier.
    EXPECT_EQ(Resolve("2026-11-01T01:30", "America/New_York"), "2026-11-01T05:30:00Z");
}

TEST(DomainTime, RejectsUnknownZonesAndMalformedLocalTimes) {
    auto zone = ResolveLocalTime("2026-12-01T09:00", "Mars/Olympus_Mons");
    ASSERT_FALSE(zone.has_value());
    EXPECT_EQ(zone.error().details.at("field"), "timezone");
    EXPECT_FALSE(IsKnownTimeZone("Mars/Olympus_Mons"));
    EXPECT_TRUE(IsKnownTimeZone("Europe/Berlin"));
    for (const char* bad :
         {"2026-12-01", "2026-12-01T9:00", "2026-13-01T09:00", "2026-12-01T09:00Z", "2026-12-01T09:00+01:00"}) {
        auto t = ResolveLocalTime(bad, "Europe/Berlin");
        ASSERT_FALSE(t.has_value()) << bad;
        EXPECT_EQ(t.error().details.at("field"), "local_time") << bad;
    }
}

}  // namespace
}  // namespace herald::domain
