#pragma once

#include "app/ports.hpp"

namespace herald::queue {

struct RetryPolicy {
    int max_attempts = 3;
    core::Millis base = std::chrono::minutes(10);
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
app::OutcomeRecord Decide(const app::PublishOutcome& outcome, int attempt, const RetryPolicy& policy,
                          core::TimePoint now, const app::PublishCapabilities& caps = {}, bool uncertain = false);

}  // namespace herald::queue
