#include "app/post_service.hpp"

#include <spdlog/spdlog.h>

#include <set>

#include "app/json_views.hpp"
#include "core/ids.hpp"
#include "domain/schedule.hpp"
#include "domain/time.hpp"

namespace herald::app {
namespace {

using core::FieldError;
using domain::DeliveryStatus;

constexpr size_t kMaxAccountsPerPost = 100;
constexpr size_t kMaxMediaPerPost = 20;
constexpr size_t kMaxThreadItems = 25;  ///< replies in one thread, whatever the platform
constexpr size_t kMaxTextBytes = 100000;
// A time slightly in the past is "now" from a client with a skewed clock; further back is a mistake.
constexpr auto kPastGrace = std::chrono::minutes(5);
// Far enough for any plan. It also keeps local times away from 2038 and later, where the OS
// tz files (read by date/tz) carry no transitions and DST would silently be ignored.
constexpr auto kMaxAhead = std::chrono::days(5 * 365);

}  // namespace

core::Status PostService::PlaceInQueue(domain::Post& post, const std::vector<std::string>& account_ids,
                                       SlotBook* booked) {
    const auto now = clock_.Now();
    std::vector<domain::PostingSchedule> schedules;
    std::vector<std::set<core::TimePoint>> taken;
    for (const auto& id : account_ids) {
        auto saved = store_.GetPostingSchedule(post.workspace_id, id);
        if (!saved) return tl::unexpected(saved.error());
        if (!*saved) {
            return FieldError("queue", "no_schedule",
                              "account " + id +
                                  " has no posting schedule to queue into: set one (PUT /api/v1/accounts/" + id +
                                  "/schedule), or give the post a time");
        }
        auto schedule = domain::PostingSchedule::Parse(**saved);
        if (!schedule) return tl::unexpected(schedule.error());
        if (schedule->slots.empty()) {
            return FieldError("queue", "no_schedule", "account " + id + "'s posting schedule has no slots");
        }
        auto times = store_.QueuedTimes(id, now);
        if (!times) return tl::unexpected(times.error());
        std::set<core::TimePoint> used(times->begin(), times->end());
        if (booked != nullptr) used.insert((*booked)[id].begin(), (*booked)[id].end());
        schedules.push_back(std::move(*schedule));
        taken.push_back(std::move(used));
    }
    const auto slot = domain::NextCommonFreeSlot(schedules, taken, now, 5 * 366);
    if (!slot) {
        return FieldError("queue", "no_free_slot",
                          account_ids.size() == 1
                              ? "the account's posting schedule has no free slot in the next 5 years"
                              : "these accounts' posting schedules share no free slot in the next 5 years: queue "
                                "the post for each account separately");
    }
    post.scheduled_at = *slot;
    post.local_time = schedules.front().LocalTime(*slot);
    post.time_zone = schedules.front().time_zone;
    if (booked != nullptr) {
        for (const auto& id : account_ids) (*booked)[id].insert(*slot);
    }
    return {};
}

core::Status PostService::Prepare(const Principal& p, domain::Post& post, const std::vector<std::string>& account_ids,
                                  const ScheduleInput& schedule, const std::vector<domain::Delivery>& previous,
                                  SlotBook* booked) {
    const auto now = clock_.Now();
    if (post.text.size() > kMaxTextBytes) {
        return FieldError("text", "max_length", "text must be at most " + std::to_string(kMaxTextBytes) + " bytes");
    }

    // When.
    post.scheduled_at.reset();
    post.local_time.reset();
    post.time_zone.reset();
    if (schedule.queue && (schedule.scheduled_at || schedule.local_time || schedule.timezone)) {
        return FieldError("queue", "one_of",
                          "give either queue, or a time (scheduled_at, or local_time with timezone)");
    }
    if (schedule.scheduled_at && (schedule.local_time || schedule.timezone)) {
        return FieldError("scheduled_at", "one_of", "give either scheduled_at, or local_time with timezone, not both");
    }
    if (schedule.scheduled_at) {
        auto t = domain::ParseRfc3339(*schedule.scheduled_at, "scheduled_at");
        if (!t) return tl::unexpected(t.error());
        post.scheduled_at = *t;
    } else if (schedule.local_time || schedule.timezone) {
        if (!schedule.local_time) return FieldError("local_time", "required", "local_time is required with timezone");
        if (!schedule.timezone) return FieldError("timezone", "required", "timezone is required with local_time");
        auto t = domain::ResolveLocalTime(*schedule.local_time, *schedule.timezone);
        if (!t) return tl::unexpected(t.error());
        post.scheduled_at = *t;
        post.local_time = schedule.local_time;
        post.time_zone = schedule.timezone;
    }
    if (post.scheduled_at && *post.scheduled_at > now + kMaxAhead) {
        const std::string field = post.local_time ? "local_time" : "scheduled_at";
        return FieldError(field, "max_ahead", field + " is more than 5 years ahead; choose a nearer time");
    }
    if (post.scheduled_at && *post.scheduled_at < now - kPastGrace) {
        const std::string field = post.local_time ? "local_time" : "scheduled_at";
        auto e = FieldError(
            field, "not_in_past",
            field + " is in the past (" + domain::FormatRfc3339(*post.scheduled_at) + "); choose a future time");
        return e;
    }

    // Where.
    if (account_ids.empty()) {
        return FieldError("account_ids", "required", "account_ids must name at least one account");
    }
    const bool queue = schedule.queue;
    if (account_ids.size() > kMaxAccountsPerPost) {
        return FieldError("account_ids", "max_items",
                          "a post can target at most " + std::to_string(kMaxAccountsPerPost) + " accounts");
    }
    // What: the media, read once, checked against each target platform below.
    if (post.media_ids.size() > kMaxMediaPerPost) {
        return FieldError("media_ids", "max_items",
                          "a post can carry at most " + std::to_string(kMaxMediaPerPost) + " media items");
    }
    std::vector<domain::MediaItem> media;
    for (size_t i = 0; i < post.media_ids.size(); ++i) {
        const std::string field = "media_ids[" + std::to_string(i) + "]";
        const auto& id = post.media_ids[i];
        for (size_t j = 0; j < i; ++j) {
            if (post.media_ids[j] == id) return FieldError(field, "unique", field + " repeats media item " + id);
        }
        auto item = store_.GetMedia(p.workspace_id, id);
        if (!item) {
            if (item.error().code == core::ErrorCode::kNotFound) {
                return FieldError(field, "existing_media", field + ": no media item " + id + " in this workspace");
            }
            return tl::unexpected(item.error());
        }
        media.push_back(std::move(*item));
    }
    std::set<std::string> seen;
    std::set<std::string> platforms_used;
    std::vector<domain::Delivery> deliveries;
    // A thread or comment must fit each account's caps: read the workspace's settings once.
    std::optional<std::string> workspace_limits;
    if ((!post.thread.empty() || post.first_comment) && planner_ != nullptr) {
        auto stored = store_.GetWorkspaceLimits(p.workspace_id);
        if (!stored) return tl::unexpected(stored.error());
        workspace_limits = std::move(*stored);
    }
    for (size_t i = 0; i < account_ids.size(); ++i) {
        const auto& id = account_ids[i];
        const std::string field = "account_ids[" + std::to_string(i) + "]";
        if (!seen.insert(id).second) return FieldError(field, "unique", field + " repeats account " + id);
        auto account = store_.GetAccount(p.workspace_id, id);
        if (!account) {
            if (account.error().code == core::ErrorCode::kNotFound) {
                return FieldError(field, "existing_account", field + ": no account " + id + " in this workspace");
            }
            return tl::unexpected(account.error());
        }
        PlatformAdapter* adapter = platforms_.Find(account->platform);
        if (adapter == nullptr) {
            return FieldError(field, "known_platform",
                              field + ": platform " + account->platform + " is not available on this server");
        }
        platforms_used.insert(account->platform);
        auto variant = post.variants.find(account->platform);
        const bool has_variant = variant != post.variants.end();
        const std::string& text = has_variant ? variant->second : post.text;
        if (auto ok = domain::ValidateText(text, adapter->Limits(), account->platform,
                                           has_variant ? "variants." + account->platform : "text");
            !ok) {
            return ok;
        }
        if (auto ok = CheckFollowUps(post, *account, adapter->Limits(), workspace_limits); !ok) return ok;
        if (auto ok = domain::ValidateMedia(media, adapter->Limits().media, account->platform, public_media_urls_);
            !ok) {
            return ok;
        }
        domain::Delivery d;
        for (const auto& prev : previous) {
            if (prev.account_id == id) d = prev;
        }
        if (d.id.empty()) d.id = core::NewId(now);
        d.post_id = post.id;
        d.account_id = id;
        d.status = post.scheduled_at || queue ? DeliveryStatus::kScheduled : DeliveryStatus::kDraft;
        // An edit starts the delivery afresh: old attempts and errors were about the old version.
        d.attempts = 0;
        d.error.reset();
        d.next_attempt_at.reset();
        d.remote_id.reset();
        d.url.reset();
        d.updated_at = now;
        deliveries.push_back(std::move(d));
    }
    for (const auto& [platform, text] : post.variants) {
        if (platforms_.Find(platform) == nullptr) {
            return FieldError("variants." + platform, "known_platform",
                              "variants names an unknown platform " + platform);
        }
        if (!platforms_used.count(platform)) {
            return FieldError("variants." + platform, "targeted_platform",
                              "variants." + platform + " is given but no target account is on " + platform);
        }
    }
    if (queue) {
        // Last: only a post that is otherwise valid takes a slot.
        if (auto ok = PlaceInQueue(post, account_ids, booked); !ok) return ok;
    }
    post.deliveries = std::move(deliveries);
    std::vector<DeliveryStatus> states;
    for (const auto& d : post.deliveries) states.push_back(d.status);
    post.status = domain::SummarizeStatus(states, post.scheduled_at.has_value());
    post.updated_at = now;
    return {};
}

void PostService::Emit(const domain::Post& post, const std::string& type) {
    events_.Publish(Event{post.workspace_id, type, ToJson(post).dump()});
}

core::Result<core::Millis> PostService::JitterOf(const std::string& workspace_id) {
    auto saved = store_.GetWorkspaceLimits(workspace_id);
    if (!saved) return tl::unexpected(saved.error());
    return core::Millis(std::chrono::seconds(ratelimit::WorkspaceLimits::ReadStored(*saved).jitter_seconds));
}

void PostService::WithEtas(std::vector<domain::Post>& posts) const {
    if (planner_ == nullptr || posts.empty()) return;
    if (auto ok = planner_->Annotate(posts); !ok) {
        spdlog::warn("event=plan_failed posts={} error=\"{}\"", posts.size(), ok.error().message);
    }
}

core::Result<domain::Post> PostService::WithEtas(core::Result<domain::Post> post) const {
    if (!post) return post;
    std::vector<domain::Post> one{std::move(*post)};
    WithEtas(one);
    return std::move(one.front());
}

core::Status PostService::CheckFollowUps(const domain::Post& post, const domain::Account& account,
                                         const domain::PlatformLimits& platform,
                                         const std::optional<std::string>& workspace_limits) const {
    if (post.thread.size() > kMaxThreadItems) {
        return FieldError("thread", "max_items",
                          "a thread can have at most " + std::to_string(kMaxThreadItems) + " replies");
    }
    if (!post.thread.empty() && platform.max_thread_items == 0) {
        return FieldError("thread", "platform_threads",
                          account.platform + " has no threads: remove the thread or " + "the account " + account.name +
                              " from the post");
    }
    if (static_cast<int>(post.thread.size()) > platform.max_thread_items && platform.max_thread_items > 0) {
        return FieldError("thread", "max_items",
                          account.platform + " takes at most " + std::to_string(platform.max_thread_items) +
                              " replies in a thread; this one has " + std::to_string(post.thread.size()));
    }
    for (size_t i = 0; i < post.thread.size(); ++i) {
        if (auto ok =
                domain::ValidateText(post.thread[i], platform, account.platform, "thread[" + std::to_string(i) + "]");
            !ok) {
            return ok;
        }
    }
    if (post.first_comment) {
        if (!platform.first_comment) {
            return FieldError("first_comment", "platform_comments",
                              account.platform + " takes no first comment: remove it or the account " + account.name +
                                  " from the post");
        }
        if (auto ok = domain::ValidateText(*post.first_comment, platform, account.platform, "first_comment"); !ok) {
            return ok;
        }
    }
    if (!workspace_limits || planner_ == nullptr) return {};
    // More replies (or comments) at once than a cap allows could never go out.
    const auto limits = ratelimit::Enforced(planner_->LimitsOf(account, *workspace_limits).actions);
    const auto demand = ratelimit::PostDemand(static_cast<int>(post.thread.size()), post.first_comment.has_value());
    for (size_t k = 1; k < ratelimit::kActions.size(); ++k) {
        const auto& l = limits[k];
        // The limiter's own rule: more at once than a cap allows can never go.
        const auto wait = ratelimit::ExplainEarliest(l, {}, clock_.Now(), demand[k]);
        if (wait.at == ratelimit::kNever) {
            const bool daily = wait.cause == ratelimit::Cause::kDaily;
            const int cap = daily ? l.per_day : l.per_hour;
            const std::string field = k == 1 ? "thread" : "first_comment";
            return FieldError(field, "within_limits",
                              "the account " + account.name + " may post at most " + std::to_string(cap) + " " +
                                  (k == 1 ? (cap == 1 ? "reply" : "replies") : (cap == 1 ? "comment" : "comments")) +
                                  (daily ? " a day" : " an hour") +
                                  " now (its limits, warm-up included); this post needs " + std::to_string(demand[k]) +
                                  " at once");
        }
    }
    return {};
}

core::Result<domain::Post> PostService::Create(const Principal& p, const CreatePostInput& in) {
    if (auto ok = Require(p, domain::Role::kEditor); !ok) return tl::unexpected(ok.error());
    domain::Post post;
    post.id = core::NewId(clock_.Now());
    post.workspace_id = p.workspace_id;
    post.created_by = p.user_id;
    post.text = in.text;
    post.variants = in.variants;
    post.thread = in.thread;
    post.first_comment = in.first_comment;
    post.media_ids = in.media_ids;
    post.created_at = clock_.Now();
    if (auto ok = Prepare(p, post, in.account_ids, in.schedule, {}); !ok) return tl::unexpected(ok.error());
    auto jitter = JitterOf(p.workspace_id);
    if (!jitter) return tl::unexpected(jitter.error());
    post.jitter = *jitter;
    if (auto ok = store_.CreatePost(post); !ok) return tl::unexpected(ok.error());
    spdlog::info("event=post_created workspace_id={} post_id={} status={} deliveries={}", p.workspace_id, post.id,
                 domain::ToString(post.status), post.deliveries.size());
    auto out = WithEtas(std::move(post));
    Emit(*out, "post.created");
    return out;
}

core::Result<BulkCreateResult> PostService::CreateMany(const Principal& p, const std::vector<CreatePostInput>& in,
                                                       const BulkOptions& options) {
    if (auto ok = Require(p, domain::Role::kEditor); !ok) return tl::unexpected(ok.error());
    if (in.empty()) return FieldError("posts", "required", "posts must hold at least one post");
    if (in.size() > options.max_posts) {
        return FieldError("posts", "max_items",
                          "at most " + std::to_string(options.max_posts) + " posts per request; split the rest");
    }
    BulkCreateResult out;
    out.posts.reserve(in.size());
    SlotBook booked;  // slots given to earlier items of this call
    const auto now = clock_.Now();
    for (size_t i = 0; i < in.size(); ++i) {
        domain::Post post;
        post.id = core::NewId(now);
        post.workspace_id = p.workspace_id;
        post.created_by = p.user_id;
        post.text = in[i].text;
        post.variants = in[i].variants;
        post.thread = in[i].thread;
        post.first_comment = in[i].first_comment;
        post.media_ids = in[i].media_ids;
        post.created_at = now;
        if (auto ok = Prepare(p, post, in[i].account_ids, in[i].schedule, {}, &booked); !ok) {
            // Infrastructure failures end the call; a bad item is reported with the others.
            if (ok.error().code != core::ErrorCode::kInvalidArgument) return tl::unexpected(ok.error());
            out.errors.emplace_back(i, ok.error());
            continue;
        }
        out.posts.push_back(std::move(post));
        if (options.progress && (i + 1) % 500 == 0) options.progress(i + 1, in.size());
    }
    if (options.progress) options.progress(in.size(), in.size());
    if (!out.errors.empty()) {
        out.posts.clear();
        return out;
    }
    if (options.dry_run) return out;
    auto jitter = JitterOf(p.workspace_id);
    if (!jitter) return tl::unexpected(jitter.error());
    for (auto& post : out.posts) post.jitter = *jitter;
    if (auto ok = store_.CreatePosts(out.posts); !ok) return tl::unexpected(ok.error());
    spdlog::info("event=posts_bulk_created workspace_id={} posts={}", p.workspace_id, out.posts.size());
    nlohmann::json ids = nlohmann::json::array();
    for (const auto& post : out.posts) ids.push_back(post.id);
    // One event for the lot: a dashboard reloads its list instead of taking thousands of messages.
    events_.Publish(
        Event{p.workspace_id, "post.bulk_created", nlohmann::json{{"count", ids.size()}, {"ids", ids}}.dump()});
    WithEtas(out.posts);
    return out;
}

core::Result<domain::Post> PostService::Get(const Principal& p, const std::string& id) {
    return WithEtas(store_.GetPost(p.workspace_id, id));
}

core::Result<std::vector<domain::Post>> PostService::List(const Principal& p, const PostFilter& filter) {
    auto posts = store_.ListPosts(p.workspace_id, filter);
    if (posts) WithEtas(*posts);
    return posts;
}

core::Result<domain::Post> PostService::Update(const Principal& p, const std::string& id, const UpdatePostInput& in) {
    if (auto ok = Require(p, domain::Role::kEditor); !ok) return tl::unexpected(ok.error());
    auto jitter = JitterOf(p.workspace_id);
    if (!jitter) return tl::unexpected(jitter.error());
    auto updated =
        store_.UpdatePost(p.workspace_id, id, [&](const domain::Post& current) -> core::Result<domain::Post> {
            if (auto ok = domain::CheckEditable(current); !ok) return tl::unexpected(ok.error());
            domain::Post next = current;
            if (in.text) next.text = *in.text;
            if (in.variants) next.variants = *in.variants;
            if (in.thread) next.thread = *in.thread;
            if (in.first_comment_set) next.first_comment = in.first_comment;
            if (in.media_ids) next.media_ids = *in.media_ids;
            std::vector<std::string> account_ids;
            if (in.account_ids) {
                account_ids = *in.account_ids;
            } else {
                for (const auto& d : current.deliveries) account_ids.push_back(d.account_id);
            }
            ScheduleInput schedule = in.schedule;
            if (!in.schedule_set) {
                // Keep the time as the user gave it: a zone-local time is re-resolved (tz rules may
                // have changed since), an instant stays the instant.
                if (current.local_time && current.time_zone) {
                    schedule = ScheduleInput{std::nullopt, current.local_time, current.time_zone};
                } else if (current.scheduled_at) {
                    schedule = ScheduleInput{domain::FormatRfc3339(*current.scheduled_at), std::nullopt, std::nullopt};
                }
            }
            if (auto ok = Prepare(p, next, account_ids, schedule, current.deliveries); !ok)
                return tl::unexpected(ok.error());
            next.jitter = *jitter;
            return next;
        });
    if (!updated) return updated;
    updated = WithEtas(std::move(updated));
    spdlog::info("event=post_updated workspace_id={} post_id={} status={}", p.workspace_id, id,
                 domain::ToString(updated->status));
    Emit(*updated, "post.updated");
    return updated;
}

core::Status PostService::Delete(const Principal& p, const std::string& id) {
    if (auto ok = Require(p, domain::Role::kEditor); !ok) return ok;
    auto ok = store_.DeletePost(p.workspace_id, id,
                                [](const domain::Post& current) { return domain::CheckEditable(current); });
    if (!ok) return ok;
    spdlog::info("event=post_deleted workspace_id={} post_id={}", p.workspace_id, id);
    events_.Publish(Event{p.workspace_id, "post.deleted", nlohmann::json{{"id", id}}.dump()});
    return {};
}

core::Result<domain::Post> PostService::ResolveDelivery(const Principal& p, const std::string& post_id,
                                                        const std::string& delivery_id,
                                                        const DeliveryResolution& resolution) {
    if (auto ok = Require(p, domain::Role::kEditor); !ok) return tl::unexpected(ok.error());
    if (resolution.action == DeliveryResolution::Action::kMarkPublished) {
        const std::string url = resolution.url.value_or("");
        if (url.empty()) return FieldError("url", "required", "url is required: where the post can be seen");
        if (url.size() > 2048 || !(url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0)) {
            return FieldError("url", "http_url", "url must be an http(s) address of at most 2048 characters");
        }
    }
    auto post = WithEtas(store_.ResolveDelivery(p.workspace_id, post_id, delivery_id, resolution, clock_.Now()));
    if (!post) return post;
    spdlog::info("event=delivery_resolved workspace_id={} post_id={} delivery_id={} action={}", p.workspace_id, post_id,
                 delivery_id, resolution.action == DeliveryResolution::Action::kRetry ? "retry" : "mark_published");
    Emit(*post, "post.updated");
    return post;
}

}  // namespace herald::app
