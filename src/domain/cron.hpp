#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace herald::domain {

/// A parsed five-field cron expression: minute hour day-of-month month day-of-week,
/// evaluated in an IANA time zone (UTC by default).
class CronSchedule {
  public:
    /// Parses "*/15 * * * *", "0 2 * * *", "0 9 * * MON-FRI", "30 8 1,15 * *", also the
    /// nicknames @hourly @daily @weekly @monthly @yearly. Fields: numbers, ranges a-b, steps
    /// */n and a-b/n, lists, names JAN-DEC and SUN-SAT (case-insensitive), 7 = Sunday.
    /// Errors are kInvalidArgument with a plain message saying which field is wrong and why
    /// (e.g. "cron expression \"0 25 * * *\": hour 25 is out of range 0-23"), and details
    /// {"field": "cron", "rule": "cron_expression"}; an unknown zone has
    /// {"field": "timezone", "rule": "iana_time_zone"}, as in ResolveLocalTime.
    ///
    /// As in Vixie cron, a day-of-month or day-of-week field that starts with "*" ("*", "*/2")
    /// counts as unrestricted for the rule in Next. A step needs "*" or a range before it:
    /// "5/15" is refused rather than guessed at.
    static core::Result<CronSchedule> Parse(std::string_view expression, std::string_view time_zone = "UTC");

    /// The first tick strictly after `after`. Standard cron semantics for day-of-month vs
    /// day-of-week: when both are restricted (neither is *), a day matches if either matches.
    /// DST: a local time that does not exist (spring-forward gap) fires once at the moment the
    /// clocks jump (same rule as ResolveLocalTime); a local time that happens twice (fall back)
    /// fires once, at the earlier instant. Returns an error only if no tick exists within 5
    /// years (e.g. "0 0 30 2 *").
    core::Result<core::TimePoint> Next(core::TimePoint after) const;

    const std::string& expression() const { return expression_; }
    const std::string& time_zone() const { return time_zone_; }

  private:
    struct Matcher;  // the calendar search, defined in cron.cpp

    CronSchedule() = default;

    std::string expression_;
    std::string time_zone_;
    // One bit per allowed value: bit i set means value i matches.
    uint64_t minutes_ = 0;        // 0-59
    uint64_t hours_ = 0;          // 0-23
    uint64_t days_of_month_ = 0;  // 1-31
    uint64_t months_ = 0;         // 1-12
    uint64_t days_of_week_ = 0;   // 0-6, 0 = Sunday
    bool day_of_month_restricted_ = false;
    bool day_of_week_restricted_ = false;
};

}  // namespace herald::domain
