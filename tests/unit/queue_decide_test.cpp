#include <gtest/gtest.h>

#include "domain/time.hpp"
#include "queue/decide.hpp"

namespace herald::queue {
namespace {

using domain::DeliveryStatus;

const core::TimePoint kNow = *domain::ParseRfc3339("2026-12-01T09:00:00Z");
const RetryPolicy kPolicy{3, std::chrono::minutes(10)};

TEST(QueueDecide, PublishedRecordsRemoteIdAndUrl) {
    auto r = Decide(app::Published{"r1", "https://x/r1"}, 1, kPolicy, kNow);
    EXPECT_EQ(r.status, DeliveryStatus::kPublished);
    EXPECT_EQ(r.remote_id, "r1");
    EXPECT_EQ(r.url, "https://x/r1");
    EXPECT_FALSE(r.job_dead);
}

TEST(QueueDecide, RetryableBacksOffExponentiallyThenGivesUp) {
    auto first = Decide(app::Retryable{"HTTP 503"}, 1, kPolicy, kNow);
    EXPECT_EQ(first.status, DeliveryStatus::kScheduled);
    EXPECT_EQ(first.next_attempt_at, kNow + std::chrono::minutes(10));
    EXPECT_NE(first.error->find("HTTP 503"), std::string::npos);
    EXPECT_NE(first.error->find("attempt 2 of 3"), std::string::npos);
    auto second = Decide(app::Retryable{"HTTP 503"}, 2, kPolicy, kNow);
    EXPECT_EQ(second.next_attempt_at, kNow + std::chrono::minutes(20));
    auto last = Decide(app::Retryable{"HTTP 503"}, 3, kPolicy, kNow);
    EXPECT_EQ(last.status, DeliveryStatus::kFailed);
    EXPECT_TRUE(last.job_dead);
    EXPECT_NE(last.error->find("gave up after 3 attempts"), std::string::npos);
}

TEST(QueueDecide, RateLimitWaitsExactlyUntilThePlatformSays) {
    auto until = kNow + std::chrono::seconds(37);
    auto r = Decide(app::RateLimited{until, "429"}, 3, kPolicy, kNow);
    EXPECT_EQ(r.status, DeliveryStatus::kRateLimited);
    EXPECT_EQ(r.next_attempt_at, until);
    EXPECT_FALSE(r.job_dead);
    EXPECT_NE(r.error->find("will publish at"), std::string::npos);
    // A Retry-After in the past means "now", never earlier.
    auto past = Decide(app::RateLimited{kNow - std::chrono::seconds(5), "429"}, 1, kPolicy, kNow);
    EXPECT_EQ(past.next_attempt_at, kNow);
    // Waiting uses no attempt, so however many times the platform says "later", it never
    // turns into a failure.
    auto again = Decide(app::RateLimited{until, "429"}, 12, kPolicy, kNow);
    EXPECT_EQ(again.status, DeliveryStatus::kRateLimited);
    EXPECT_FALSE(again.job_dead);
}

TEST(QueueDecide, RejectedFailsAtOnceWithTheReason) {
    auto rejected = Decide(app::Rejected{"text too long for the platform"}, 1, kPolicy, kNow);
    EXPECT_EQ(rejected.status, DeliveryStatus::kFailed);
    EXPECT_TRUE(rejected.job_dead);
    EXPECT_EQ(rejected.error, "text too long for the platform");
}

// A refused grant is the account's problem, not the post's: it waits (the dispatcher pauses
// the account) instead of failing, whatever attempt it was.
TEST(QueueDecide, AuthExpiredWaitsForTheAccountToBeReconnected) {
    for (int attempt : {1, kPolicy.max_attempts}) {
        auto auth = Decide(app::AuthExpired{"token revoked"}, attempt, kPolicy, kNow);
        EXPECT_EQ(auth.status, DeliveryStatus::kScheduled);
        EXPECT_FALSE(auth.job_dead);
        EXPECT_EQ(auth.next_attempt_at, kNow);
        EXPECT_EQ(auth.error, "waiting for the account to be reconnected: token revoked");
    }
}

TEST(QueueDecide, UnknownIsRetriedOnlyWhenThePlatformDedupesOrCanBeAsked) {
    for (app::PublishCapabilities caps :
         {app::PublishCapabilities{true, false}, app::PublishCapabilities{false, true}}) {
        auto r = Decide(app::Unknown{"timed out"}, 1, kPolicy, kNow, caps);
        EXPECT_EQ(r.status, DeliveryStatus::kScheduled);
        EXPECT_EQ(r.next_attempt_at, kNow + std::chrono::minutes(10));
        EXPECT_TRUE(r.uncertain);  // the next attempt must resend safely or look first
        EXPECT_FALSE(r.job_dead);
        // Out of attempts, it may still exist: unconfirmed, not failed.
        auto last = Decide(app::Unknown{"timed out"}, 3, kPolicy, kNow, caps);
        EXPECT_EQ(last.status, DeliveryStatus::kUnconfirmed);
        EXPECT_FALSE(last.uncertain);
    }
}

TEST(QueueDecide, UncertaintyCarriesOverUntilAnAnswerSettlesIt) {
    const app::PublishCapabilities caps{false, true};
    auto transient = Decide(app::Retryable{"503"}, 1, kPolicy, kNow, caps, /*uncertain=*/true);
    EXPECT_EQ(transient.status, DeliveryStatus::kScheduled);
    EXPECT_TRUE(transient.uncertain);
    auto clean = Decide(app::Retryable{"503"}, 1, kPolicy, kNow, caps, /*uncertain=*/false);
    EXPECT_FALSE(clean.uncertain);
    auto done = Decide(app::Published{"r", "u"}, 2, kPolicy, kNow, caps, /*uncertain=*/true);
    EXPECT_EQ(done.status, DeliveryStatus::kPublished);
    EXPECT_FALSE(done.uncertain);
}

TEST(QueueDecide, UnknownBecomesUnconfirmedAndIsNeverRetried) {
    auto r = Decide(app::Unknown{"timed out after sending"}, 1, kPolicy, kNow);
    EXPECT_EQ(r.status, DeliveryStatus::kUnconfirmed);
    EXPECT_TRUE(r.job_dead);
    EXPECT_FALSE(r.next_attempt_at.has_value());
    EXPECT_NE(r.error->find("will not send it again"), std::string::npos);
}

// ---- tasks ----------------------------------------------------------------------------------

TEST(QueueDecideTask, SuccessIsDone) {
    auto r = DecideTask(core::Status{}, 1, kPolicy, kNow);
    EXPECT_EQ(r.kind, app::TaskOutcome::Kind::kDone);
    EXPECT_FALSE(r.error.has_value());
    EXPECT_FALSE(r.retry_at.has_value());
}

TEST(QueueDecideTask, FailureBacksOffExponentiallyThenGoesDeadWithTheReason) {
    const core::Status failed = core::Fail(core::ErrorCode::kUnavailable, "database locked");
    auto first = DecideTask(failed, 1, kPolicy, kNow);
    EXPECT_EQ(first.kind, app::TaskOutcome::Kind::kRetry);
    EXPECT_EQ(first.retry_at, kNow + std::chrono::minutes(10));
    EXPECT_NE(first.error->find("database locked"), std::string::npos);
    EXPECT_NE(first.error->find("attempt 2 of 3"), std::string::npos);
    EXPECT_EQ(DecideTask(failed, 2, kPolicy, kNow).retry_at, kNow + std::chrono::minutes(20));
    auto last = DecideTask(failed, 3, kPolicy, kNow);
    EXPECT_EQ(last.kind, app::TaskOutcome::Kind::kDead);
    EXPECT_FALSE(last.retry_at.has_value());
    EXPECT_EQ(last.error, "database locked (gave up after 3 attempts)");
}

TEST(QueueDecideTask, JitterStaysWithinItsBand) {
    const core::Status failed = core::Fail(core::ErrorCode::kUnavailable, "x");
    const RetryPolicy policy{3, std::chrono::minutes(10), 0.1};
    EXPECT_EQ(DecideTask(failed, 1, policy, kNow, 0.0).retry_at, kNow + std::chrono::minutes(9));
    EXPECT_EQ(DecideTask(failed, 1, policy, kNow, 0.5).retry_at, kNow + std::chrono::minutes(10));
    EXPECT_EQ(DecideTask(failed, 1, policy, kNow, 1.0).retry_at, kNow + std::chrono::minutes(11));
}

}  // namespace
}  // namespace herald::queue
