#pragma once

// The publish plan: when each waiting delivery will actually go out, given due times,
// priorities, the accounts' caps, warm-up, cooldowns and platform holds. It applies the rule
// the queue itself follows when it grants permits (ratelimit::PlanQueue), so a projection
// holds unless new, more urgent work arrives for the same account.

#include <optional>
#include <string>
#include <vector>

#include "app/ports.hpp"

namespace herald::app {

struct PlannedDelivery {
    std::string delivery_id;
    std::string post_id;  ///< empty from Plan(); LimitsService fills it for what it returns
    std::string job_id;
    std::string account_id;
    std::string workspace_id;
    core::TimePoint due{};
    int priority = domain::kDefaultPriority;
    std::optional<core::TimePoint> eta;  ///< unset while a pause holds it
    /// Why it goes later than due, in words ("daily cap of 10 posts reached; will publish at
    /// …"), or why it has no time ("paused"); empty when it goes on time.
    std::string reason;
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
    const ratelimit::LimitTable& caps() const { return caps_; }

  private:
    Store& store_;
    const core::Clock& clock_;
    const ratelimit::LimitTable& caps_;
    core::Millis in_flight_;
};

}  // namespace herald::app
