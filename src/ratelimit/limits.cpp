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

Wait ExplainEarliest(const Limit& limit, std::span<const core::TimePoint> log, core::TimePoint now) {
    Wait w{now, Cause::kNone};
    const auto consider = [&](core::TimePoint t, Cause c) {
        if (t > now && t >= w.at) w = Wait{t, c};
    };
    consider(WindowAllows(limit.per_day, kDay, log, now), Cause::kDaily);
    consider(WindowAllows(limit.per_hour, kHour, log, now), Cause::kHourly);
    if (limit.min_gap.count() > 0 && !log.empty()) consider(log.back() + limit.min_gap, Cause::kMinGap);
    return w;
}

std::string Describe(Cause cause, const Limit& limit, Action action) {
    const std::string what = action == Action::kMediaUpload ? "media uploads" : std::string(ToString(action)) + "s";
    switch (cause) {
        case Cause::kNone:
            return "within the account's limits";
        case Cause::kMinGap: {
            const auto s = std::chrono::duration_cast<std::chrono::seconds>(limit.min_gap).count();
            return "at least " + (s % 60 == 0 ? std::to_string(s / 60) + " min" : std::to_string(s) + " s") +
                   " must pass between " + what;
        }
        case Cause::kHourly:
            return "hourly cap of " + std::to_string(limit.per_hour) + " " + what + " reached";
        case Cause::kDaily:
            return "daily cap of " + std::to_string(limit.per_day) + " " + what + " reached";
        case Cause::kPlatform:
            return "the platform asked Herald to slow down";
    }
    return "";
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

std::vector<Slot> PlanQueue(const Limit& limit, std::span<const core::TimePoint> log,
                            std::optional<core::TimePoint> hold_until, core::TimePoint now,
                            std::span<const QueueItem> items, std::optional<Quota> quota) {
    int used = 0;  // of the platform's reported quota
    std::vector<Slot> out(items.size());
    std::vector<size_t> by_due(items.size());
    for (size_t i = 0; i < items.size(); ++i) by_due[i] = i;
    std::sort(by_due.begin(), by_due.end(), [&](size_t a, size_t b) {
        return items[a].due != items[b].due ? items[a].due < items[b].due : items[a].id < items[b].id;
    });
    // Most urgent on top.
    const auto later = [&](size_t a, size_t b) {
        if (items[a].priority != items[b].priority) return items[a].priority < items[b].priority;
        if (items[a].rank != items[b].rank) return items[a].rank > items[b].rank;
        return items[a].id > items[b].id;
    };
    std::vector<size_t> ready;  // a heap by `later`
    std::vector<core::TimePoint> window;
    for (const auto& t : log) {
        if (t > now - kDay) window.push_back(t);
    }
    auto t = hold_until ? std::max(now, *hold_until) : now;
    size_t next = 0;
    const auto admit = [&](core::TimePoint until) {
        for (; next < by_due.size() && items[by_due[next]].due <= until; ++next) {
            ready.push_back(by_due[next]);
            std::push_heap(ready.begin(), ready.end(), later);
        }
    };
    while (next < by_due.size() || !ready.empty()) {
        if (ready.empty()) t = std::max(t, items[by_due[next]].due);
        admit(t);
        auto wait = ExplainEarliest(limit, window, t);
        if (quota && wait.at < quota->resets_at && used >= quota->remaining) {
            wait = Wait{std::max(wait.at, quota->resets_at), Cause::kPlatform};
        }
        if (quota && wait.at < quota->resets_at) ++used;
        // Whatever falls due while the limit holds the account back competes for that slot.
        admit(wait.at);
        std::pop_heap(ready.begin(), ready.end(), later);
        const size_t i = ready.back();
        ready.pop_back();
        out[i] = Slot{wait.at,
                      wait.at > items[i].due
                          ? (wait.cause == Cause::kNone && hold_until && *hold_until > items[i].due ? Cause::kPlatform
                                                                                                    : wait.cause)
                          : Cause::kNone};
        window.push_back(wait.at);
        t = wait.at;
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

std::string LimitTable::ToJson() const {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [platform, limits] : entries_) {
        auto& p = out[platform] = nlohmann::json::object();
        for (const auto& [action, l] : limits) {
            auto& a = p[std::string(ToString(action))] = nlohmann::json::object();
            if (l.per_hour > 0) a["per_hour"] = l.per_hour;
            if (l.per_day > 0) a["per_day"] = l.per_day;
            if (l.min_gap.count() > 0) a["min_gap_seconds"] = l.min_gap.count() / 1000;
        }
    }
    return out.dump();
}

core::Result<WorkspaceLimits> WorkspaceLimits::Parse(std::string_view json, const LimitTable& caps) {
    WorkspaceLimits w;
    if (json.empty()) return w;
    auto doc = nlohmann::json::parse(json, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        return core::Fail(core::ErrorCode::kInvalidArgument, "workspace limits must be a JSON object");
    }
    for (const auto& [key, value] : doc.items()) {
        if (key == "limits") {
            auto table = LimitTable::Parse(value.dump());
            if (!table) return core::FieldError("limits", "invalid", table.error().message);
            for (const auto& [platform, limits] : table->entries()) {
                for (const auto& [action, l] : limits) {
                    const Limit cap = caps.For(platform, action);
                    const std::string name = "limits." + platform + "." + std::string(ToString(action));
                    // A cap the workspace leaves out (0) keeps the platform's.
                    const auto above = [](int mine, int theirs) { return theirs > 0 && mine > theirs; };
                    if (above(l.per_hour, cap.per_hour)) {
                        return core::FieldError(name + ".per_hour", "above_cap",
                                                "a workspace may lower a limit but not raise it: " + platform +
                                                    " allows at most " + std::to_string(cap.per_hour) + " an hour");
                    }
                    if (above(l.per_day, cap.per_day)) {
                        return core::FieldError(name + ".per_day", "above_cap",
                                                "a workspace may lower a limit but not raise it: " + platform +
                                                    " allows at most " + std::to_string(cap.per_day) + " a day");
                    }
                    if (l.min_gap < cap.min_gap) {
                        return core::FieldError(
                            name + ".min_gap_seconds", "below_cap",
                            "a workspace may lengthen the gap between actions but not shorten it: " + platform +
                                " needs at least " +
                                std::to_string(std::chrono::duration_cast<std::chrono::seconds>(cap.min_gap).count()) +
                                " s");
                    }
                }
            }
            w.lowered = std::move(*table);
        } else if (key == "warmup") {
            if (!value.is_object()) return core::FieldError("warmup", "type", "warmup must be an object");
            for (const auto& [field, v] : value.items()) {
                const std::string name = "warmup." + field;
                if (field == "enabled") {
                    if (!v.is_boolean()) return core::FieldError(name, "type", name + " must be true or false");
                    w.warmup_enabled = v.get<bool>();
                } else if (field == "phase1_days" || field == "phase2_days") {
                    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 3650) {
                        return core::FieldError(name, "range", name + " must be a whole number of days from 0 to 3650");
                    }
                    (field == "phase1_days" ? w.warmup.phase1_days : w.warmup.phase2_days) = v.get<int>();
                } else if (field == "phase1_fraction" || field == "phase2_fraction") {
                    if (!v.is_number()) return core::FieldError(name, "type", name + " must be a number");
                    (field == "phase1_fraction" ? w.warmup.phase1_fraction : w.warmup.phase2_fraction) =
                        v.get<double>();
                } else {
                    return core::FieldError(name, "unknown",
                                            name +
                                                " is not a warm-up setting (enabled, phase1_days, phase1_fraction, "
                                                "phase2_days, phase2_fraction)");
                }
            }
            if (auto ok = w.warmup.Validate(); !ok) return tl::unexpected(ok.error());
        } else if (key == "jitter_seconds") {
            if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 900) {
                return core::FieldError(key, "range", "jitter_seconds must be a whole number from 0 to 900");
            }
            w.jitter_seconds = value.get<int>();
        } else {
            return core::FieldError(key, "unknown",
                                    key + " is not a workspace limit setting (limits, warmup, jitter_seconds)");
        }
    }
    return w;
}

