// How each platform counts a post's length: code points, graphemes (Bluesky), X's weighted
// count with links as 23, and bytes; and the error that names the unit.
#include <gtest/gtest.h>

#include "domain/text.hpp"

namespace herald::domain {
namespace {

size_t Count(std::string_view text, TextCounting c) {
    auto n = CountText(text, c, "text");
    EXPECT_TRUE(n.has_value());
    return n.value_or(0);
}

const std::string kFamily =
    "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7";  // 👨‍👩‍👧
const std::string kThumbTone = "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD";               // 👍🏽
const std::string kEAcute = "e\xCC\x81";                                         // e + combining acute

TEST(TextCount, GraphemesCountWhatAReaderSees) {
    EXPECT_EQ(Count("hello", TextCounting::kGraphemes), 5u);
    EXPECT_EQ(Count(kFamily, TextCounting::kGraphemes), 1u);
    EXPECT_EQ(Count(kFamily, TextCounting::kCodePoints), 5u);
    EXPECT_EQ(Count(kThumbTone, TextCounting::kGraphemes), 1u);
    EXPECT_EQ(Count(kEAcute, TextCounting::kGraphemes), 1u);
    EXPECT_EQ(Count(kEAcute, TextCounting::kCodePoints), 2u);
    EXPECT_EQ(Count("\xF0\x9F\x87\xA9\xF0\x9F\x87\xAA", TextCounting::kGraphemes), 1u);  // a flag: two regional letters
    EXPECT_EQ(Count("a\r\nb", TextCounting::kGraphemes), 3u);
    EXPECT_EQ(Count("", TextCounting::kGraphemes), 0u);
}

TEST(TextCount, XWeighsCharactersAndCountsLinksAs23) {
    EXPECT_EQ(Count("hello", TextCounting::kWeighted), 5u);
    EXPECT_EQ(Count("caf\xC3\xA9", TextCounting::kWeighted), 4u);               // Latin-1: 1 each
    EXPECT_EQ(Count("\xE6\x97\xA5\xE6\x9C\xAC", TextCounting::kWeighted), 4u);  // 日本: 2 each
    EXPECT_EQ(Count(kFamily, TextCounting::kWeighted), 2u);                     // an emoji sequence: 2
    EXPECT_EQ(Count(kThumbTone, TextCounting::kWeighted), 2u);
    EXPECT_EQ(Count("\xE2\x80\x94", TextCounting::kWeighted), 1u);  // em dash: general punctuation
    EXPECT_EQ(Count("see https://example.com/a/very/long/path?with=query", TextCounting::kWeighted), 4u + 23u);
    EXPECT_EQ(Count("http://x.io and https://y.io", TextCounting::kWeighted), 23u + 5u + 23u);
}

TEST(TextCount, MastodonCountsGraphemesWithLinksAs23) {
    EXPECT_EQ(Count("see https://example.com/a/very/long/path?with=query", TextCounting::kGraphemesLinks23), 4u + 23u);
    EXPECT_EQ(Count(kFamily + "\xE6\x97\xA5", TextCounting::kGraphemesLinks23), 2u);
}

TEST(TextCount, TelegramCountsUtf16Units) {
    EXPECT_EQ(Count("caf\xC3\xA9", TextCounting::kUtf16Units), 4u);
    EXPECT_EQ(Count(kThumbTone, TextCounting::kUtf16Units), 4u);  // two code points beyond U+FFFF
    EXPECT_EQ(Count(kFamily, TextCounting::kUtf16Units), 8u);     // 3 emoji (2 each) + 2 joiners
}

TEST(TextCount, BytesAreUtf8Bytes) {
    EXPECT_EQ(Count("caf\xC3\xA9", TextCounting::kUtf8Bytes), 5u);
    EXPECT_EQ(Count(kFamily, TextCounting::kUtf8Bytes), 18u);
}

TEST(TextCount, InvalidUtf8IsAnErrorWhateverTheUnit) {
    for (auto c : {TextCounting::kCodePoints, TextCounting::kGraphemes, TextCounting::kWeighted,
                   TextCounting::kUtf8Bytes, TextCounting::kGraphemesLinks23, TextCounting::kUtf16Units}) {
        auto n = CountText("bad \xC3", c, "variants.x");
        ASSERT_FALSE(n.has_value());
        EXPECT_EQ(n.error().details.at("rule"), "utf8");
    }
}

TEST(TextCount, TheErrorSaysHowItCounted) {
    PlatformLimits bluesky;
    bluesky.max_text_chars = 3;
    bluesky.counting = TextCounting::kGraphemes;
    bluesky.max_text_bytes = 60;
    EXPECT_TRUE(ValidateText(kFamily + kFamily + kFamily, bluesky, "bluesky", "text").has_value());  // 3, 54 bytes
    auto four = ValidateText(kFamily + kFamily + kFamily + kFamily, bluesky, "bluesky", "text");
    ASSERT_FALSE(four.has_value());
    EXPECT_EQ(four.error().message, "text has 4 characters; bluesky allows at most 3");
    EXPECT_EQ(four.error().details.at("counted_in"), "graphemes");
    bluesky.max_text_bytes = 40;
    auto heavy = ValidateText(kFamily + kFamily + kFamily, bluesky, "bluesky", "text");
    ASSERT_FALSE(heavy.has_value());
    EXPECT_EQ(heavy.error().message, "text has 54 bytes; bluesky allows at most 40");
    EXPECT_EQ(heavy.error().details.at("counted_in"), "utf8_bytes");

    PlatformLimits x;
    x.max_text_chars = 25;
    x.counting = TextCounting::kWeighted;
    EXPECT_TRUE(ValidateText("a https://example.com/long/link", x, "x", "text").has_value());  // 1 + 1 + 23
    auto over = ValidateText("ab https://example.com", x, "x", "text");
    ASSERT_FALSE(over.has_value());
    EXPECT_EQ(over.error().message, "text has 26 characters as X counts them (links 23); x allows at most 25");
}

}  // namespace
}  // namespace herald::domain
