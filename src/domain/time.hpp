#pragma once

#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace herald::domain {

/// Parses an RFC 3339 instant ("2026-12-01T09:00:00Z", "2026-12-01T09:00:00.250+01:00").
/// A time without an offset is refused: an instant must say which one it is.
core::Result<core::TimePoint> ParseRfc3339(std::string_view text, std::string_view field = "scheduled_at");

/// Formats as RFC 3339 in UTC, with milliseconds only when they are not zero.
std::string FormatRfc3339(core::TimePoint t);

/// True when `name` is an IANA time zone known to the OS tz database.
bool IsKnownTimeZone(std::string_view name);

/// Turns a wall-clock time in an IANA zone ("2026-12-01T09:00" or "...T09:00:30",
/// "Europe/Berlin") into an instant. The rules, chosen so a post is never skipped:
/// - a local time inside a DST gap (it never happens on the wall clock) moves forward to the
///   first valid instant, the moment the clocks jump;
/// - a local time inside a DST overlap (it happens twice) takes the earlier instant.
core::Result<core::TimePoint> ResolveLocalTime(std::string_view local_time, std::string_view time_zone);

}  // namespace herald::domain
