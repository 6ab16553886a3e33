#pragma once

#include <functional>
#include <map>

#include "app/ports.hpp"
#include "queue/decide.hpp"

namespace herald::queue {

/// What a task handler is given for one attempt.
struct TaskContext {
    const domain::Job& job;  ///< kind, payload, attempt number (job.attempts), due time
    core::TimePoint now;
};

/// Runs one attempt of a task, blocking, on a worker thread (the lease is renewed meanwhile).
/// An error means this attempt failed: the queue retries per the kind's policy, then marks the
/// job dead with the error's message. A thrown exception counts as an error. A handler must be
/// safe to run again: a crash can cut an attempt short, and the job then runs once more.
using TaskHandler = std::function<core::Status(const TaskContext&)>;

/// Which function runs which kind of task, and how that kind retries. The host fills it; the
/// dispatcher looks kinds up here. A claimed task whose kind has no handler goes dead at once,
/// with a reason that says so.
class TaskRegistry {
  public:
    struct Entry {
        TaskHandler run;
        /// Backoff base and jitter for retries. The number of attempts is the job's own
        /// max_attempts, written when it was queued: schedules and EnqueueTask callers take it
        /// from here (retry.max_attempts), so one job's limit does not change under it.
        RetryPolicy retry;
    };

    void Register(domain::JobKind kind, TaskHandler run, RetryPolicy retry) {
        entries_[kind] = Entry{std::move(run), retry};
    }
    const Entry* Find(domain::JobKind kind) const {
        auto it = entries_.find(kind);
        return it == entries_.end() ? nullptr : &it->second;
    }

  private:
    std::map<domain::JobKind, Entry> entries_;
};

}  // namespace herald::queue
