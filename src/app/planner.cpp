#include "app/planner.hpp"

#include <algorithm>
#include <unordered_map>

#include "domain/time.hpp"

namespace herald::app {

std::string WaitReason(const PlatformRateState& platform, const ratelimit::Slot& slot, const ratelimit::Limit& limit,
                       ratelimit::Action action) {
    if (slot.cause == ratelimit::Cause::kPlatform) {
        const auto& quota = platform.quota;
        if (quota && slot.at == quota->resets_at && !(platform.hold_until && *platform.hold_until >= slot.at)) {
            return "the platform reports its publishing quota used up until " + domain::FormatRfc3339(quota->resets_at);
        }
        if (!platform.hold_reason.empty()) return platform.hold_reason;
    }
    return ratelimit::Describe(slot.cause, limit, action);
}

AccountLimits Planner::LimitsOf(const domain::Account& account, const std::string& workspace_limits_json) const {
    return LimitsOf(account, ratelimit::WorkspaceLimits::ReadStored(workspace_limits_json));
}

AccountLimits Planner::LimitsOf(const domain::Account& account, const ratelimit::WorkspaceLimits& workspace) const {
    const auto now = clock_.Now();
    AccountLimits out;
    out.connected_at = account.created_at;
    out.post =
        ratelimit::Effective(caps_, workspace, account.platform, ratelimit::Action::kPost, account.created_at, now);
    if (out.post.phase == 1)
        out.phase_ends = account.created_at + std::chrono::hours(24) * workspace.warmup.phase1_days;
    if (out.post.phase == 2)
        out.phase_ends = account.created_at + std::chrono::hours(24) * workspace.warmup.phase2_days;
    return out;
}

std::string PlannedDelivery::Reason() const {
    if (!eta) return "paused: it keeps its place and gets a time when the pause is lifted";
    if (cause == ratelimit::Cause::kNone || !context) return "";
    return WaitReason(context->platform, ratelimit::Slot{*eta, cause}, context->limit, ratelimit::Action::kPost) +
           "; will publish at " + domain::FormatRfc3339(*eta);
}

core::Result<std::vector<PlannedDelivery>> Planner::Plan(const std::vector<std::string>& account_ids) const {
    const auto now = clock_.Now();
    auto inputs = store_.LoadPlanInputs(account_ids, ratelimit::Action::kPost, now, in_flight_);
    if (!inputs) return tl::unexpected(inputs.error());
    std::vector<PlannedDelivery> planned;
    size_t total = 0;
    for (const auto& in : *inputs) total += in.waiting.size();
    planned.reserve(total);
    std::vector<ratelimit::QueueItem> items;
    std::unordered_map<std::string, ratelimit::WorkspaceLimits> workspaces;
    for (auto& in : *inputs) {
        // The limit at the moment of planning: a warm-up phase ending inside the plan only
        // raises the caps, so the projection stays on the safe (late) side.
        // Every account of a workspace shares its settings: read them once per plan.
        auto parsed = workspaces.find(in.workspace_limits_json);
        if (parsed == workspaces.end()) {
            parsed =
                workspaces
                    .emplace(in.workspace_limits_json, ratelimit::WorkspaceLimits::ReadStored(in.workspace_limits_json))
                    .first;
        }
        auto context = std::make_shared<PlanContext>(
            PlanContext{in.account.id, LimitsOf(in.account, parsed->second).post.limit, in.platform});
        items.clear();
        for (auto& w : in.waiting) {
            if (!w.paused) items.push_back(ratelimit::QueueItem{w.due, w.rank, w.priority, w.job_id});
        }
        const auto slots =
            ratelimit::PlanQueue(context->limit, in.log, in.platform.hold_until, now, items, in.platform.quota);
        size_t k = 0;
        for (auto& w : in.waiting) {
            PlannedDelivery d{std::move(w.delivery_id),
                              std::move(w.post_id),
                              std::move(w.job_id),
                              w.due,
                              w.priority,
                              std::nullopt,
                              ratelimit::Cause::kNone,
                              context};
            if (!w.paused) {
                d.eta = slots[k].at;
                d.cause = slots[k].cause;
                ++k;
            }
            planned.push_back(std::move(d));
        }
    }
    // Earliest first, paused last: sort positions, then move each delivery once.
    std::vector<std::pair<core::TimePoint, size_t>> order;
    order.reserve(planned.size());
    for (size_t i = 0; i < planned.size(); ++i) {
        order.emplace_back(planned[i].eta.value_or(core::TimePoint::max()), i);
    }
    std::sort(order.begin(), order.end());
    std::vector<PlannedDelivery> out;
    out.reserve(planned.size());
    for (const auto& [at, i] : order) out.push_back(std::move(planned[i]));
    return out;
}

core::Status Planner::Annotate(std::vector<domain::Post>& posts) const {
    std::vector<std::string> accounts;
    for (const auto& p : posts) {
        for (const auto& d : p.deliveries) {
            if (d.status == domain::DeliveryStatus::kScheduled || d.status == domain::DeliveryStatus::kRateLimited ||
                d.status == domain::DeliveryStatus::kQueued) {
                accounts.push_back(d.account_id);
            }
        }
    }
    if (accounts.empty()) return {};
    std::sort(accounts.begin(), accounts.end());
    accounts.erase(std::unique(accounts.begin(), accounts.end()), accounts.end());
    auto plan = Plan(accounts);
    if (!plan) return tl::unexpected(plan.error());
    std::unordered_map<std::string, const PlannedDelivery*> by_delivery;
    for (const auto& d : *plan) by_delivery.emplace(d.delivery_id, &d);
    const auto now = clock_.Now();
    for (auto& p : posts) {
        for (auto& d : p.deliveries) {
            auto it = by_delivery.find(d.id);
            if (it != by_delivery.end()) {
                d.eta = it->second->eta;
                if (auto reason = it->second->Reason(); !reason.empty()) d.eta_reason = std::move(reason);
            } else if (d.status == domain::DeliveryStatus::kQueued) {
                d.eta = now;  // claimed, and holding its permit: going out now
            }
        }
    }
    return {};
}

}  // namespace herald::app
