#include <gtest/gtest.h>

#include "platforms/sandbox.hpp"

namespace herald::platforms {
namespace {

TEST(SandboxSettings, DefaultsBehaveLikeAHealthyPlatform) {
    auto s = ParseSandboxSettings("{}");
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->mode, SandboxSettings::Mode::kOk);
    EXPECT_EQ(s->delay_ms, 0);
    EXPECT_EQ(s->answer_delay_ms, 0);
    EXPECT_TRUE(ParseSandboxSettings("").has_value());
}

TEST(SandboxSettings, ReadsEveryKnob) {
    auto s = ParseSandboxSettings(
        R"({"mode":"rate_limit","delay_ms":250,"answer_delay_ms":40,"fail_attempts":2,"retry_after_seconds":9,)"
        R"("reject_reason":"no"})");
    ASSERT_TRUE(s.has_value()) << s.error().message;
    EXPECT_EQ(s->mode, SandboxSettings::Mode::kRateLimit);
    EXPECT_EQ(s->delay_ms, 250);
    EXPECT_EQ(s->answer_delay_ms, 40);
    EXPECT_EQ(s->fail_attempts, 2);
    EXPECT_EQ(s->retry_after_seconds, 9);
    EXPECT_EQ(s->reject_reason, "no");
    for (const char* mode : {"ok", "transient", "reject", "rate_limit", "timeout_after_accept"}) {
        EXPECT_TRUE(ParseSandboxSettings(std::string(R"({"mode":")") + mode + "\"}").has_value()) << mode;
    }
}

TEST(SandboxSettings, RejectsUnknownKeysAndBadValuesNamingTheField) {
    struct Case {
        const char* json;
        const char* field;
    };
    for (const Case& c :
         {Case{R"({"mode":"explode"})", "settings.mode"}, Case{R"({"delay_ms":-1})", "settings.delay_ms"},
          Case{R"({"delay_ms":"5"})", "settings.delay_ms"},
          Case{R"({"answer_delay_ms":120001})", "settings.answer_delay_ms"},
          Case{R"({"retry_after_seconds":0})", "settings.retry_after_seconds"},
          Case{R"({"reject_reason":""})", "settings.reject_reason"}, Case{R"({"colour":"red"})", "settings.colour"},
          Case{"[]", "settings"}, Case{"{", "settings"}}) {
        auto s = ParseSandboxSettings(c.json);
        ASSERT_FALSE(s.has_value()) << c.json;
        EXPECT_EQ(s.error().details.at("field"), c.field) << c.json;
    }
}

}  // namespace
}  // namespace herald::platforms
