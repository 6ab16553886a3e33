#include "domain/schedule.hpp"

#include <date/tz.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "domain/time.hpp"

namespace herald::domain {
namespace {

constexpr std::array<std::string_view, 7> kDays = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
constexpr size_t kMaxSlots = 100;

std::optional<int> ParseClock(const std::string& s) {
    if (s.size() != 5 || s[2] != ':') return std::nullopt;
    for (size_t i : {0u, 1u, 3u, 4u}) {
        if (s[i] < '0' || s[i] > '9') return std::nullopt;
    }
    const int h = (s[0] - '0') * 10 + (s[1] - '0');
    const int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59) return std::nullopt;
    return h * 60 + m;
}

std::string FormatClock(int minute_of_day) {
    const int h = minute_of_day / 60, m = minute_of_day % 60;
    return std::string{static_cast<char>('0' + h / 10), static_cast<char>('0' + h % 10), ':',
                       static_cast<char>('0' + m / 10), static_cast<char>('0' + m % 10)};
}

}  // namespace

core::Result<PostingSchedule> PostingSchedule::Parse(std::string_view json) {
    auto doc = nlohmann::json::parse(json, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        return core::FieldError("body", "json", "the schedule must be a JSON object {timezone, slots}");
    }
    PostingSchedule out;
    for (const auto& [key, value] : doc.items()) {
        if (key != "timezone" && key != "slots") {
            return core::FieldError(key, "unknown_field", key + " is not part of a schedule (timezone, slots)");
        }
    }
    if (!doc.contains("timezone") || !doc["timezone"].is_string()) {
        return core::FieldError("timezone", "required", "timezone is required: an IANA zone such as Europe/Berlin");
    }
    out.time_zone = doc["timezone"].get<std::string>();
    if (!IsKnownTimeZone(out.time_zone)) {
        return core::FieldError(
            "timezone", "iana_time_zone",
            "timezone must be an IANA time zone such as Europe/Berlin, got '" + out.time_zone + "'");
    }
    if (!doc.contains("slots") || !doc["slots"].is_array()) {
        return core::FieldError("slots", "required", "slots is required: a list of {days, times} (empty clears)");
    }
    for (size_t i = 0; i < doc["slots"].size(); ++i) {
        const auto& slot = doc["slots"][i];
        const std::string name = "slots[" + std::to_string(i) + "]";
        if (!slot.is_object()) return core::FieldError(name, "type", name + " must be an object {days, times}");
        for (const auto& [key, value] : slot.items()) {
            if (key != "days" && key != "times") {
                return core::FieldError(name + "." + key, "unknown_field",
                                        key + " is not part of a slot (days, times)");
            }
        }
        PostingSlot base;
        if (!slot.contains("days") || !slot["days"].is_array() || slot["days"].empty()) {
            return core::FieldError(name + ".days", "required", name + ".days must list days: mon, tue, … sun");
        }
        for (size_t k = 0; k < slot["days"].size(); ++k) {
            const auto& d = slot["days"][k];
            const auto it = d.is_string() ? std::find(kDays.begin(), kDays.end(), d.get<std::string>()) : kDays.end();
            if (it == kDays.end()) {
                return core::FieldError(name + ".days[" + std::to_string(k) + "]", "enum",
                                        "days are mon, tue, wed, thu, fri, sat, sun");
            }
            base.days[static_cast<size_t>(it - kDays.begin())] = true;
        }
        if (!slot.contains("times") || !slot["times"].is_array() || slot["times"].empty()) {
            return core::FieldError(name + ".times", "required", name + ".times must list local times like 09:00");
        }
        for (size_t k = 0; k < slot["times"].size(); ++k) {
            const auto& t = slot["times"][k];
            const auto minute = t.is_string() ? ParseClock(t.get<std::string>()) : std::nullopt;
            if (!minute) {
                return core::FieldError(name + ".times[" + std::to_string(k) + "]", "clock_time",
                                        "times are 24-hour local times like 09:00 or 17:30");
            }
            PostingSlot s = base;
            s.minute_of_day = *minute;
            out.slots.push_back(s);
            if (out.slots.size() > kMaxSlots) {
                return core::FieldError("slots", "max_items",
                                        "a schedule holds at most " + std::to_string(kMaxSlots) + " times");
            }
        }
    }
    return out;
}

