#include "app/planner.hpp"

#include <algorithm>
#include <tuple>
#include <unordered_map>

#include "domain/time.hpp"

namespace herald::app {

std::string WaitReason(const std::array<PlatformRateState, ratelimit::kActions.size()>& platforms,
                       const ratelimit::Slot& slot, const ratelimit::Limits& limits) {
    const auto k = static_cast<size_t>(slot.action);
    if (slot.cause == ratelimit::Cause::kPlatform) {
        const auto& platform = platforms[k];
        const auto& quota = platform.quota;
        if (quota && slot.at == quota->resets_at && !(platform.hold_until && *platform.hold_until >= slot.at)) {
            return "the platform reports its publishing quota used up until " + domain::FormatRfc3339(quota->resets_at);
        }
        if (!platform.hold_reason.empty()) return platform.hold_reason;
    }
    return ratelimit::Describe(slot.cause, limits[k], slot.action);
}

std::string NeverReason(const ratelimit::Slot& slot, const ratelimit::Limits& limits, const ratelimit::Demand& demand) {
    const auto k = static_cast<size_t>(slot.action);
    const auto& limit = limits[k];
    const bool daily = slot.cause == ratelimit::Cause::kDaily;
    const std::string what(ratelimit::Plural(slot.action));
    return "it needs " + std::to_string(demand[k]) + " " + what + " at once, more than the account's " +
           (daily ? "daily" : "hourly") + " cap of " + std::to_string(daily ? limit.per_day : limit.per_hour) + " " +
           what + " allows; shorten the thread or raise the limit";
}

ratelimit::KeyStates KeysOf(const AccountPlanInput& in, const ratelimit::Limits& limits) {
    ratelimit::KeyStates keys{};
    for (size_t k = 0; k < keys.size(); ++k) {
        keys[k] = ratelimit::KeyState{limits[k], in.logs[k], in.platform[k].hold_until, in.platform[k].quota};
    }
    return keys;
}

AccountLimits Planner::LimitsOf(const domain::Account& account, const std::string& workspace_limits_json) const {
    return LimitsOf(account, ratelimit::WorkspaceLimits::ReadStored(workspace_limits_json));
}

AccountLimits Planner::LimitsOf(const domain::Account& account, const ratelimit::WorkspaceLimits& workspace) const {
    const auto now = clock_.Now();
    AccountLimits out;
    out.connected_at = account.created_at;
    out.actions = ratelimit::EffectiveAll(caps_, workspace, account.platform, account.created_at, now);
    const int phase = out.actions[0].phase;  // warm-up is by account age: every action shares it
    if (phase == 1) out.phase_ends = account.created_at + std::chrono::hours(24) * workspace.warmup.phase1_days;
    if (phase == 2) out.phase_ends = account.created_at + std::chrono::hours(24) * workspace.warmup.phase2_days;
    return out;
}

std::string PlannedDelivery::Reason() const {
    if (!eta && !never) return "paused: it keeps its place and gets a time when the pause is lifted";
    if (!context) return "";
    if (never) return "will not publish: " + NeverReason({ratelimit::kNever, cause, action}, context->limits, demand);
    if (cause == ratelimit::Cause::kNone) return "";
    return WaitReason(context->platform, ratelimit::Slot{*eta, cause, action}, context->limits) + "; will publish at " +
           domain::FormatRfc3339(*eta);
}

PlannedDelivery PublishPlan::operator[](size_t i) const {
    const auto& e = order_[i];
    const auto& w = inputs_[e.account].waiting[e.row];
    PlannedDelivery d{
        std::string(w.delivery_id), std::string(), std::string(w.job_id), w.due, w.priority, std::nullopt, e.cause,
        contexts_[e.account]};
    d.action = e.action;
    d.demand = w.demand;
    if (e.eta != ratelimit::kNever) {
        d.eta = e.eta;
    } else {
        d.never = !w.paused;
    }
    return d;
}

std::vector<PlannedDelivery> PublishPlan::Select(std::optional<core::TimePoint> from, std::optional<core::TimePoint> to,
                                                 size_t limit, bool& truncated) const {
    const bool bounded = from || to;
    // Entries are in eta order: the first one at or after `from`, then on until `to`.
    auto it = order_.begin();
    if (from) {
        it = std::partition_point(order_.begin(), order_.end(), [&](const Entry& e) { return e.eta < *from; });
    }
    std::vector<PlannedDelivery> out;
    truncated = false;
    for (; it != order_.end(); ++it) {
        if (bounded && (it->eta == core::TimePoint::max() || (to && it->eta >= *to))) break;
        if (out.size() == limit) {
            truncated = true;
            break;
        }
        out.push_back((*this)[static_cast<size_t>(it - order_.begin())]);
    }
    return out;
}

std::unordered_map<std::string, PlannedDelivery> PublishPlan::Find(
    const std::unordered_set<std::string_view>& ids) const {
    std::unordered_map<std::string, PlannedDelivery> out;
    for (size_t i = 0; i < order_.size() && out.size() < ids.size(); ++i) {
        const auto& e = order_[i];
        const auto& id = inputs_[e.account].waiting[e.row].delivery_id;
        if (ids.count(id)) out.emplace(id, (*this)[i]);
    }
    return out;
}

core::Result<PublishPlan> Planner::Plan(const std::vector<std::string>& account_ids) const {
    const auto now = clock_.Now();
    auto inputs = store_.LoadPlanInputs(account_ids, now, in_flight_);
    if (!inputs) return tl::unexpected(inputs.error());
    PublishPlan plan;
    plan.inputs_ = std::move(*inputs);
    size_t total = 0;
    for (const auto& in : plan.inputs_) total += in.waiting.size();
    plan.order_.reserve(total);
    plan.contexts_.reserve(plan.inputs_.size());
    std::vector<ratelimit::QueueItem> items;
    std::unordered_map<std::string, ratelimit::WorkspaceLimits> workspaces;
    for (uint32_t a = 0; a < plan.inputs_.size(); ++a) {
        const auto& in = plan.inputs_[a];
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
        plan.contexts_.push_back(std::make_shared<PlanContext>(PlanContext{
            in.account.id, ratelimit::Enforced(LimitsOf(in.account, parsed->second).actions), in.platform}));
        items.clear();
        for (const auto& w : in.waiting) {
            if (!w.paused) items.push_back(ratelimit::QueueItem{w.due, w.rank, w.priority, w.job_id, w.demand});
        }
        const auto slots = ratelimit::PlanQueue(KeysOf(in, plan.contexts_.back()->limits), now, items);
        size_t k = 0;
        for (uint32_t r = 0; r < in.waiting.size(); ++r) {
            if (in.waiting[r].paused) {
                plan.order_.push_back({ratelimit::kNever, a, r, ratelimit::Cause::kNone, ratelimit::Action::kPost});
            } else {
                plan.order_.push_back({slots[k].at, a, r, slots[k].cause, slots[k].action});
                ++k;
            }
        }
    }
    // Earliest first, paused last; ties in a stable order (account, then queue row).
    std::sort(plan.order_.begin(), plan.order_.end(), [](const PublishPlan::Entry& x, const PublishPlan::Entry& y) {
        return std::tie(x.eta, x.account, x.row) < std::tie(y.eta, y.account, y.row);
    });
    return plan;
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
    std::unordered_set<std::string_view> wanted;  // views into `posts`
    for (const auto& p : posts) {
        for (const auto& d : p.deliveries) wanted.insert(d.id);
    }
    const auto by_delivery = plan->Find(wanted);
    const auto now = clock_.Now();
    for (auto& p : posts) {
        for (auto& d : p.deliveries) {
            auto it = by_delivery.find(d.id);
            if (it != by_delivery.end()) {
                d.eta = it->second.eta;
                if (auto reason = it->second.Reason(); !reason.empty()) d.eta_reason = std::move(reason);
            } else if (d.status == domain::DeliveryStatus::kQueued) {
                d.eta = now;  // claimed, and holding its permit: going out now
            }
        }
    }
    return {};
}

}  // namespace herald::app
