#include "domain/post.hpp"

#include <algorithm>
#include <array>

namespace herald::domain {
namespace {

struct Name {
    DeliveryStatus status;
    std::string_view name;
};

constexpr std::array<Name, 10> kNames = {{
    {DeliveryStatus::kDraft, "draft"},
    {DeliveryStatus::kScheduled, "scheduled"},
    {DeliveryStatus::kQueued, "queued"},
    {DeliveryStatus::kPublishing, "publishing"},
    {DeliveryStatus::kPublished, "published"},
    {DeliveryStatus::kFailed, "failed"},
    {DeliveryStatus::kNeedsApproval, "needs_approval"},
    {DeliveryStatus::kCancelled, "cancelled"},
    {DeliveryStatus::kUnconfirmed, "unconfirmed"},
    {DeliveryStatus::kRateLimited, "rate_limited"},
}};

}  // namespace

std::string_view ToString(DeliveryStatus s) {
    for (const auto& n : kNames) {
        if (n.status == s) return n.name;
    }
    return "unknown";
}

std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view s) {
    for (const auto& n : kNames) {
        if (n.name == s) return n.status;
    }
    return std::nullopt;
}

bool CanTransition(DeliveryStatus from, DeliveryStatus to) {
    using S = DeliveryStatus;
    switch (from) {
        case S::kDraft:
            return to == S::kScheduled || to == S::kNeedsApproval || to == S::kCancelled || to == S::kDraft;
        case S::kNeedsApproval:
            return to == S::kScheduled || to == S::kDraft || to == S::kCancelled;
        case S::kScheduled:
            // Straight to publishing: claimed for a platform that drops repeats (no separate mark).
            return to == S::kQueued || to == S::kPublishing || to == S::kDraft || to == S::kScheduled ||
                   to == S::kCancelled || to == S::kNeedsApproval;
        case S::kRateLimited:
            // Like scheduled: it waits for its time, which the limits chose.
            return to == S::kQueued || to == S::kPublishing || to == S::kDraft || to == S::kScheduled ||
                   to == S::kCancelled || to == S::kNeedsApproval || to == S::kRateLimited;
        case S::kQueued:
            // Back to scheduled: a worker released the claim (shutdown) before sending anything.
            // Rate limited: the limits refused the permit; nothing was sent.
            return to == S::kPublishing || to == S::kScheduled || to == S::kCancelled || to == S::kRateLimited;
        case S::kPublishing:
            // Rate limited: refused a permit before the call, or the platform answered 429.
            return to == S::kPublished || to == S::kFailed || to == S::kScheduled || to == S::kUnconfirmed ||
                   to == S::kRateLimited;
        case S::kFailed:
            return to == S::kScheduled;  // a person requeues it
        case S::kUnconfirmed:
            return to == S::kScheduled || to == S::kPublished || to == S::kFailed;  // a person decides
        case S::kPublished:
        case S::kCancelled:
            return false;
    }
    return false;
}

bool IsTerminal(DeliveryStatus s) {
    return s == DeliveryStatus::kPublished || s == DeliveryStatus::kFailed || s == DeliveryStatus::kCancelled ||
           s == DeliveryStatus::kUnconfirmed;
}

PostStatus SummarizeStatus(const std::vector<DeliveryStatus>& deliveries, bool has_schedule) {
    using S = DeliveryStatus;
    if (deliveries.empty()) return has_schedule ? S::kScheduled : S::kDraft;
    auto any = [&](S s) { return std::find(deliveries.begin(), deliveries.end(), s) != deliveries.end(); };
    for (S s :
         {S::kPublishing, S::kQueued, S::kUnconfirmed, S::kNeedsApproval, S::kRateLimited, S::kScheduled, S::kDraft}) {
        if (any(s)) return s;
    }
    if (any(S::kFailed)) return S::kFailed;
    if (any(S::kPublished)) return S::kPublished;
    return S::kCancelled;
}

core::Status CheckEditable(const Post& post) {
    using S = DeliveryStatus;
    for (const auto& d : post.deliveries) {
        if (d.status == S::kPublished || d.status == S::kPublishing || d.status == S::kUnconfirmed) {
            return core::Fail(core::ErrorCode::kFailedPrecondition,
                              std::string("this post can no longer be changed: its delivery to account ") +
                                  d.account_id + " is " + std::string(ToString(d.status)) +
                                  (d.status == S::kPublishing ? " right now" : ""),
                              {{"status", std::string(ToString(d.status))}, {"delivery_id", d.id}});
        }
    }
    return {};
}

}  // namespace herald::domain
