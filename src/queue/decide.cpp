#include "queue/decide.hpp"

#include <algorithm>

#include "domain/time.hpp"

namespace herald::queue {
namespace {

core::Millis Backoff(int attempt, const RetryPolicy& policy, double unit) {
    const auto d = domain::RetryDelay(attempt, policy.base);
    const double factor = 1.0 + policy.jitter * (2.0 * std::clamp(unit, 0.0, 1.0) - 1.0);
    return std::chrono::duration_cast<core::Millis>(d * factor);
}

}  // namespace

app::OutcomeRecord Decide(const app::PublishOutcome& outcome, int attempt, const RetryPolicy& policy,
                          core::TimePoint now, const app::PublishCapabilities& caps, bool uncertain, double unit) {
    using domain::DeliveryStatus;
    auto backoff = [&] { return Backoff(attempt, policy, unit); };
    app::OutcomeRecord r{DeliveryStatus::kFailed};
    auto retry_at = [&](core::TimePoint when, const std::string& reason) {
        r.status = DeliveryStatus::kScheduled;
        r.next_attempt_at = when;
        r.error = reason + "; trying again at " + domain::FormatRfc3339(when) + " (attempt " +
                  std::to_string(attempt + 1) + " of " + std::to_string(policy.max_attempts) + ")";
    };
    auto give_up = [&](const std::string& reason) {
        r.status = DeliveryStatus::kFailed;
        r.error = reason;
        r.job_dead = true;
    };
    std::visit(
        [&](const auto& o) {
            using T = std::decay_t<decltype(o)>;
            if constexpr (std::is_same_v<T, app::Published>) {
                r.status = DeliveryStatus::kPublished;
                r.remote_id = o.remote_id;
                r.url = o.url;
                r.quota = o.quota;
            } else if constexpr (std::is_same_v<T, app::Retryable>) {
                if (attempt < policy.max_attempts) {
                    retry_at(now + backoff(), o.reason);
                } else {
                    give_up(o.reason + " (gave up after " + std::to_string(attempt) + " attempts)");
                }
            } else if constexpr (std::is_same_v<T, app::RateLimited>) {
                // Not a failure: the platform said when. Waiting uses no attempt (the store gives
                // it back) and holds the account's other posts back too.
                const auto when = std::max(o.until, now);
                r.status = DeliveryStatus::kRateLimited;
                r.next_attempt_at = when;
                r.error = (o.reason.empty() ? std::string("the platform asked Herald to slow down") : o.reason) +
                          "; will publish at " + domain::FormatRfc3339(when);
            } else if constexpr (std::is_same_v<T, app::AuthExpired>) {
                // Not this post's fault: it waits with every post of the account, which the
                // dispatcher pauses (reconnect_required) until the account is reconnected.
                r.status = DeliveryStatus::kScheduled;
                r.next_attempt_at = now;
                r.error = "waiting for the account to be reconnected: " + o.reason;
            } else if constexpr (std::is_same_v<T, app::Rejected>) {
                give_up(o.reason);
            } else if constexpr (std::is_same_v<T, app::Unknown>) {
                if ((caps.idempotent || caps.lookup) && attempt < policy.max_attempts) {
                    retry_at(now + backoff(),
                             o.reason + (caps.idempotent ? "; the platform ignores a repeated send, so Herald resends"
                                                         : "; Herald will check whether the platform has it first"));
                    uncertain = true;
                } else {
                    r.status = DeliveryStatus::kUnconfirmed;
                    r.error = o.reason +
                              ". The platform may or may not have published it, so Herald will not send it again "
                              "by itself: check the account, then retry or mark it as published.";
                    r.job_dead = true;
                }
            }
        },
        outcome);
    r.uncertain = uncertain && r.status == DeliveryStatus::kScheduled;
    return r;
}

app::TaskOutcome DecideTask(const core::Status& result, int attempt, const RetryPolicy& policy, core::TimePoint now,
                            double unit) {
    using Kind = app::TaskOutcome::Kind;
    if (result) return app::TaskOutcome{Kind::kDone, std::nullopt, std::nullopt};
    const std::string& reason = result.error().message;
    if (attempt < policy.max_attempts) {
        const auto when = now + Backoff(attempt, policy, unit);
        return app::TaskOutcome{Kind::kRetry,
                                reason + "; trying again at " + domain::FormatRfc3339(when) + " (attempt " +
                                    std::to_string(attempt + 1) + " of " + std::to_string(policy.max_attempts) + ")",
                                when};
    }
    return app::TaskOutcome{Kind::kDead, reason + " (gave up after " + std::to_string(attempt) + " attempts)",
                            std::nullopt};
}

}  // namespace herald::queue
