#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "app/planner.hpp"
#include "app/ports.hpp"
#include "app/principal.hpp"

namespace herald::app {

/// When a post should go out: nothing (draft), an instant, or a wall-clock time in a zone.
struct ScheduleInput {
    std::optional<std::string> scheduled_at;  ///< RFC 3339
    std::optional<std::string> local_time;    ///< "2026-12-01T09:00"
    std::optional<std::string> timezone;      ///< IANA
    /// "Add to queue": the next slot of the accounts' posting schedules that none of them has
    /// taken yet (the same instant for every account of the post).
    bool queue = false;
};

/// Slots given out during one call (bulk), by account: taken even before they are stored.
using SlotBook = std::map<std::string, std::set<core::TimePoint>>;

struct CreatePostInput {
    std::string text;
    std::map<std::string, std::string> variants;
    std::vector<std::string> thread;  ///< replies under the post, in order (domain::Post::thread)
    std::optional<std::string> first_comment;
    std::vector<std::string> media_ids;  ///< from the media library, in order
    std::vector<std::string> account_ids;
    ScheduleInput schedule;
};

/// A PATCH: absent fields keep their value. `schedule_set` means the request named at least one
/// of scheduled_at/local_time/timezone; all three null turns the post back into a draft.
struct UpdatePostInput {
    std::optional<std::string> text;
    std::optional<std::map<std::string, std::string>> variants;
    std::optional<std::vector<std::string>> thread;  ///< present (even empty) replaces the thread
    bool first_comment_set = false;                  ///< first_comment was named (null removes it)
    std::optional<std::string> first_comment;
    std::optional<std::vector<std::string>> media_ids;  ///< present (even empty) replaces the media
    std::optional<std::vector<std::string>> account_ids;
    bool schedule_set = false;
    ScheduleInput schedule;
};

/// Bulk create: all posts are valid and written in one transaction, or none is and `errors`
/// says, per item (by index), what is wrong.
struct BulkCreateResult {
    std::vector<domain::Post> posts;
    std::vector<std::pair<size_t, core::Error>> errors;
};

struct BulkOptions {
    size_t max_posts = 10000;
    bool dry_run = false;  ///< check everything, write nothing
    /// Called now and then while checking: (items checked, items in all).
    std::function<void(size_t, size_t)> progress;
};

class PostService {
  public:
    PostService(Store& store, const core::Clock& clock, const PlatformRegistry& platforms, EventSink& events)
        : store_(store), clock_(clock), platforms_(platforms), events_(events) {}
    /// With a planner, every post this service returns carries each waiting delivery's eta
    /// (and why it is later than asked, when it is). Must outlive the service.
    /// Whether the server can give platforms public media links (public_base_url is set).
    void SetPublicMediaUrls(bool available) { public_media_urls_ = available; }
    void SetPlanner(const Planner* planner) { planner_ = planner; }

    core::Result<domain::Post> Create(const Principal& p, const CreatePostInput& in);
    /// At most options.max_posts posts (the API's limit is kMaxBulkPosts). Invalid items fail
    /// the whole call with per-item errors.
    core::Result<BulkCreateResult> CreateMany(const Principal& p, const std::vector<CreatePostInput>& in,
                                              const BulkOptions& options = {});
    static constexpr size_t kMaxBulkPosts = 10000;
    core::Result<domain::Post> Get(const Principal& p, const std::string& id);
    core::Result<std::vector<domain::Post>> List(const Principal& p, const PostFilter& filter);
    core::Result<domain::Post> Update(const Principal& p, const std::string& id, const UpdatePostInput& in);
    core::Status Delete(const Principal& p, const std::string& id);
    /// A person's decision on a failed or unconfirmed delivery (editors and above).
    core::Result<domain::Post> ResolveDelivery(const Principal& p, const std::string& post_id,
                                               const std::string& delivery_id, const DeliveryResolution& resolution);

  private:
    // Checks everything that does not need the current post; fills scheduled_at/local_time/zone
    // and builds deliveries (reusing `previous` ones for accounts still targeted).
    core::Status Prepare(const Principal& p, domain::Post& post, const std::vector<std::string>& account_ids,
                         const ScheduleInput& schedule, const std::vector<domain::Delivery>& previous,
                         SlotBook* booked = nullptr);
    // "Add to queue": sets the post's time to the accounts' next common free slot.
    core::Status PlaceInQueue(domain::Post& post, const std::vector<std::string>& account_ids, SlotBook* booked);
    void Emit(const domain::Post& post, const std::string& type);
    // The workspace's jitter setting (ratelimit::WorkspaceLimits::jitter_seconds).
    core::Result<core::Millis> JitterOf(const std::string& workspace_id);
    // Fills the etas; a planning failure is logged and leaves them out rather than failing
    // the request.
    void WithEtas(std::vector<domain::Post>& posts) const;
    core::Result<domain::Post> WithEtas(core::Result<domain::Post> post) const;

    Store& store_;
    const core::Clock& clock_;
    const PlatformRegistry& platforms_;
    /// The thread and first comment against the account's platform and caps.
    core::Status CheckFollowUps(const domain::Post& post, const domain::Account& account,
                                const domain::PlatformLimits& platform,
                                const std::optional<std::string>& workspace_limits) const;
    const Planner* planner_ = nullptr;
    EventSink& events_;
    bool public_media_urls_ = false;
};

}  // namespace herald::app
