#include "domain/time.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <optional>

namespace herald::domain {
namespace {

using core::FieldError;

// Reads exactly `n` digits at `pos`; advances pos.
std::optional<int> Digits(std::string_view s, size_t& pos, size_t n) {
    if (pos + n > s.size()) return std::nullopt;
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
        char c = s[pos + i];
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    pos += n;
    return v;
}

bool Expect(std::string_view s, size_t& pos, char c) {
    if (pos < s.size() && s[pos] == c) {
        ++pos;
        return true;
    }
    return false;
}

struct Civil {
    date::local_days day;
    std::chrono::seconds time_of_day;
    std::chrono::milliseconds fraction{0};
};

// Parses "YYYY-MM-DDTHH:MM[:SS[.fff]]" from the front of s; pos ends after it.
std::optional<Civil> ParseCivil(std::string_view s, size_t& pos, bool seconds_required) {
    auto y = Digits(s, pos, 4);
    if (!y || !Expect(s, pos, '-')) return std::nullopt;
    auto mo = Digits(s, pos, 2);
    if (!mo || !Expect(s, pos, '-')) return std::nullopt;
    auto d = Digits(s, pos, 2);
    if (!d) return std::nullopt;
    if (!(Expect(s, pos, 'T') || Expect(s, pos, 't'))) return std::nullopt;
    auto h = Digits(s, pos, 2);
    if (!h || !Expect(s, pos, ':')) return std::nullopt;
    auto mi = Digits(s, pos, 2);
    if (!mi) return std::nullopt;
    int sec = 0;
    std::chrono::milliseconds frac{0};
    if (Expect(s, pos, ':')) {
        auto se = Digits(s, pos, 2);
        if (!se) return std::nullopt;
        sec = *se;
        if (Expect(s, pos, '.')) {
            int scale = 100;
            size_t start = pos;
            while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
                frac += std::chrono::milliseconds((s[pos] - '0') * scale);
                scale /= 10;
                ++pos;
            }
            if (pos == start) return std::nullopt;
        }
    } else if (seconds_required) {
        return std::nullopt;
    }
    date::year_month_day ymd{date::year{*y}, date::month{static_cast<unsigned>(*mo)},
                             date::day{static_cast<unsigned>(*d)}};
    // Leap seconds (":60") are not representable in Unix time; refuse them rather than guess.
    if (!ymd.ok() || *h > 23 || *mi > 59 || sec > 59) return std::nullopt;
    return Civil{date::local_days{ymd}, std::chrono::hours(*h) + std::chrono::minutes(*mi) + std::chrono::seconds(sec),
                 frac};
}

}  // namespace

core::Result<core::TimePoint> ParseRfc3339(std::string_view text, std::string_view field) {
    const std::string f(field);
    auto bad = [&] {
        return FieldError(f, "rfc3339",
                          f + " must be an RFC 3339 date-time with an offset, e.g. 2026-12-01T09:00:00Z or "
                              "2026-12-01T10:00:00+01:00");
    };
    size_t pos = 0;
    auto civil = ParseCivil(text, pos, /*seconds_required=*/true);
    if (!civil) return bad();
    std::chrono::minutes offset{0};
    if (Expect(text, pos, 'Z') || Expect(text, pos, 'z')) {
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
        int sign = text[pos] == '-' ? -1 : 1;
        ++pos;
        auto oh = Digits(text, pos, 2);
        if (!oh || !Expect(text, pos, ':')) return bad();
        auto om = Digits(text, pos, 2);
        if (!om || *oh > 23 || *om > 59) return bad();
        offset = sign * (std::chrono::hours(*oh) + std::chrono::minutes(*om));
    } else {
        return bad();
    }
    if (pos != text.size()) return bad();
    auto sys = date::sys_days{civil->day.time_since_epoch()} + civil->time_of_day - offset;
    return core::TimePoint(std::chrono::duration_cast<core::Millis>(sys.time_since_epoch()) + civil->fraction);
}

std::string FormatRfc3339(core::TimePoint t) {
    // By hand rather than through date::format (a stream per call): every event and API
    // answer formats several of these, and the queue's events are on the publish path.
    using namespace std::chrono;
    const sys_time<core::Millis> at(t.time_since_epoch());
    const auto day = floor<days>(at);
    const year_month_day ymd(day);
    const int64_t in_day = (at - day).count();  // 0 … 86,399,999
    const int ms = static_cast<int>(in_day % 1000);
    const int64_t secs = in_day / 1000;
    char buf[40];
    int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
                          static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                          static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
    if (ms != 0) n += std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n), ".%03d", ms);
    buf[n++] = 'Z';
    return std::string(buf, static_cast<size_t>(n));
}

bool IsKnownTimeZone(std::string_view name) {
    if (name.empty()) return false;
    try {
        return date::locate_zone(name) != nullptr;
    } catch (const std::exception&) {
        return false;
    }
}

core::Result<core::TimePoint> ResolveLocalTime(std::string_view local_time, std::string_view time_zone) {
    const date::time_zone* zone = nullptr;
    try {
        zone = date::locate_zone(time_zone);
    } catch (const std::exception&) {
    }
    if (zone == nullptr) {
        return FieldError(
            "timezone", "iana_time_zone",
            "timezone must be an IANA time zone such as Europe/Berlin, got '" + std::string(time_zone) + "'");
    }
    size_t pos = 0;
    auto civil = ParseCivil(local_time, pos, /*seconds_required=*/false);
    if (!civil || pos != local_time.size()) {
        return FieldError("local_time", "local_date_time",
                          "local_time must be a date and time without offset, e.g. 2026-12-01T09:00");
    }
    date::local_seconds local = date::local_seconds{civil->day.time_since_epoch()} + civil->time_of_day;
    const date::local_info info = zone->get_info(local);
    date::sys_seconds instant;
    switch (info.result) {
        case date::local_info::unique:
        case date::local_info::ambiguous:
            // For an overlap, `first` is the offset in force before the clocks went back,
            // which gives the earlier of the two instants.
            instant = date::sys_seconds{local.time_since_epoch()} - info.first.offset;
            break;
        case date::local_info::nonexistent:
            // The gap ends when the new offset begins: the first instant that exists.
            instant = info.second.begin;
            return core::TimePoint(std::chrono::duration_cast<core::Millis>(instant.time_since_epoch()));
    }
    return core::TimePoint(std::chrono::duration_cast<core::Millis>(instant.time_since_epoch()) + civil->fraction);
}

}  // namespace herald::domain