WorkspaceLimits WorkspaceLimits::ReadStored(std::string_view json) {
    auto parsed = Parse(json, LimitTable{});
    return parsed ? *parsed : WorkspaceLimits{};
}

std::string WorkspaceLimits::ToJson() const {
    nlohmann::json out;
    out["limits"] = nlohmann::json::parse(lowered.ToJson());
    out["warmup"] = {{"enabled", warmup_enabled},
                     {"phase1_days", warmup.phase1_days},
                     {"phase1_fraction", warmup.phase1_fraction},
                     {"phase2_days", warmup.phase2_days},
                     {"phase2_fraction", warmup.phase2_fraction}};
    out["jitter_seconds"] = jitter_seconds;
    return out.dump();
}

EffectiveLimit Effective(const LimitTable& caps, const WorkspaceLimits& workspace, std::string_view platform,
                         Action action, core::TimePoint connected_at, core::TimePoint now) {
    EffectiveLimit e;
    e.platform = caps.For(platform, action);
    // Tighter again here, not only when saved: the operator may have lowered a cap since.
    e.workspace = Tighter(e.platform, workspace.lowered.For(platform, action));
    e.phase = workspace.warmup_enabled ? workspace.warmup.PhaseAt(connected_at, now) : 3;
    e.limit = workspace.warmup.Apply(e.workspace, e.phase);
    return e;
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
