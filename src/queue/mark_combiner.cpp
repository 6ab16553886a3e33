#include "queue/mark_combiner.hpp"

namespace herald::queue {

core::Result<MarkCombiner::Marks> MarkCombiner::Mark(const std::vector<std::string>& job_ids) {
    Request me{&job_ids, std::nullopt};
    std::unique_lock lock(mu_);
    waiting_.push_back(&me);
    while (!me.result) {
        if (writing_) {
            cv_.wait(lock);
            continue;
        }
        // Lead: write every request waiting now (this one included) in one transaction.
        writing_ = true;
        std::deque<Request*> group;
        group.swap(waiting_);
        lock.unlock();
        std::vector<std::string> all;
        for (const auto* r : group) all.insert(all.end(), r->ids->begin(), r->ids->end());
        auto marked = store_.MarkPublishingBatch(all, clock_.Now());
        lock.lock();
        size_t at = 0;
        for (auto* r : group) {
            if (!marked) {
                r->result = tl::unexpected(marked.error());
                continue;
            }
            const auto n = r->ids->size();
            r->result = Marks(std::make_move_iterator(marked->begin() + static_cast<std::ptrdiff_t>(at)),
                              std::make_move_iterator(marked->begin() + static_cast<std::ptrdiff_t>(at + n)));
            at += n;
        }
        writing_ = false;
        cv_.notify_all();
    }
    return std::move(*me.result);
}

}  // namespace herald::queue
