#pragma once

#include <optional>
#include <string>
#include <vector>

#include "app/planner.hpp"
#include "app/ports.hpp"
#include "app/principal.hpp"

namespace herald::app {

/// What a workspace sees of posting limits: the platforms' caps, its own lowered limits and
/// warm-up settings, each account's effective limit and phase, and the publish plan.
class LimitsService {
  public:
    LimitsService(Store& store, const Planner& planner) : store_(store), planner_(planner) {}

    /// The platforms' caps (the operator's table) and the workspace's settings.
    struct View {
        std::string platforms_json;
        ratelimit::WorkspaceLimits workspace;
    };
    core::Result<View> Get(const Principal& p);
    /// Replaces the workspace's settings (admins and above). A limit above a platform's cap is
    /// refused with the field and the cap; nothing is saved then.
    core::Result<View> Set(const Principal& p, const std::string& settings_json);
    /// The account's effective posting limit and warm-up phase.
    core::Result<AccountLimits> OfAccount(const Principal& p, const domain::Account& account);
    /// The waiting deliveries of one account (or of every account of the workspace), with their
    /// projected publish times, earliest first; only those with an eta in [from, to) when given.
    /// At most `limit` items; `truncated` says whether more matched.
    core::Result<std::vector<PlannedDelivery>> Plan(const Principal& p, const std::optional<std::string>& account_id,
                                                    std::optional<core::TimePoint> from,
                                                    std::optional<core::TimePoint> to, size_t limit, bool& truncated);

  private:
    Store& store_;
    const Planner& planner_;
};

}  // namespace herald::app
