// DeliveryEventText writes the delivery event directly; it must say what the JSON tree says.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "app/json_views.hpp"
#include "domain/time.hpp"

namespace herald::app {
namespace {

using S = domain::DeliveryStatus;

DeliveryChange Change() {
    DeliveryChange c;
    c.workspace_id = "w1";
    c.post_id = "p1";
    c.post_status = S::kPublishing;
    c.delivery.id = "d1";
    c.delivery.post_id = "p1";
    c.delivery.account_id = "a1";
    c.delivery.status = S::kPublishing;
    c.delivery.attempts = 2;
    c.delivery.updated_at = *domain::ParseRfc3339("2026-11-23T18:00:00.125Z");
    return c;
}

TEST(DeliveryEventText, SaysWhatTheJsonTreeSaysWithAndWithoutOptionalFields) {
    auto c = Change();
    EXPECT_EQ(nlohmann::json::parse(DeliveryEventText(c)), DeliveryEventJson(c));

    c.post_status = S::kPublished;
    c.delivery.status = S::kPublished;
    c.delivery.remote_id = "r-1";
    c.delivery.url = "https://sandbox.herald.invalid/a1/posts/r-1";
    c.delivery.published_at = *domain::ParseRfc3339("2026-11-23T18:00:01Z");
    c.delivery.next_attempt_at = *domain::ParseRfc3339("2026-11-23T18:10:00Z");
    c.delivery.error = "first line\nsecond \"quoted\" \\ tab\t bell\x07 end";
    const auto text = DeliveryEventText(c);
    EXPECT_EQ(nlohmann::json::parse(text), DeliveryEventJson(c));
    // The same bytes as the tree's own dump: members in the same order, the same escapes.
    EXPECT_EQ(text, DeliveryEventJson(c).dump());
}

TEST(DeliveryEventText, KeepsUnicodeAndReplacesBytesThatAreNotUtf8) {
    auto c = Change();
    c.delivery.error = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";  // é € 😀
    EXPECT_EQ(nlohmann::json::parse(DeliveryEventText(c))["delivery"]["error"], *c.delivery.error);

    // A lone continuation byte, a truncated sequence, an overlong form, a surrogate, a byte
    // that starts nothing: each becomes U+FFFD and the text stays valid JSON.
    for (const std::string bad : {"a\x80z", "a\xe2\x82", "a\xc0\xafz", "a\xed\xa0\x80z", "a\xffz"}) {
        c.delivery.error = bad;
        const auto text = DeliveryEventText(c);
        nlohmann::json parsed;
        ASSERT_NO_THROW(parsed = nlohmann::json::parse(text)) << text;
        const auto error = parsed["delivery"]["error"].get<std::string>();
        EXPECT_NE(error.find("\xef\xbf\xbd"), std::string::npos) << error;
        EXPECT_EQ(error.front(), 'a');
    }
}

}  // namespace
}  // namespace herald::app
