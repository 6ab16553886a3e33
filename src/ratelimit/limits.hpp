#pragma once

// Posting limits: what a platform allows an account, what a workspace chose, what a new
// account gets during warm-up, and the exact earliest instant the next action may happen.
//
// This is the pure part of the rate limiter (no I/O): the store keeps the log of past actions
// durably (Store::TakePermits) and asks these functions inside its transaction.

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace herald::ratelimit {

/// What an account does that a platform counts.
enum class Action { kPost, kReply, kComment, kMediaUpload };
inline constexpr std::array<Action, 4> kActions = {Action::kPost, Action::kReply, Action::kComment,
                                                   Action::kMediaUpload};
std::string_view ToString(Action a);
/// "posts", "replies", "comments", "media uploads".
std::string_view Plural(Action a);
std::optional<Action> ParseAction(std::string_view s);

/// Caps for one (account, action): at most `per_hour` actions in any rolling hour, `per_day` in
/// any rolling 24 hours, and at least `min_gap` between two. Zero means no cap of that kind.
struct Limit {
    int per_hour = 0;
    int per_day = 0;
    core::Millis min_gap{0};

    bool operator==(const Limit&) const = default;
};

/// A limit per action, in kActions order.
using Limits = std::array<Limit, 4>;
/// Only posting is limited.
inline Limits PostOnly(const Limit& post) { return Limits{post, Limit{}, Limit{}, Limit{}}; }

/// The tighter of two limits, cap by cap (a workspace may lower a platform's limit, never
/// raise it). A zero (no cap) never wins over a cap.
Limit Tighter(const Limit& a, const Limit& b);

/// Warm-up: a new account gets a fraction of the caps. Phase 1 runs for the first
/// `phase1_days` days since the account was connected, phase 2 until `phase2_days`, then phase
/// 3 with the full caps.
struct Warmup {
    int phase1_days = 30;
    double phase1_fraction = 0.5;
    int phase2_days = 60;
    double phase2_fraction = 0.75;

    /// Invalid when days do not increase or a fraction is outside (0, 1].
    core::Status Validate() const;
    /// 1, 2 or 3 for an account connected at `connected_at`.
    int PhaseAt(core::TimePoint connected_at, core::TimePoint now) const;
    /// `full` scaled down for that phase: counts are rounded down but stay at least 1, gaps
    /// are stretched by the inverse fraction (half the posts: twice the gap).
    Limit Apply(const Limit& full, int phase) const;
};

/// The earliest instant at or after `now` at which one more action keeps every cap of `limit`.
/// `log` holds the times of earlier actions of the same (account, action), oldest first; only
/// those in the last 24 hours matter. A window is half-open, (t - 1 h, t]: an action exactly one
/// hour before t no longer counts at t.
core::TimePoint EarliestAllowed(const Limit& limit, std::span<const core::TimePoint> log, core::TimePoint now);

/// The instants at which `count` more actions would go, one after another, each as early as
/// `limit` allows given `log` and the ones planned before it (`not_before[i]` when given:
/// action i also waits for its own due time). Oldest first, like `log`.
std::vector<core::TimePoint> PlanActions(const Limit& limit, std::span<const core::TimePoint> log, core::TimePoint now,
                                         std::span<const core::TimePoint> not_before, size_t count);

/// What holds the next action back: the cap whose answer EarliestAllowed gave.
/// kQueue: nothing capped it, but more urgent work of the account went first (and that work
/// waited for a cap of its own).
enum class Cause { kNone, kMinGap, kHourly, kDaily, kPlatform, kQueue };

struct Wait {
    core::TimePoint at;          ///< EarliestAllowed; TimePoint::max() when it never can (kNever)
    Cause cause = Cause::kNone;  ///< kNone when `at` is `now`
};

/// "Never": `count` actions at once are more than a cap allows in any window.
inline constexpr core::TimePoint kNever = core::TimePoint::max();

/// EarliestAllowed for `count` actions at the same instant (a thread's replies go together),
/// and which cap decided it (the latest one when several agree). The minimum gap separates
/// such groups, not the actions inside one. kNever when `count` exceeds the hourly or daily cap.
Wait ExplainEarliest(const Limit& limit, std::span<const core::TimePoint> log, core::TimePoint now, int count = 1);

/// In words for a person: "hourly cap of 5 posts reached", "at least 60 s between posts".
std::string Describe(Cause cause, const Limit& limit, Action action);

/// What a platform says is left: `remaining` more actions until `resets_at` (Instagram's
/// content_publishing_limit, X-RateLimit-Remaining/Reset). Where it is reported, it wins.
struct Quota {
    int remaining = 0;
    core::TimePoint resets_at{};
};

/// How many actions of each kind one queue item performs together, by Action: a post with a
/// thread of three and a first comment is {1, 3, 1, 0}.
using Demand = std::array<int, kActions.size()>;
inline constexpr Demand kOnePost = {1, 0, 0, 0};
/// A post with `replies` thread items and, if `comment`, a first comment.
inline Demand PostDemand(int replies, bool comment) { return Demand{1, replies, comment ? 1 : 0, 0}; }

/// One waiting item of an account (a delivery), for PlanQueue.
struct QueueItem {
    core::TimePoint due;  ///< not before this
    /// When it first fell due (a deferral keeps it): from then on it competes, and among equal
    /// priorities the earlier rank goes first.
    core::TimePoint rank;
    int priority = 5;     ///< higher goes first among those due
    std::string_view id;  ///< last tie-break (ids sort by creation time); must outlive PlanQueue
    Demand demand = kOnePost;
};

struct Slot {
    core::TimePoint at;             ///< when the item goes; kNever when it cannot
    Cause cause = Cause::kNone;     ///< what held it past its due time (kNone: nothing did)
    Action action = Action::kPost;  ///< whose cap (or platform state) that was
};

/// One (account, action) key as PlanQueue sees it: its limit, its log (oldest first), the
/// platform's "not before" and the platform's reported quota.
struct KeyState {
    Limit limit;
    std::span<const core::TimePoint> log;
    std::optional<core::TimePoint> hold_until;
    std::optional<Quota> quota;
};
using KeyStates = std::array<KeyState, kActions.size()>;

/// The account's plan: items go one after another in order of urgency (highest priority, then
/// earliest rank, then smallest id); each goes at the first instant at or after the previous
/// one that its due time and every key it needs allow (limit, hold, quota: at most
/// quota.remaining actions before quota.resets_at), and at that instant it is the most urgent
/// item due. One slot per item, in the items' order; an item whose demand no cap can ever take
/// gets kNever and holds nothing back. The queue follows the same rule when it grants permits
/// (Store::TakePermits), so the plan is what happens unless new work arrives.
std::vector<Slot> PlanQueue(const KeyStates& keys, core::TimePoint now, std::span<const QueueItem> items);
/// The same, for items that only post (the post key alone).
std::vector<Slot> PlanQueue(const Limit& limit, std::span<const core::TimePoint> log,
                            std::optional<core::TimePoint> hold_until, core::TimePoint now,
                            std::span<const QueueItem> items, std::optional<Quota> quota = std::nullopt);

/// The platforms' default limits, as data an operator can read and change: a JSON object
/// {"platform": {"action": {"per_hour": N, "per_day": N, "min_gap_seconds": N}}}. Unknown
/// platforms or actions have no limit.
class LimitTable {
  public:
    /// The defaults Herald ships (see limits.json beside this file).
    static const LimitTable& Defaults();
    /// Parses a table; a clear error names the first bad entry.
    static core::Result<LimitTable> Parse(std::string_view json);

    Limit For(std::string_view platform, Action action) const;
    /// Every entry, for showing: platform → action → limit.
    const std::vector<std::pair<std::string, std::vector<std::pair<Action, Limit>>>>& entries() const {
        return entries_;
    }

    /// The same table as JSON, in the form Parse reads.
    std::string ToJson() const;

  private:
    std::vector<std::pair<std::string, std::vector<std::pair<Action, Limit>>>> entries_;
};

/// What a workspace chose: lower limits for some (platform, action), and its warm-up settings.
/// Stored as JSON: {"limits": {"tiktok": {"post": {"per_hour": 2}}}, "warmup": {"enabled":
/// true, "phase1_days": 30, "phase1_fraction": 0.5, "phase2_days": 60, "phase2_fraction": 0.75},
/// "jitter_seconds": 0}.
struct WorkspaceLimits {
    LimitTable lowered;
    bool warmup_enabled = true;
    Warmup warmup;
    /// Spread each post's deliveries over this many seconds after its time (0: off, at most 900).
    int jitter_seconds = 0;

    /// Parses and checks against `caps`: a limit above the platform's cap (or a shorter gap) is
    /// refused with an error naming it. Empty text means the defaults.
    static core::Result<WorkspaceLimits> Parse(std::string_view json, const LimitTable& caps);
    /// What was saved (checked then): read without the caps, which Effective() applies anyway
    /// (the operator may have lowered them since). Unreadable text gives the defaults.
    static WorkspaceLimits ReadStored(std::string_view json);
    std::string ToJson() const;
};

/// An account's limit for one action, and how it came about.
struct EffectiveLimit {
    Limit platform;   ///< the platform's cap (operator's table)
    Limit workspace;  ///< after the workspace's lowering
    Limit limit;      ///< after warm-up: what the queue enforces
    int phase = 3;    ///< warm-up phase, 1–3 (3 when warm-up is off)
};

EffectiveLimit Effective(const LimitTable& caps, const WorkspaceLimits& workspace, std::string_view platform,
                         Action action, core::TimePoint connected_at, core::TimePoint now);
/// Effective() for every action, in kActions order.
using EffectiveLimits = std::array<EffectiveLimit, kActions.size()>;
EffectiveLimits EffectiveAll(const LimitTable& caps, const WorkspaceLimits& workspace, std::string_view platform,
                             core::TimePoint connected_at, core::TimePoint now);
/// What the queue enforces for each action.
Limits Enforced(const EffectiveLimits& all);

/// Whether a limit caps anything at all.
inline bool Any(const Limit& l) { return l.per_hour > 0 || l.per_day > 0 || l.min_gap.count() > 0; }

}  // namespace herald::ratelimit
