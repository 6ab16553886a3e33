#include "app/limits_service.hpp"

#include <spdlog/spdlog.h>

namespace herald::app {

core::Result<LimitsService::View> LimitsService::Get(const Principal& p) {
    auto saved = store_.GetWorkspaceLimits(p.workspace_id);
    if (!saved) return tl::unexpected(saved.error());
    return View{planner_.caps().ToJson(), ratelimit::WorkspaceLimits::ReadStored(*saved)};
}

core::Result<LimitsService::View> LimitsService::Set(const Principal& p, const std::string& settings_json) {
    if (auto ok = Require(p, domain::Role::kAdmin); !ok) return tl::unexpected(ok.error());
    auto parsed = ratelimit::WorkspaceLimits::Parse(settings_json, planner_.caps());
    if (!parsed) return tl::unexpected(parsed.error());
    if (auto ok = store_.SetWorkspaceLimits(p.workspace_id, parsed->ToJson()); !ok) return tl::unexpected(ok.error());
    spdlog::info("event=workspace_limits_set workspace_id={} user_id={}", p.workspace_id, p.user_id);
    return View{planner_.caps().ToJson(), *parsed};
}

core::Result<AccountLimits> LimitsService::OfAccount(const Principal& p, const domain::Account& account) {
    auto saved = store_.GetWorkspaceLimits(p.workspace_id);
    if (!saved) return tl::unexpected(saved.error());
    return planner_.LimitsOf(account, *saved);
}

core::Result<std::vector<PlannedDelivery>> LimitsService::Plan(const Principal& p,
                                                               const std::optional<std::string>& account_id,
                                                               std::optional<core::TimePoint> from,
                                                               std::optional<core::TimePoint> to, size_t limit,
                                                               bool& truncated) {
    std::vector<std::string> accounts;
    if (account_id) {
        auto a = store_.GetAccount(p.workspace_id, *account_id);
        if (!a) return tl::unexpected(a.error());
        accounts.push_back(a->id);
    } else {
        auto all = store_.ListAccounts(p.workspace_id);
        if (!all) return tl::unexpected(all.error());
        for (const auto& a : *all) accounts.push_back(a.id);
    }
    auto plan = planner_.Plan(accounts);
    if (!plan) return tl::unexpected(plan.error());
    auto shown = plan->Select(from, to, limit, truncated);
    std::vector<std::string> ids;
    for (const auto& d : shown) ids.push_back(d.delivery_id);
    auto posts = store_.PostsOfDeliveries(ids);
    if (!posts) return tl::unexpected(posts.error());
    for (auto& d : shown) d.post_id = (*posts)[d.delivery_id];
    return shown;
}

}  // namespace herald::app
