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
constexpr std::array<std::pair<Action, std::string_view>, 4> kActionPlurals = {{
    {Action::kPost, "posts"},
    {Action::kReply, "replies"},
    {Action::kComment, "comments"},
    {Action::kMediaUpload, "media uploads"},
}};

int TighterCount(int a, int b) {
    if (a == 0) return b;
    if (b == 0) return a;
    return std::min(a, b);
}

// The earliest t >= now at which at most `cap - count` of `log` fall in (t - window, t], so
// `count` more fit; kNever when count > cap.
core::TimePoint WindowAllows(int cap, core::Millis window, std::span<const core::TimePoint> log, core::TimePoint now,
                             int count = 1) {
    if (cap <= 0) return now;
    if (count > cap) return kNever;
    const auto keep = static_cast<size_t>(cap - count);  // how many may stay in the window
    if (log.size() <= keep) return now;
    // The (keep + 1)-th newest action must have left the window: t - window >= it.
    return std::max(now, log[log.size() - keep - 1] + window);
}

}  // namespace

std::string_view ToString(Action a) {
    for (const auto& [action, name] : kActionNames) {
        if (action == a) return name;
    }
    return "post";
}

std::string_view Plural(Action a) {
    for (const auto& [action, plural] : kActionPlurals) {
        if (action == a) return plural;
    }
    return "actions";
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

Wait ExplainEarliest(const Limit& limit, std::span<const core::TimePoint> log, core::TimePoint now, int count) {
    Wait w{now, Cause::kNone};
    const auto consider = [&](core::TimePoint t, Cause c) {
        if (t > now && t >= w.at) w = Wait{t, c};
    };
    consider(WindowAllows(limit.per_day, kDay, log, now, count), Cause::kDaily);
    consider(WindowAllows(limit.per_hour, kHour, log, now, count), Cause::kHourly);
    if (w.at == kNever) return w;
    if (limit.min_gap.count() > 0 && !log.empty()) consider(log.back() + limit.min_gap, Cause::kMinGap);
    return w;
}

std::string Describe(Cause cause, const Limit& limit, Action action) {
    const std::string what(Plural(action));
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
        case Cause::kQueue:
            return "more urgent " + what + " of the account go first";
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

std::vector<Slot> PlanQueue(const KeyStates& keys, core::TimePoint now, std::span<const QueueItem> items) {
    std::vector<Slot> out(items.size());
    // An item joins the competition when it first fell due (a deferral keeps that), and may go
    // no earlier than its due time.
    const auto joins = [&](size_t i) { return std::min(items[i].due, items[i].rank); };
    std::vector<size_t> by_due(items.size());
    for (size_t i = 0; i < items.size(); ++i) by_due[i] = i;
    std::sort(by_due.begin(), by_due.end(), [&](size_t a, size_t b) {
        return joins(a) != joins(b) ? joins(a) < joins(b) : items[a].id < items[b].id;
    });
    // Most urgent on top.
    const auto later = [&](size_t a, size_t b) {
        if (items[a].priority != items[b].priority) return items[a].priority < items[b].priority;
        if (items[a].rank != items[b].rank) return items[a].rank > items[b].rank;
        return items[a].id > items[b].id;
    };
    // Per key: the last day of its log, growing with the plan, and what of its quota is used.
    std::array<std::vector<core::TimePoint>, kActions.size()> windows;
    std::array<int, kActions.size()> used{};
    std::array<bool, kActions.size()> needed{};
    for (const auto& item : items) {
        for (size_t k = 0; k < kActions.size(); ++k) needed[k] = needed[k] || item.demand[k] > 0;
    }
    for (size_t k = 0; k < kActions.size(); ++k) {
        if (!needed[k]) continue;
        for (const auto& t : keys[k].log) {
            if (t > now - kDay) windows[k].push_back(t);
        }
    }
    // When `item` could go, at or after t, and which key's cap or platform state decided it.
    const auto earliest = [&](const QueueItem& item, core::TimePoint t) {
        Slot s{t, Cause::kNone, Action::kPost};
        for (size_t k = 0; k < kActions.size(); ++k) {
            const int n = item.demand[k];
            if (n <= 0) continue;
            const auto& key = keys[k];
            const bool held = key.hold_until && *key.hold_until > t;
            const auto from = held ? *key.hold_until : t;
            auto w = ExplainEarliest(key.limit, windows[k], from, n);
            if (held && w.cause == Cause::kNone) w.cause = Cause::kPlatform;
            if (key.quota && w.at < key.quota->resets_at && used[k] + n > key.quota->remaining) {
                w = Wait{std::max(w.at, key.quota->resets_at), Cause::kPlatform};
            }
            if (w.at > s.at || (w.at == s.at && s.cause == Cause::kNone && w.cause != Cause::kNone)) {
                s = Slot{w.at, w.cause, kActions[k]};
            }
        }
        return s;
    };
    std::vector<size_t> ready;  // a heap by `later`
    auto t = now;
    size_t next = 0;
    const auto admit = [&](core::TimePoint until) {
        for (; next < by_due.size() && joins(by_due[next]) <= until; ++next) {
            ready.push_back(by_due[next]);
            std::push_heap(ready.begin(), ready.end(), later);
        }
    };
    // What held each item the last time it was the most urgent and could not go yet.
    std::vector<Slot> held(items.size(), Slot{now, Cause::kNone, Action::kPost});
    Slot last{now, Cause::kNone, Action::kPost};  // the item that went last
    // Time moves from event to event (an item falls due, the most urgent one may go); at each
    // instant only the most urgent due item may go. Decisions at t depend only on what is due
    // by t, so planning again later, after the plan was followed, gives the same slots.
    while (next < by_due.size() || !ready.empty()) {
        if (ready.empty()) t = std::max(t, joins(by_due[next]));
        admit(t);
        const size_t i = ready.front();
        const auto slot = earliest(items[i], std::max(t, items[i].due));
        if (slot.at == kNever) {  // more at once than a cap allows: it takes nothing from the others
            std::pop_heap(ready.begin(), ready.end(), later);
            ready.pop_back();
            out[i] = slot;
            continue;
        }
        if (slot.at > t) {
            held[i] = slot;
            // Until it may go, or until something falls due that may outrank it.
            t = next < by_due.size() ? std::min(slot.at, joins(by_due[next])) : slot.at;
            continue;
        }
        std::pop_heap(ready.begin(), ready.end(), later);
        ready.pop_back();
        Slot went{t, Cause::kNone, Action::kPost};
        if (t > items[i].due) {
            went.cause = held[i].cause;
            went.action = held[i].action;
            if (went.cause == Cause::kNone) {
                // It could go as soon as it was its turn: a platform hold may have made the turn late.
                for (size_t k = 0; k < kActions.size(); ++k) {
                    if (items[i].demand[k] > 0 && keys[k].hold_until && *keys[k].hold_until > items[i].due) {
                        went.cause = Cause::kPlatform;
                        went.action = kActions[k];
                        break;
                    }
                }
                // Else it waited behind more urgent items: what held the one before it holds it.
                if (went.cause == Cause::kNone) {
                    went.cause = last.cause != Cause::kNone ? last.cause : Cause::kQueue;
                    went.action = last.cause != Cause::kNone ? last.action : Action::kPost;
                }
            }
        }
        out[i] = went;
        last = went;
        for (size_t k = 0; k < kActions.size(); ++k) {
            const int n = items[i].demand[k];
            if (n <= 0) continue;
            windows[k].insert(windows[k].end(), static_cast<size_t>(n), t);
            if (keys[k].quota && t < keys[k].quota->resets_at) used[k] += n;
        }
    }
    return out;
}

std::vector<Slot> PlanQueue(const Limit& limit, std::span<const core::TimePoint> log,
                            std::optional<core::TimePoint> hold_until, core::TimePoint now,
                            std::span<const QueueItem> items, std::optional<Quota> quota) {
    KeyStates keys{};
    keys[0] = KeyState{limit, log, hold_until, quota};
    return PlanQueue(keys, now, items);
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

EffectiveLimits EffectiveAll(const LimitTable& caps, const WorkspaceLimits& workspace, std::string_view platform,
                             core::TimePoint connected_at, core::TimePoint now) {
    EffectiveLimits out;
    for (size_t k = 0; k < kActions.size(); ++k) {
        out[k] = Effective(caps, workspace, platform, kActions[k], connected_at, now);
    }
    return out;
}

Limits Enforced(const EffectiveLimits& all) {
    Limits out;
    for (size_t k = 0; k < all.size(); ++k) out[k] = all[k].limit;
    return out;
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
