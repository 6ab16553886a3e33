// Live smoke tests: one real post per platform, run only when that platform's credentials are
// in the environment (see the README, "Live smoke tests"); skipped with a message otherwise.
// They connect (VerifyConnection) and publish a short text through the real adapter.

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <iostream>
#include <sstream>

#include "core/ids.hpp"
#include "domain/time.hpp"
#include "platforms/bluesky.hpp"
#include "platforms/discord.hpp"
#include "platforms/mastodon.hpp"
#include "platforms/nostr.hpp"
#include "platforms/telegram.hpp"
#include "platforms/x.hpp"

namespace herald::testing {
namespace {

using nlohmann::json;

std::string Env(const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? "" : v;
}

struct Live {
    std::string platform;
    std::vector<const char*> needs;  // environment variables, all required
    std::function<json()> settings;
    std::function<json()> credentials;
};

void PrintTo(const Live& live, std::ostream* os) { *os << live.platform; }

class LiveSmokeTest : public ::testing::TestWithParam<Live> {};

TEST_P(LiveSmokeTest, PublishesOneRealPost) {
    const Live& live = GetParam();
    std::string missing;
    for (const char* name : live.needs) {
        if (Env(name).empty()) missing += (missing.empty() ? "" : ", ") + std::string(name);
    }
    if (!missing.empty()) GTEST_SKIP() << "no live " << live.platform << " credentials: set " << missing;

    core::SystemClock clock;
    platforms::HttpOptions http;
    http.guard_private = true;  // as the server runs them
    std::unique_ptr<app::PlatformAdapter> made;
    if (live.platform == "bluesky") made = std::make_unique<platforms::BlueskyAdapter>(clock, http);
    if (live.platform == "mastodon") made = std::make_unique<platforms::MastodonAdapter>(clock, http);
    if (live.platform == "nostr") made = std::make_unique<platforms::NostrAdapter>(clock, http);
    if (live.platform == "telegram") {
        made = std::make_unique<platforms::TelegramAdapter>(clock, http, "https://api.telegram.org");
    }
    if (live.platform == "discord")
        made = std::make_unique<platforms::DiscordAdapter>(clock, http, "https://discord.com");
    if (live.platform == "x") {
        made = std::make_unique<platforms::XAdapter>(clock, http, "https://api.x.com", std::nullopt);
    }
    ASSERT_NE(made, nullptr);
    app::PlatformAdapter* adapter = made.get();
    const std::string settings = live.settings().dump();
    const std::string credentials = live.credentials().dump();
    ASSERT_TRUE(adapter->ValidateSettings(settings).has_value());
    auto connected = adapter->VerifyConnection(settings, credentials);
    ASSERT_TRUE(connected.has_value()) << connected.error().message;

    app::PublishRequest req;
    req.delivery_id = core::NewId(clock.Now());
    req.idempotency_key = req.delivery_id;
    req.account_id = "live-" + live.platform;
    req.account_settings_json = *connected;
    req.credentials = credentials;
    req.text = "Herald live smoke test, " + domain::FormatRfc3339(clock.Now());
    auto outcome = adapter->Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::Published>(outcome)) << platforms::ReasonOf(outcome);
    const auto& published = std::get<app::Published>(outcome);
    EXPECT_FALSE(published.remote_id.empty());
    std::cout << live.platform << ": published " << published.remote_id << " " << published.url << "\n";
}

INSTANTIATE_TEST_SUITE_P(
    Platforms, LiveSmokeTest,
    ::testing::Values(
        Live{"bluesky",
             {"HERALD_LIVE_BLUESKY_IDENTIFIER", "HERALD_LIVE_BLUESKY_APP_PASSWORD"},
             [] {
                 const std::string service = Env("HERALD_LIVE_BLUESKY_SERVICE");
                 return service.empty() ? json::object() : json{{"service", service}};
             },
             [] {
                 return json{{"identifier", Env("HERALD_LIVE_BLUESKY_IDENTIFIER")},
                             {"app_password", Env("HERALD_LIVE_BLUESKY_APP_PASSWORD")}};
             }},
        Live{"mastodon",
             {"HERALD_LIVE_MASTODON_INSTANCE", "HERALD_LIVE_MASTODON_TOKEN"},
             [] {
                 return json{{"instance", Env("HERALD_LIVE_MASTODON_INSTANCE")}, {"visibility", "unlisted"}};
             },
             [] {
                 return json{{"access_token", Env("HERALD_LIVE_MASTODON_TOKEN")}};
             }},
        Live{"telegram",
             {"HERALD_LIVE_TELEGRAM_BOT_TOKEN", "HERALD_LIVE_TELEGRAM_CHAT_ID"},
             [] {
                 return json{{"chat_id", Env("HERALD_LIVE_TELEGRAM_CHAT_ID")}};
             },
             [] {
                 return json{{"bot_token", Env("HERALD_LIVE_TELEGRAM_BOT_TOKEN")}};
             }},
        // An OAuth 2.0 user access token with tweet.write (X's developer portal can make one).
        Live{"x",
             {"HERALD_LIVE_X_ACCESS_TOKEN"},
             [] { return json::object(); },
             [] {
                 return json{{"access_token", Env("HERALD_LIVE_X_ACCESS_TOKEN")}};
             }},
        Live{"discord",
             {"HERALD_LIVE_DISCORD_WEBHOOK_URL"},
             [] { return json::object(); },
             [] {
                 return json{{"webhook_url", Env("HERALD_LIVE_DISCORD_WEBHOOK_URL")}};
             }},
        Live{"nostr",
             {"HERALD_LIVE_NOSTR_SECRET_KEY", "HERALD_LIVE_NOSTR_RELAYS"},
             [] {
                 json relays = json::array();
                 std::stringstream list(Env("HERALD_LIVE_NOSTR_RELAYS"));
                 for (std::string r; std::getline(list, r, ',');) relays.push_back(r);
                 return json{{"relays", relays}};
             },
             [] {
                 return json{{"secret_key", Env("HERALD_LIVE_NOSTR_SECRET_KEY")}};
             }}),
    [](const auto& info) { return info.param.platform; });

}  // namespace
}  // namespace herald::testing
