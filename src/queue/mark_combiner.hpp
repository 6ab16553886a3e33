#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "app/ports.hpp"

namespace herald::queue {

/// Group commit for the publishing mark, the one write the queue syncs to disk before every
/// platform call. Workers that want to mark at the same moment share one transaction: the
/// first becomes the leader and writes everyone's jobs, the others wait for their slice. With
/// one worker it is a plain call; with many, one sync serves them all.
class MarkCombiner {
  public:
    using Marks = std::vector<std::optional<app::DeliveryChange>>;

    MarkCombiner(app::Store& store, const core::Clock& clock) : store_(store), clock_(clock) {}

    /// Same contract as Store::MarkPublishingBatch for `job_ids`.
    core::Result<Marks> Mark(const std::vector<std::string>& job_ids);

  private:
    struct Request {
        const std::vector<std::string>* ids;
        std::optional<core::Result<Marks>> result;
    };
    app::Store& store_;
    const core::Clock& clock_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Request*> waiting_;
    bool writing_ = false;
};

}  // namespace herald::queue
