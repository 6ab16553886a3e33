#pragma once

// The publish plan: when each waiting delivery will actually go out, given due times,
// priorities, the accounts' caps, warm-up, cooldowns and platform holds. It applies the rule
// the queue itself follows when it grants permits (ratelimit::PlanQueue), so a projection
// holds unless new, more urgent work arrives for the same account.

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "app/ports.hpp"

namespace herald::app {

/// What explains the waits of one account's plan (shared by its deliveries).
struct PlanContext {
    std::string account_id;
    ratelimit::Limits limits;  ///< per action
    std::array<PlatformRateState, ratelimit::kActions.size()> platform;
};

struct PlannedDelivery {
    std::string delivery_id;
    std::string post_id;  ///< empty from Plan(); LimitsService fills it for what it returns
    std::string job_id;
    core::TimePoint due{};
    int priority = domain::kDefaultPriority;
    std::optional<core::TimePoint> eta;                   ///< unset while a pause holds it, or if `never`
    ratelimit::Cause cause = ratelimit::Cause::kNone;     ///< what holds it past its due time
    std::shared_ptr<const PlanContext> context;           ///< the account's, shared by its deliveries
    ratelimit::Action action = ratelimit::Action::kPost;  ///< whose cap or platform state that is
    ratelimit::Demand demand = ratelimit::kOnePost;       ///< what it does: its post, replies, comment
    bool never = false;  ///< it needs more at once than a cap allows: the queue will refuse it

    const std::string& account_id() const { return context->account_id; }

    /// Why it goes later than due, in words ("daily cap of 10 posts reached; will publish at
    /// …"), or why it has no time ("paused"); empty when it goes on time. Built on demand: a
    /// plan of a million deliveries needs only the few it shows.
    std::string Reason() const;
};

/// A plan: every waiting delivery of some accounts, earliest eta first, paused ones last. It
/// keeps the rows it was planned from and makes a PlannedDelivery only for what is read, so a
/// plan of a million deliveries costs a few bytes for each beyond the rows themselves.
class PublishPlan {
  public:
    size_t size() const { return order_.size(); }
    bool empty() const { return order_.empty(); }
    /// The i-th delivery, earliest first.
    PlannedDelivery operator[](size_t i) const;
    PlannedDelivery back() const { return (*this)[size() - 1]; }
    /// The deliveries whose eta is in [from, to), earliest first, at most `limit` (`truncated`
    /// says whether more matched). Paused ones (no eta) only when neither bound is given.
    std::vector<PlannedDelivery> Select(std::optional<core::TimePoint> from, std::optional<core::TimePoint> to,
                                        size_t limit, bool& truncated) const;
    /// Each delivery with its eta (unset: paused), by delivery id, for those in `ids` only.
    std::unordered_map<std::string, PlannedDelivery> Find(const std::unordered_set<std::string_view>& ids) const;

    /// In eta order, by value: `for (const auto& d : plan)`.
    class Iterator {
      public:
        Iterator(const PublishPlan& plan, size_t i) : plan_(&plan), i_(i) {}
        PlannedDelivery operator*() const { return (*plan_)[i_]; }
        Iterator& operator++() {
            ++i_;
            return *this;
        }
        bool operator!=(const Iterator& o) const { return i_ != o.i_; }

      private:
        const PublishPlan* plan_;
        size_t i_;
    };
    Iterator begin() const { return {*this, 0}; }
    Iterator end() const { return {*this, size()}; }

  private:
    friend class Planner;
    struct Entry {
        core::TimePoint eta;  ///< kNever while paused, or when it can never go
        uint32_t account;     ///< index into inputs_ (and contexts_)
        uint32_t row;         ///< index into that input's waiting
        ratelimit::Cause cause;
        ratelimit::Action action;
    };
    std::vector<AccountPlanInput> inputs_;
    std::vector<std::shared_ptr<const PlanContext>> contexts_;
    std::vector<Entry> order_;
};

/// An account's limits per action and how they came about (for the API).
struct AccountLimits {
    ratelimit::EffectiveLimits actions;  ///< per action, in ratelimit::kActions order (post first)
    core::TimePoint connected_at{};
    std::optional<core::TimePoint> phase_ends;  ///< when the warm-up phase moves on; unset in phase 3
};

class Planner {
  public:
    /// `in_flight`: how long a permit may stay in flight before its worker counts as dead (the
    /// dispatcher's lease).
    Planner(Store& store, const core::Clock& clock, const ratelimit::LimitTable& caps, core::Millis in_flight)
        : store_(store), clock_(clock), caps_(caps), in_flight_(in_flight) {}

    /// Every waiting delivery of these accounts, earliest eta first (paused ones last).
    core::Result<PublishPlan> Plan(const std::vector<std::string>& account_ids) const;
    /// Sets eta and eta_reason on the posts' waiting deliveries (scheduled, rate_limited, queued).
    core::Status Annotate(std::vector<domain::Post>& posts) const;
    AccountLimits LimitsOf(const domain::Account& account, const std::string& workspace_limits_json) const;
    AccountLimits LimitsOf(const domain::Account& account, const ratelimit::WorkspaceLimits& workspace) const;
    const ratelimit::LimitTable& caps() const { return caps_; }

  private:
    Store& store_;
    const core::Clock& clock_;
    const ratelimit::LimitTable& caps_;
    core::Millis in_flight_;
};

}  // namespace herald::app