std::string PostingSchedule::ToJson() const {
    // Slots with the same days are listed together, times in order.
    std::vector<std::pair<std::array<bool, 7>, std::vector<int>>> groups;
    for (const auto& s : slots) {
        auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == s.days; });
        if (it == groups.end()) it = groups.insert(groups.end(), {s.days, {}});
        it->second.push_back(s.minute_of_day);
    }
    nlohmann::json list = nlohmann::json::array();
    for (auto& [days, minutes] : groups) {
        std::sort(minutes.begin(), minutes.end());
        minutes.erase(std::unique(minutes.begin(), minutes.end()), minutes.end());
        nlohmann::json d = nlohmann::json::array(), t = nlohmann::json::array();
        for (size_t i = 0; i < 7; ++i) {
            if (days[i]) d.push_back(kDays[i]);
        }
        for (int m : minutes) t.push_back(FormatClock(m));
        list.push_back({{"days", d}, {"times", t}});
    }
    return nlohmann::json{{"timezone", time_zone}, {"slots", list}}.dump();
}

std::string PostingSchedule::LocalTime(core::TimePoint t) const {
    const auto* zone = date::locate_zone(time_zone);
    const auto local = date::floor<std::chrono::minutes>(zone->to_local(t));
    return date::format("%Y-%m-%dT%H:%M", local);
}

std::vector<core::TimePoint> PostingSchedule::Upcoming(core::TimePoint from, size_t limit, int max_days) const {
    std::vector<core::TimePoint> out;
    if (slots.empty() || limit == 0) return out;
    const auto* zone = date::locate_zone(time_zone);
    // Start a day early: a slot late on the previous local date may still be ahead of `from`
    // in UTC terms only if the zone is behind; starting early costs nothing and misses nothing.
    auto day = date::floor<date::days>(zone->to_local(from)) - date::days{1};
    for (int i = 0; i <= max_days + 1 && out.size() < limit; ++i, day += date::days{1}) {
        const date::weekday wd{day};
        const size_t index = (wd.c_encoding() + 6) % 7;  // Monday first
        std::vector<core::TimePoint> today;
        for (const auto& s : slots) {
            if (!s.days[index]) continue;
            const auto local = date::format("%Y-%m-%d", day) + "T" + FormatClock(s.minute_of_day);
            auto instant = ResolveLocalTime(local, time_zone);
            if (instant && *instant >= from) today.push_back(*instant);
        }
        std::sort(today.begin(), today.end());
        today.erase(std::unique(today.begin(), today.end()), today.end());
        for (const auto& t : today) {
            if (out.size() < limit) out.push_back(t);
        }
    }
    return out;
}

std::optional<core::TimePoint> NextCommonFreeSlot(const std::vector<PostingSchedule>& schedules,
                                                  const std::vector<std::set<core::TimePoint>>& taken,
                                                  core::TimePoint from, int max_days) {
    if (schedules.empty()) return std::nullopt;
    // The first schedule's slots, checked against the others.
    std::vector<std::set<core::TimePoint>> others;
    const auto candidates = schedules[0].Upcoming(from, 5000, max_days);
    if (candidates.empty()) return std::nullopt;
    for (size_t i = 1; i < schedules.size(); ++i) {
        const auto list = schedules[i].Upcoming(from, 5000, max_days);
        others.emplace_back(list.begin(), list.end());
    }
    for (const auto& t : candidates) {
        bool ok = true;
        for (size_t i = 0; i < schedules.size() && ok; ++i) {
            if (i < taken.size() && taken[i].count(t)) ok = false;
            if (i > 0 && !others[i - 1].count(t)) ok = false;
        }
        if (ok) return t;
    }
    return std::nullopt;
}

}  // namespace herald::domain
