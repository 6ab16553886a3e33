#pragma once

// The publish plan: when each waiting delivery will actually go out, given due times,
// priorities, the accounts' caps, warm-up, cooldowns and platform holds. It applies the rule
// the queue itself follows when it grants permits (ratelimit::PlanQueue), so a projection
// holds unless new, more urgent work arrives for the same account.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/ports.hpp"

namespace herald::app {

/// What explains the waits of one account's plan (shared by its deliveries).
struct PlanContext {
    std::string account_id;
    ratelimit::Limit limit;
    PlatformRateState platform;
};

struct PlannedDelivery {
    std::string delivery_id;
    std::string post_id;  ///< empty from Plan(); LimitsService fills it for what it returns
    std::string job_id;
    core::TimePoint due{};
    int priority = domain::kDefaultPriority;
    std::optional<core::TimePoint> eta;                ///< unset while a pause holds it
    ratelimit::Cause cause = ratelimit::Cause::kNone;  ///< what holds it past its due time
    std::shared_ptr<const PlanContext> context;        ///< the account's, shared by its deliveries

    const std::string& account_id() const { return context->account_id; }

    /// Why it goes later than due, in words ("daily cap of 10 posts reached; will publish at
    /// …"), or why it has no time ("paused"); empty when it goes on time. Built on demand: a
    /// plan of a million deliveries needs only the few it shows.
    std::string Reason() const;
};

/// An account's limit for posting and how it came about (for the API).
struct AccountLimits {
    ratelimit::EffectiveLimit post;
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
    core::Result<std::vector<PlannedDelivery>> Plan(const std::vector<std::string>& account_ids) const;
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
