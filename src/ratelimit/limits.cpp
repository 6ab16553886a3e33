#include "ratelimit/limits.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace herald::ratelimit {

namespace {

constexpr core::Millis kHour = std::chrono::hours(1);
constexpr core::Millis kDay = std::chrono::hours(24);

constexpr std::array<std::pair<Action, std::string_view>, 4> kActionNames = {{
    {Action::kPost, "post"},
    {Action::kReply, "reply"},
    {Action::kComment, "comment"},
    {Action::kMediaUpload, "media_upload"},
}};

int TighterCount(int a, int b) {
    if (a == 0) return b;
    if (b == 0) return a;
    return std::min(a, b);
}

// The earliest t >= now at which fewer than `cap` of `log` fall in (t - window, t].
core::TimePoint WindowAllows(int cap, core::Millis window, std::span<const core::TimePoint> log, core::TimePoint now) {
    if (cap <= 0 || static_cast<int>(log.size()) < cap) return now;
    // The cap-th newest action must have left the window: t - window >= it.
    return std::max(now, log[log.size() - static_cast<size_t>(cap)] + window);
}

}  // namespace

std::string_view ToString(Action a) {
    for (const auto& [action, name] : kActionNames) {
        if (action == a) return name;
    }
    return "post";
}

std::optional<Action> ParseAction(std::string_view s) {
    for (const auto& [action, name] : kActionNames) {
        if (name == s) return action;
    }
    return std::nullopt;
}

Limit Tighter(const Limit& a, const Limit& b) {
    return Limit{TighterCount(a.per_hour, b.per_hour), TighterCount(a.per_day, b.per_day),
                 std::max(a.min_gap, b.min_gap)};
}

core::Status Warmup::Validate() const {
    if (phase1_days < 0 || phase2_days <= phase1_days) {
        return core::FieldError("warmup", "order", "warm-up phase 2 must end after phase 1, and neither before day 0");
    }
    for (double f : {phase1_fraction, phase2_fraction}) {
        if (!(f > 0.0 && f <= 1.0)) {
            return core::FieldError("warmup", "range", "warm-up fractions must be above 0 and at most 1");
        }
    }
    return {};
}

int Warmup::PhaseAt(core::TimePoint connected_at, core::TimePoint now) const {
    const auto age = now - connected_at;
    if (age < std::chrono::hours(24) * phase1_days) return 1;
    if (age < std::chrono::hours(24) * phase2_days) return 2;
    return 3;
}

Limit Warmup::Apply(const Limit& full, int phase) const {
    if (phase >= 3) return full;
    const double f = phase == 1 ? phase1_fraction : phase2_fraction;
    // The small epsilon keeps 100 × 0.29 at 29 despite binary fractions.
    const auto scale = [f](int cap) {
        return cap == 0 ? 0 : std::max(1, static_cast<int>(std::floor(cap * f + 1e-9)));
    };
    return Limit{scale(full.per_hour), scale(full.per_day),
                 core::Millis(static_cast<int64_t>(std::ceil(static_cast<double>(full.min_gap.count()) / f)))};
}

core::TimePoint EarliestAllowed(const Limit& limit, std::span<const core::TimePoint> log, core::TimePoint now) {
    auto t = now;
    t = std::max(t, WindowAllows(limit.per_hour, kHour, log, now));
    t = std::max(t, WindowAllows(limit.per_day, kDay, log, now));
    if (limit.min_gap.count() > 0 && !log.empty()) t = std::max(t, log.back() + limit.min_gap);
    return t;
}

std::vector<core::TimePoint> PlanActions(const Limit& limit, std::span<const core::TimePoint> log, core::TimePoint now,
                                         std::span<const core::TimePoint> not_before, size_t count) {
    // Only the last day of the log can matter, and it only grows at its end.
    std::vector<core::TimePoint> window;
    for (const auto& t : log) {
        if (t > now - kDay) window.push_back(t);
    }
    std::vector<core::TimePoint> out;
    out.reserve(count);
    auto at = now;
    for (size_t i = 0; i < count; ++i) {
        auto from = at;
        if (i < not_before.size()) from = std::max(from, not_before[i]);
        at = EarliestAllowed(limit, window, from);
        out.push_back(at);
        window.push_back(at);
    }
    return out;
}

const LimitTable& LimitTable::Defaults() {
    extern const std::string_view kDefaultLimitsJson;
    static const LimitTable table = [] {
        auto parsed = Parse(kDefaultLimitsJson);
        if (!parsed) throw std::logic_error("the built-in limit table is invalid: " + parsed.error().message);
        return *parsed;
    }();
    return table;
}

core::Result<LimitTable> LimitTable::Parse(std::string_view json) {
    auto doc = nlohmann::json::parse(json, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        return core::Fail(core::ErrorCode::kInvalidArgument, "the limit table must be a JSON object of platforms");
    }
    LimitTable t;
    for (const auto& [platform, actions] : doc.items()) {
        if (!actions.is_object()) {
            return core::Fail(core::ErrorCode::kInvalidArgument, "limits of " + platform + " must be an object");
        }
        std::vector<std::pair<Action, Limit>> limits;
        for (const auto& [name, v] : actions.items()) {
            if (name == "note") continue;  // where the figures come from, for people
            const auto action = ParseAction(name);
            if (!action) {
                return core::Fail(core::ErrorCode::kInvalidArgument,
                                  platform + "." + name + " is not an action (post, reply, comment, media_upload)");
            }
            if (!v.is_object()) {
                return core::Fail(core::ErrorCode::kInvalidArgument, platform + "." + name + " must be an object");
            }
            Limit l;
            for (const auto& [field, n] : v.items()) {
                if (!n.is_number_integer() || n.get<int64_t>() < 0 || n.get<int64_t>() > 1000000) {
                    return core::Fail(
                        core::ErrorCode::kInvalidArgument,
                        platform + "." + name + "." + field + " must be a whole number from 0 to 1000000");
                }
                const int value = n.get<int>();
                if (field == "per_hour") {
                    l.per_hour = value;
                } else if (field == "per_day") {
                    l.per_day = value;
                } else if (field == "min_gap_seconds") {
                    l.min_gap = std::chrono::seconds(value);
                } else {
                    return core::Fail(
                        core::ErrorCode::kInvalidArgument,
                        platform + "." + name + "." + field + " is not a limit (per_hour, per_day, min_gap_seconds)");
                }
            }
            limits.emplace_back(*action, l);
        }
        t.entries_.emplace_back(platform, std::move(limits));
    }
    return t;
}

Limit LimitTable::For(std::string_view platform, Action action) const {
    for (const auto& [p, limits] : entries_) {
        if (p != platform) continue;
        for (const auto& [a, l] : limits) {
            if (a == action) return l;
        }
    }
    return {};
}

}  // namespace herald::ratelimit
