#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <iterator>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace herald::queue {

/// Group commit: callers that want the same kind of write at the same moment share one
/// transaction. The first becomes the leader and writes everyone's items at once; the others
/// wait for their slice of the answer. With one caller it is a plain call; with many, one
/// commit (and, for the publishing mark, one sync to disk) serves them all, and each page the
/// write touches is written once for the group instead of once per caller.
///
/// `write` gets the items of the whole group and answers one result per item, in order; its
/// failure is every caller's failure.
template <typename In, typename Out>
class GroupCommit {
  public:
    using Write = std::function<core::Result<std::vector<Out>>(const std::vector<In>&)>;

    explicit GroupCommit(Write write) : write_(std::move(write)) {}

    core::Result<std::vector<Out>> Submit(const std::vector<In>& items) {
        Request me{&items, std::nullopt};
        std::unique_lock lock(mu_);
        waiting_.push_back(&me);
        while (!me.result) {
            if (writing_) {
                cv_.wait(lock);
                continue;
            }
            // Lead: write every request waiting now (this one included) in one go.
            writing_ = true;
            std::deque<Request*> group;
            group.swap(waiting_);
            lock.unlock();
            std::vector<In> joined;
            if (group.size() > 1) {
                for (const auto* r : group) joined.insert(joined.end(), r->items->begin(), r->items->end());
            }
            const auto& all = group.size() > 1 ? joined : *group.front()->items;
            core::Result<std::vector<Out>> written = core::Fail(core::ErrorCode::kInternal, "the group write failed");
            try {
                written = write_(all);
            } catch (const std::exception& e) {
                // Every caller gets the error and the next group can still lead.
                written = core::Fail(core::ErrorCode::kInternal, std::string("the group write failed: ") + e.what());
            }
            if (written && written->size() != all.size()) {
                written =
                    core::Fail(core::ErrorCode::kInternal, "a group write answered for the wrong number of items");
            }
            lock.lock();
            size_t at = 0;
            for (auto* r : group) {
                const auto n = r->items->size();
                if (!written) {
                    r->result = tl::unexpected(written.error());
                } else {
                    const auto first = written->begin() + static_cast<std::ptrdiff_t>(at);
                    r->result = std::vector<Out>(std::make_move_iterator(first),
                                                 std::make_move_iterator(first + static_cast<std::ptrdiff_t>(n)));
                }
                at += n;
            }
            writing_ = false;
            cv_.notify_all();
        }
        return std::move(*me.result);
    }

  private:
    struct Request {
        const std::vector<In>* items;
        std::optional<core::Result<std::vector<Out>>> result;
    };
    Write write_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Request*> waiting_;
    bool writing_ = false;
};

}  // namespace herald::queue
