#include "domain/cron.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <optional>
#include <span>
#include <vector>

#include "domain/time.hpp"

namespace herald::domain {
namespace {

using core::FieldError;
using LocalMinutes = date::local_time<std::chrono::minutes>;

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct FieldSpec {
    std::string_view name;
    int min;
    int max;
    int star_max;  // "*" covers min..star_max; for day-of-week 7 is only another way to say Sunday
    std::span<const std::string_view> names;
    int first_name_value;
    std::string_view names_hint;
    bool seven_is_sunday;
};

constexpr FieldSpec kMinute{"minute", 0, 59, 59, {}, 0, "", false};
constexpr FieldSpec kHour{"hour", 0, 23, 23, {}, 0, "", false};
constexpr FieldSpec kDayOfMonth{"day-of-month", 1, 31, 31, {}, 0, "", false};
constexpr FieldSpec kMonth{"month", 1, 12, 12, kMonthNames, 1, "month name (JAN-DEC)", false};
constexpr FieldSpec kDayOfWeek{"day-of-week", 0, 7, 6, kDayNames, 0, "day name (SUN-SAT)", true};

struct Nickname {
    std::string_view name;
    std::string_view fields;
};

constexpr std::array<Nickname, 7> kNicknames = {{
    {"@hourly", "0 * * * *"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},
    {"@monthly", "0 0 1 * *"},
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
}};

// How far Next looks before it decides the expression never fires.
constexpr date::years kHorizon{5};

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

bool AllDigits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Digits only (checked by the caller); saturates instead of overflowing, which is still out of range.
int ToInt(std::string_view digits) {
    int v = 0;
    for (char c : digits) v = std::min(v * 10 + (c - '0'), 1'000'000);
    return v;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view Trim(std::string_view s) {
    while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
    while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> SplitFields(std::string_view s) {
    std::vector<std::string_view> out;
    size_t pos = 0;
    while (pos < s.size()) {
        while (pos < s.size() && IsSpace(s[pos])) ++pos;
        size_t start = pos;
        while (pos < s.size() && !IsSpace(s[pos])) ++pos;
        if (pos > start) out.push_back(s.substr(start, pos - start));
    }
    return out;
}

// Each parse step returns the reason a field is wrong, without the "cron expression ..." prefix.
using Reason = std::optional<std::string>;

tl::expected<int, std::string> ParseValue(std::string_view text, const FieldSpec& f) {
    const std::string name(f.name);
    if (AllDigits(text)) {
        const int v = ToInt(text);
        if (v < f.min || v > f.max) {
            return tl::unexpected(name + " " + std::string(text) + " is out of range " + std::to_string(f.min) + "-" +
                                  std::to_string(f.max));
        }
        return v;
    }
    for (size_t i = 0; i < f.names.size(); ++i) {
        if (EqualsIgnoreCase(text, f.names[i])) return f.first_name_value + static_cast<int>(i);
    }
    std::string why = name + " \"" + std::string(text) + "\" is not a number";
    if (!f.names.empty()) why += " or a " + std::string(f.names_hint);
    return tl::unexpected(why);
}

// One list item: "*", "5", "1-5", "*/15" or "1-30/5".
Reason AddItem(std::string_view item, const FieldSpec& f, uint64_t& bits) {
    const std::string name(f.name);
    const std::string quoted = name + " \"" + std::string(item) + "\"";
    const std::string malformed = quoted + " is malformed; expected a value, a range a-b, or a step */n or a-b/n";

    std::string_view base = item;
    std::string_view step_text;
    const bool has_step = item.find('/') != std::string_view::npos;
    if (has_step) {
        const size_t slash = item.find('/');
        base = item.substr(0, slash);
        step_text = item.substr(slash + 1);
        if (base.empty() || step_text.find('/') != std::string_view::npos) return malformed;
    }

    int lo = 0;
    int hi = 0;
    if (base == "*") {
        lo = f.min;
        hi = f.star_max;
    } else if (const size_t dash = base.find('-'); dash == std::string_view::npos) {
        if (has_step) return quoted + " has a step without a range; write */n or a-b/n";
        auto v = ParseValue(base, f);
        if (!v) return v.error();
        lo = hi = *v;
    } else {
        const std::string_view lo_text = base.substr(0, dash);
        const std::string_view hi_text = base.substr(dash + 1);
        if (lo_text.empty() || hi_text.empty() || hi_text.find('-') != std::string_view::npos) return malformed;
        auto l = ParseValue(lo_text, f);
        if (!l) return l.error();
        auto h = ParseValue(hi_text, f);
        if (!h) return h.error();
        if (*l > *h) {
            std::string why =
                name + " range " + std::string(base) + " is reversed: the start must not be after the end";
            if (f.seven_is_sunday && *h == 0) why += " (use 7 for Sunday at the end of a range)";
            return why;
        }
        lo = *l;
        hi = *h;
    }

    int step = 1;
    if (has_step) {
        if (!AllDigits(step_text)) return name + " step \"" + std::string(step_text) + "\" is not a number";
        step = ToInt(step_text);
        if (step < 1 || step > f.max) {
            return name + " step " + std::string(step_text) + " is out of range 1-" + std::to_string(f.max);
        }
    }
    for (int v = lo; v <= hi; v += step) bits |= uint64_t{1} << v;
    return std::nullopt;
}

// A whole field: a comma-separated list of items.
Reason ParseField(std::string_view text, const FieldSpec& f, uint64_t& bits) {
    bits = 0;
    size_t start = 0;
    while (true) {
        const size_t comma = text.find(',', start);
        const std::string_view item =
            text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        if (item.empty()) return std::string(f.name) + " \"" + std::string(text) + "\" has an empty list item";
        if (auto why = AddItem(item, f, bits)) return why;
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    if (f.seven_is_sunday && (bits & (uint64_t{1} << 7)) != 0) {
        bits &= ~(uint64_t{1} << 7);
        bits |= 1;
    }
    return std::nullopt;
}

bool Has(uint64_t bits, unsigned value) { return value < 64 && (bits & (uint64_t{1} << value)) != 0; }

// The smallest set value >= from, or -1.
int NextBit(uint64_t bits, int from) {
    if (from >= 64) return -1;
    const uint64_t rest = bits & (~uint64_t{0} << from);
    return rest == 0 ? -1 : std::countr_zero(rest);
}

const date::time_zone* LocateZone(std::string_view name) {
    if (name.empty()) return nullptr;
    try {
        return date::locate_zone(name);
    } catch (const std::exception&) {
        return nullptr;
    }
}

// The instant a wall-clock minute stands for, by the rules of ResolveLocalTime: a time in a DST
// gap becomes the moment the clocks jump; a time in an overlap takes the earlier instant.
core::TimePoint ToInstant(const date::time_zone& zone, LocalMinutes local) {
    const date::local_seconds secs{local};
    const date::local_info info = zone.get_info(secs);
    date::sys_seconds instant;
    if (info.result == date::local_info::nonexistent) {
        instant = info.second.begin;
    } else {
        // unique, or ambiguous: `first` is the offset before the clocks went back.
        instant = date::sys_seconds{secs.time_since_epoch()} - info.first.offset;
    }
    return core::TimePoint(std::chrono::duration_cast<core::Millis>(instant.time_since_epoch()));
}

}  // namespace

struct CronSchedule::Matcher {
    static bool DayMatches(const CronSchedule& s, date::year_month_day ymd) {
        const bool dom = Has(s.days_of_month_, static_cast<unsigned>(ymd.day()));
        const bool dow = Has(s.days_of_week_, date::weekday{date::local_days{ymd}}.c_encoding());
        // Vixie cron: when both day fields are restricted either may match; otherwise both must
        // (and the unrestricted one matches every day, or every n-th for "*/n").
        if (s.day_of_month_restricted_ && s.day_of_week_restricted_) return dom || dow;
        return dom && dow;
    }

    // The first local minute >= from that matches the fields, on or before the day `limit`.
    // Skips whole months, days and hours that cannot match, so a search over years is a few
    // thousand steps at most.
    static std::optional<LocalMinutes> NextLocal(const CronSchedule& s, LocalMinutes from, date::year_month_day limit) {
        using std::chrono::hours;
        using std::chrono::minutes;
        const date::local_days first_day = date::floor<date::days>(from);
        date::year_month_day ymd{first_day};
        int hour = static_cast<int>(std::chrono::floor<hours>(from - first_day).count());
        int minute = static_cast<int>((from - first_day - hours(hour)).count());
        auto next_day = [&] {
            ymd = date::year_month_day{date::local_days{ymd} + date::days{1}};
            hour = 0;
            minute = 0;
        };
        while (ymd <= limit) {
            if (!Has(s.months_, static_cast<unsigned>(ymd.month()))) {
                ymd = date::year_month_day{ymd.year(), ymd.month(), date::day{1}} + date::months{1};
                hour = 0;
                minute = 0;
                continue;
            }
            if (!DayMatches(s, ymd)) {
                next_day();
                continue;
            }
            const int h = NextBit(s.hours_, hour);
            if (h < 0) {
                next_day();
                continue;
            }
            if (h != hour) {
                hour = h;
                minute = 0;
            }
            const int m = NextBit(s.minutes_, minute);
            if (m < 0) {
                ++hour;
                minute = 0;
                continue;
            }
            return date::local_days{ymd} + hours(hour) + minutes(m);
        }
        return std::nullopt;
    }
};

core::Result<CronSchedule> CronSchedule::Parse(std::string_view expression, std::string_view time_zone) {
    const std::string expr(expression);
    auto bad = [&](const std::string& why) {
        return FieldError("cron", "cron_expression", "cron expression \"" + expr + "\": " + why);
    };

    std::string_view text = Trim(expression);
    if (!text.empty() && text.front() == '@') {
        const auto it = std::find_if(kNicknames.begin(), kNicknames.end(),
                                     [&](const Nickname& n) { return EqualsIgnoreCase(text, n.name); });
        if (it == kNicknames.end()) {
            return bad("unknown nickname " + std::string(text) + "; use @hourly, @daily, @weekly, @monthly or @yearly");
        }
        text = it->fields;
    }

    const std::vector<std::string_view> fields = SplitFields(text);
    if (fields.size() != 5) {
        return bad("expected 5 fields (minute hour day-of-month month day-of-week), got " +
                   std::to_string(fields.size()));
    }

    CronSchedule s;
    if (auto why = ParseField(fields[0], kMinute, s.minutes_)) return bad(*why);
    if (auto why = ParseField(fields[1], kHour, s.hours_)) return bad(*why);
    if (auto why = ParseField(fields[2], kDayOfMonth, s.days_of_month_)) return bad(*why);
    if (auto why = ParseField(fields[3], kMonth, s.months_)) return bad(*why);
    if (auto why = ParseField(fields[4], kDayOfWeek, s.days_of_week_)) return bad(*why);
    s.day_of_month_restricted_ = fields[2].front() != '*';
    s.day_of_week_restricted_ = fields[4].front() != '*';

    if (LocateZone(time_zone) == nullptr) {
        return FieldError(
            "timezone", "iana_time_zone",
            "timezone must be an IANA time zone such as Europe/Berlin, got '" + std::string(time_zone) + "'");
    }
    s.expression_ = expr;
    s.time_zone_ = std::string(time_zone);
    return s;
}

core::Result<core::TimePoint> CronSchedule::Next(core::TimePoint after) const {
    const date::time_zone* zone = LocateZone(time_zone_);
    if (zone == nullptr) {
        return core::Fail(core::ErrorCode::kInternal, "time zone '" + time_zone_ + "' is missing from the tz database");
    }
    // Start at the wall-clock minute `after` falls in. Every earlier local minute stands for an
    // instant at or before `after`, so nothing is skipped; candidates that still resolve to
    // `after` or earlier (the second pass through a fall-back hour, or a gap already fired)
    // are stepped over below.
    LocalMinutes from = date::floor<std::chrono::minutes>(zone->to_local(after));
    const date::year_month_day limit = date::year_month_day{date::floor<date::days>(from)} + kHorizon;
    while (true) {
        const auto local = Matcher::NextLocal(*this, from, limit);
        if (!local) {
            return FieldError(
                "cron", "cron_expression",
                "cron expression \"" + expression_ + "\" has no tick in the 5 years after " + FormatRfc3339(after));
        }
        const core::TimePoint instant = ToInstant(*zone, *local);
        if (instant > after) return instant;
        from = *local + std::chrono::minutes(1);
    }
}

}  // namespace herald::domain
