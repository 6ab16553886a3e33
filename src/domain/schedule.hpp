#pragma once

// Posting schedules: an account's recurring time slots in its own time zone ("Mon–Fri 09:00,
// 12:30, 17:00 America/New_York"). "Add to queue" puts a post into the next free one.

#include <array>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace herald::domain {

struct PostingSlot {
    std::array<bool, 7> days{};  ///< Monday first
    int minute_of_day = 0;       ///< local wall-clock time, 0–1439
};

struct PostingSchedule {
    std::string time_zone = "UTC";
    std::vector<PostingSlot> slots;

    /// {"timezone": "America/New_York", "slots": [{"days": ["mon", …], "times": ["09:00", …]}]}.
    /// Errors name the field ("slots[0].times[1]") and the rule.
    static core::Result<PostingSchedule> Parse(std::string_view json);
    std::string ToJson() const;

    /// The slot instants at or after `from`, earliest first, at most `limit`, looking at most
    /// `max_days` local days ahead. A wall-clock time follows the zone's DST rules: it stays at
    /// 09:00 local all year; one inside a spring-forward gap moves to the moment the clocks
    /// jump, and one repeated at fall-back happens once, the first time.
    std::vector<core::TimePoint> Upcoming(core::TimePoint from, size_t limit, int max_days = 400) const;
    /// The local wall-clock time of an instant in the schedule's zone, "2026-12-01T09:00".
    std::string LocalTime(core::TimePoint t) const;
};

/// The earliest instant at or after `from` that is a slot of every schedule and taken in none
/// (`taken[i]` holds the instants already used in schedule i). nullopt when there is none within
/// `max_days`.
std::optional<core::TimePoint> NextCommonFreeSlot(const std::vector<PostingSchedule>& schedules,
                                                  const std::vector<std::set<core::TimePoint>>& taken,
                                                  core::TimePoint from, int max_days = 400);

}  // namespace herald::domain
