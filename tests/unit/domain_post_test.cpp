#include <gtest/gtest.h>

#include "domain/job.hpp"
#include "domain/post.hpp"
#include "domain/text.hpp"

namespace herald::domain {
namespace {

using S = DeliveryStatus;

TEST(DomainPost, StatusNamesRoundTrip) {
    for (S s : {S::kDraft, S::kScheduled, S::kQueued, S::kPublishing, S::kPublished, S::kFailed, S::kNeedsApproval,
                S::kCancelled, S::kUnconfirmed}) {
        EXPECT_EQ(ParseDeliveryStatus(ToString(s)), s);
    }
    EXPECT_FALSE(ParseDeliveryStatus("sent").has_value());
}

TEST(DomainPost, StateMachineFollowsTheDesign) {
    // The happy path.
    EXPECT_TRUE(CanTransition(S::kDraft, S::kScheduled));
    EXPECT_TRUE(CanTransition(S::kScheduled, S::kQueued));
    EXPECT_TRUE(CanTransition(S::kQueued, S::kPublishing));
    EXPECT_TRUE(CanTransition(S::kPublishing, S::kPublished));
    // Claimed for a platform that drops repeats: no queued step, no separate mark.
    EXPECT_TRUE(CanTransition(S::kScheduled, S::kPublishing));
    // Failures and their recovery.
    EXPECT_TRUE(CanTransition(S::kPublishing, S::kScheduled));  // retry later
    EXPECT_TRUE(CanTransition(S::kPublishing, S::kFailed));
    EXPECT_TRUE(CanTransition(S::kPublishing, S::kUnconfirmed));  // sent, no answer
    EXPECT_TRUE(CanTransition(S::kUnconfirmed, S::kPublished));   // a person marks it
    EXPECT_TRUE(CanTransition(S::kUnconfirmed, S::kScheduled));   // a person retries
    EXPECT_TRUE(CanTransition(S::kFailed, S::kScheduled));
    // Never.
    EXPECT_FALSE(CanTransition(S::kPublished, S::kScheduled));
    EXPECT_FALSE(CanTransition(S::kPublished, S::kPublishing));
    EXPECT_FALSE(CanTransition(S::kCancelled, S::kScheduled));
    EXPECT_FALSE(CanTransition(S::kScheduled, S::kPublished));  // must go through publishing
    EXPECT_FALSE(CanTransition(S::kDraft, S::kPublishing));
    EXPECT_FALSE(CanTransition(S::kUnconfirmed, S::kPublishing));  // never retried blindly
    EXPECT_FALSE(CanTransition(S::kPublishing, S::kCancelled));    // too late to cancel
}

TEST(DomainPost, SummaryShowsTheMostUrgentState) {
    EXPECT_EQ(SummarizeStatus({}, false), S::kDraft);
    EXPECT_EQ(SummarizeStatus({S::kDraft, S::kDraft}, false), S::kDraft);
    EXPECT_EQ(SummarizeStatus({S::kScheduled, S::kPublished}, true), S::kScheduled);
    EXPECT_EQ(SummarizeStatus({S::kPublished, S::kPublishing}, true), S::kPublishing);
    EXPECT_EQ(SummarizeStatus({S::kQueued, S::kScheduled}, true), S::kQueued);
    EXPECT_EQ(SummarizeStatus({S::kPublished, S::kUnconfirmed}, true), S::kUnconfirmed);
    EXPECT_EQ(SummarizeStatus({S::kPublished, S::kFailed}, true), S::kFailed);
    EXPECT_EQ(SummarizeStatus({S::kPublished, S::kPublished}, true), S::kPublished);
    EXPECT_EQ(SummarizeStatus({S::kPublished, S::kCancelled}, true), S::kPublished);
    EXPECT_EQ(SummarizeStatus({S::kCancelled, S::kCancelled}, true), S::kCancelled);
}

TEST(DomainPost, PublishedOrInFlightPostsCannotBeEdited) {
    Post p;
    p.deliveries.push_back(Delivery{.id = "d1", .account_id = "a1", .status = S::kScheduled});
    EXPECT_TRUE(CheckEditable(p).has_value());
    p.deliveries.push_back(Delivery{.id = "d2", .account_id = "a2", .status = S::kFailed});
    EXPECT_TRUE(CheckEditable(p).has_value());
    for (S blocked : {S::kPublished, S::kPublishing, S::kUnconfirmed}) {
        p.deliveries[1].status = blocked;
        auto ok = CheckEditable(p);
        ASSERT_FALSE(ok.has_value()) << ToString(blocked);
        EXPECT_EQ(ok.error().code, core::ErrorCode::kFailedPrecondition);
        EXPECT_EQ(ok.error().details.at("delivery_id"), "d2");
        EXPECT_NE(ok.error().message.find(std::string(ToString(blocked))), std::string::npos);
    }
}

TEST(DomainText, CountsCodePointsNotBytes) {
    EXPECT_EQ(*CountCodePoints("hello", "text"), 5u);
    EXPECT_EQ(*CountCodePoints("h\xC3\xA9llo", "text"), 5u);       // é
    EXPECT_EQ(*CountCodePoints("\xE2\x82\xAC", "text"), 1u);       // €
    EXPECT_EQ(*CountCodePoints("\xF0\x9F\x98\x80!", "text"), 2u);  // 😀!
}

TEST(DomainText, RejectsInvalidUtf8) {
    for (std::string bad : {std::string("\xC3"), std::string("\xC0\xAF"), std::string("\xED\xA0\x80"),
                            std::string("\xF4\x90\x80\x80"), std::string("\xFF"), std::string("ok\x80")}) {
        auto n = CountCodePoints(bad, "variants.sandbox");
        ASSERT_FALSE(n.has_value());
        EXPECT_EQ(n.error().details.at("field"), "variants.sandbox");
        EXPECT_EQ(n.error().details.at("rule"), "utf8");
    }
}

TEST(DomainText, ValidatesAgainstPlatformLimits) {
    PlatformLimits limits{5, 4};
    EXPECT_TRUE(ValidateText("abcde", limits, "sandbox", "text").has_value());
    EXPECT_TRUE(
        ValidateText("\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80", limits, "sandbox", "text").has_value());
    auto over = ValidateText("abcdef", limits, "sandbox", "text");
    ASSERT_FALSE(over.has_value());
    EXPECT_EQ(over.error().details.at("field"), "text");
    EXPECT_EQ(over.error().details.at("rule"), "max_length");
    EXPECT_EQ(over.error().details.at("limit"), "5");
    EXPECT_EQ(over.error().details.at("actual"), "6");
    EXPECT_NE(over.error().message.find("sandbox allows at most 5"), std::string::npos);
    auto empty = ValidateText("", limits, "sandbox", "variants.sandbox");
    ASSERT_FALSE(empty.has_value());
    EXPECT_EQ(empty.error().details.at("rule"), "required");
}

TEST(DomainJob, RetryDelayDoublesAndIsCapped) {
    const core::Millis base = std::chrono::minutes(10);
    EXPECT_EQ(RetryDelay(1, base), std::chrono::minutes(10));
    EXPECT_EQ(RetryDelay(2, base), std::chrono::minutes(20));
    EXPECT_EQ(RetryDelay(3, base), std::chrono::minutes(40));
    EXPECT_EQ(RetryDelay(50, base), std::chrono::hours(24));
}

}  // namespace
}  // namespace herald::domain
