#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace herald::domain {

/// The state of one (post, account) delivery. See DESIGN.md "A post's life".
enum class DeliveryStatus {
    kDraft,          ///< the post has no time yet
    kScheduled,      ///< waiting for its time (or for a retry)
    kQueued,         ///< due and claimed by a worker, not sent yet: safe to retry after a crash
    kPublishing,     ///< the platform call is in flight: a crash here leaves the outcome unknown
    kPublished,      ///< the platform has it; remote id and URL recorded
    kFailed,         ///< gave up, with the platform's reason
    kNeedsApproval,  ///< waiting for a reviewer
    kCancelled,      ///< a person stopped it
    kUnconfirmed,    ///< sent, no answer: the platform may or may not have it; a person decides
    /// Due, but held back by the account's posting limits (or the platform's 429): it goes at
    /// next_attempt_at, the first instant the limits allow, and no attempt was used.
    kRateLimited,
};

/// A post's status: a summary of its deliveries, plus draft for a post with no time.
using PostStatus = DeliveryStatus;

std::string_view ToString(DeliveryStatus s);
std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view s);

/// Whether the state machine allows `from` → `to`. Everything that changes a delivery's
/// state asks this first; a refusal is a bug or a race that lost.
bool CanTransition(DeliveryStatus from, DeliveryStatus to);

/// True for states nothing moves out of by itself (published, failed, cancelled, unconfirmed).
bool IsTerminal(DeliveryStatus s);

/// The post's status from its deliveries' states: the most urgent one a person should see.
/// In-flight work shows first (publishing, queued), then what needs a person (unconfirmed,
/// needs_approval), then waiting work (rate_limited, scheduled), then the outcome (failed if any failed,
/// else published; cancelled only when every delivery is cancelled).
PostStatus SummarizeStatus(const std::vector<DeliveryStatus>& deliveries, bool has_schedule);

struct Delivery {
    std::string id;
    std::string post_id;
    std::string account_id;
    DeliveryStatus status = DeliveryStatus::kDraft;
    int attempts = 0;
    std::optional<std::string> remote_id;
    std::optional<std::string> url;
    std::optional<std::string> error;
    std::optional<core::TimePoint> next_attempt_at;
    std::optional<core::TimePoint> published_at;
    core::TimePoint updated_at{};
    /// When it will publish, by the plan (app::Planner), for a delivery still waiting; and why
    /// later than its time, if it is. Computed when read, never stored.
    std::optional<core::TimePoint> eta;
    std::optional<std::string> eta_reason;
};

struct Post {
    std::string id;
    std::string workspace_id;
    std::string created_by;
    std::string text;
    std::map<std::string, std::string> variants;  ///< platform name → text for that platform
    /// Replies posted under it, in order, each answering the one before (a thread), where the
    /// account's platform has threads. The same on every platform.
    std::vector<std::string> thread;
    /// A comment posted on it right after it is published, where the platform allows.
    std::optional<std::string> first_comment;
    /// Media items of the workspace's library, in the order they are shown.
    std::vector<std::string> media_ids;
    std::optional<core::TimePoint> scheduled_at;  ///< the instant; absent for a draft
    std::optional<std::string> local_time;        ///< as the user wrote it, when given in a zone
    std::optional<std::string> time_zone;
    PostStatus status = PostStatus::kDraft;
    /// Not stored: when writing, each delivery's publish job is due up to this much after
    /// scheduled_at (a fixed offset per delivery), spreading top-of-the-hour bursts.
    core::Millis jitter{0};
    core::TimePoint created_at{};
    core::TimePoint updated_at{};
    std::vector<Delivery> deliveries;
};

/// Whether a post in `status` may still be edited or deleted; the error says why not.
core::Status CheckEditable(const Post& post);

}  // namespace herald::domain
