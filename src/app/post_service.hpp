#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "app/ports.hpp"
#include "app/principal.hpp"

namespace herald::app {

/// When a post should go out: nothing (draft), an instant, or a wall-clock time in a zone.
struct ScheduleInput {
    std::optional<std::string> scheduled_at;  ///< RFC 3339
    std::optional<std::string> local_time;    ///< "2026-12-01T09:00"
    std::optional<std::string> timezone;      ///< IANA
};

struct CreatePostInput {
    std::string text;
    std::map<std::string, std::string> variants;
    std::vector<std::string> account_ids;
    ScheduleInput schedule;
};

/// A PATCH: absent fields keep their value. `schedule_set` means the request named at least one
/// of scheduled_at/local_time/timezone; all three null turns the post back into a draft.
struct UpdatePostInput {
    std::optional<std::string> text;
    std::optional<std::map<std::string, std::string>> variants;
    std::optional<std::vector<std::string>> account_ids;
    bool schedule_set = false;
    ScheduleInput schedule;
};

class PostService {
  public:
    PostService(Store& store, const core::Clock& clock, const PlatformRegistry& platforms, EventSink& events)
        : store_(store), clock_(clock), platforms_(platforms), events_(events) {}

    core::Result<domain::Post> Create(const Principal& p, const CreatePostInput& in);
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
                         const ScheduleInput& schedule, const std::vector<domain::Delivery>& previous);
    void Emit(const domain::Post& post, const std::string& type);

    Store& store_;
    const core::Clock& clock_;
    const PlatformRegistry& platforms_;
    EventSink& events_;
};

}  // namespace herald::app
