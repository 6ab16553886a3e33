#pragma once

#include "app/ports.hpp"

namespace herald::queue {

/// How a kind of job retries. The publishing default: the first attempt, then 3 more after 10,
/// 20 and 40 minutes, each moved by up to ±10% so that a burst of failures does not come back
/// as one burst.
struct RetryPolicy {
    int max_attempts = 4;
    core::Millis base = std::chrono::minutes(10);
    double jitter = 0.1;  ///< fraction of the delay, spread evenly both ways
};

/// What to record for a platform's answer: pure, so every branch is unit-tested.
/// - Published: published with the remote id and URL.
/// - Retryable: back to scheduled after exponential backoff, until attempts run out → failed.
/// - RateLimited: back to scheduled at the platform's own time (its Retry-After wins); this
///   does not give up until 4× the attempts, since nothing is wrong with the post.
/// - AuthExpired, Rejected: failed for good with the reason; retrying cannot help.
/// - Unknown (sent, no answer): if the platform deduplicates or can be asked, a retry with
///   backoff marked uncertain (the next attempt resends safely or looks first); otherwise, and
///   when attempts run out, unconfirmed: a person decides, nothing is sent again blindly.
/// `uncertain` carries over from the attempt: an earlier send may have landed until a publish
/// or a lookup says otherwise.
/// `unit` in [0, 1) places the retry within the jitter band (0.5: exactly on the backoff).
app::OutcomeRecord Decide(const app::PublishOutcome& outcome, int attempt, const RetryPolicy& policy,
                          core::TimePoint now, const app::PublishCapabilities& caps = {}, bool uncertain = false,
                          double unit = 0.5);

/// How a task's attempt ended (a job of any kind but publish): ok → done; an error → a retry
/// after exponential backoff with jitter while attempts remain, with the error and the time of
/// the next attempt; after `policy.max_attempts` attempts → dead, with the error's message.
/// `unit` as in Decide.
app::TaskOutcome DecideTask(const core::Status& result, int attempt, const RetryPolicy& policy, core::TimePoint now,
                            double unit = 0.5);

}  // namespace herald::queue
