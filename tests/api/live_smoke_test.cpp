// Live smoke tests: one real post per platform, run only when that platform's credentials are
// in the environment (see the README, "Live smoke tests"); skipped with a message otherwise.
// They connect (VerifyConnection) and publish a short text through the real adapter, with the
// media a platform requires (a public JPEG for Instagram and Pinterest, a public MP4 for
// TikTok, tests/data/media/clip.mp4 uploaded to YouTube).

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <iostream>
#include <sstream>

#include "core/ids.hpp"
#include "domain/time.hpp"
#include "platforms/bluesky.hpp"
#include "platforms/discord.hpp"
#include "platforms/facebook.hpp"
#include "platforms/instagram.hpp"
#include "platforms/linkedin.hpp"
#include "platforms/mastodon.hpp"
#include "platforms/nostr.hpp"
#include "platforms/pinterest.hpp"
#include "platforms/reddit.hpp"
#include "platforms/telegram.hpp"
#include "platforms/threads.hpp"
#include "platforms/tiktok.hpp"
#include "platforms/x.hpp"
#include "platforms/youtube.hpp"

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
    /// The post's media, for the platforms whose posts need some; none by default.
    std::function<std::vector<app::PublishMedia>()> media = [] { return std::vector<app::PublishMedia>{}; };
};

// An image or video the platform downloads from `url` (it must be public).
std::vector<app::PublishMedia> Linked(const std::string& url, domain::MediaKind kind, domain::MediaFormat format) {
    app::PublishMedia m;
    m.id = "live-media";
    m.kind = kind;
    m.format = format;
    m.public_url = url;
    return {m};
}

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
    if (live.platform == "linkedin") {
        made = std::make_unique<platforms::LinkedInAdapter>(clock, http, "https://api.linkedin.com",
                                                            "https://www.linkedin.com", "202605", std::nullopt);
    }
    if (live.platform == "youtube") {
        made = std::make_unique<platforms::YouTubeAdapter>(clock, http, "https://www.googleapis.com",
                                                           "https://oauth2.googleapis.com/token", std::nullopt);
    }
    if (live.platform == "tiktok") {
        made = std::make_unique<platforms::TikTokAdapter>(clock, http, "https://open.tiktokapis.com", std::nullopt);
    }
    if (live.platform == "reddit") {
        made = std::make_unique<platforms::RedditAdapter>(clock, http, "https://oauth.reddit.com",
                                                          "https://www.reddit.com", std::nullopt);
    }
    if (live.platform == "pinterest") {
        made = std::make_unique<platforms::PinterestAdapter>(clock, http, "https://api.pinterest.com", std::nullopt);
    }
    if (live.platform == "facebook") {
        made =
            std::make_unique<platforms::FacebookAdapter>(clock, http, "https://graph.facebook.com/v23.0", std::nullopt);
    }
    if (live.platform == "threads") {
        made = std::make_unique<platforms::ThreadsAdapter>(clock, http, "https://graph.threads.net/v1.0", std::nullopt);
    }
    if (live.platform == "instagram") {
        made = std::make_unique<platforms::InstagramAdapter>(clock, http, "https://graph.instagram.com/v23.0",
                                                             "https://api.instagram.com", std::nullopt);
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
    req.media = live.media();
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
             }},
        // Each below: an OAuth 2.0 access token of a test account, with the scopes Herald asks
        // for when it connects one (see the platform's adapter).
        Live{"linkedin",
             {"HERALD_LIVE_LINKEDIN_ACCESS_TOKEN"},
             [] { return json::object(); },
             [] {
                 return json{{"access_token", Env("HERALD_LIVE_LINKEDIN_ACCESS_TOKEN")}};
             }},
        // Uploads tests/data/media/clip.mp4, private.
        Live{"youtube",
             {"HERALD_LIVE_YOUTUBE_ACCESS_TOKEN"},
             [] {
                 return json{{"privacy", "private"}};
             },
             [] {
                 return json{{"access_token", Env("HERALD_LIVE_YOUTUBE_ACCESS_TOKEN")}};
             },
             [] {
                 app::PublishMedia m;
                 m.id = "live-clip";
                 m.kind = domain::MediaKind::kVideo;
                 m.format = domain::MediaFormat::kMp4;
                 m.path = std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media/clip.mp4";
                 m.bytes = std::filesystem::file_size(m.path);
                 return std::vector<app::PublishMedia>{m};
             }},
        // TikTok pulls the video from HERALD_LIVE_VIDEO_URL, whose domain must be verified for
        // the app; an app TikTok has not audited posts SELF_ONLY, to a private account.
        Live{"tiktok",
             {"HERALD_LIVE_TIKTOK_ACCESS_TOKEN", "HERALD_LIVE_VIDEO_URL"},
             [] { return json::object(); },
             [] {
                 return json{{"access_token", Env("HERALD_LIVE_TIKTOK_ACCESS_TOKEN")}};
             },
             [] { return Linked(Env("HERALD_LIVE_VIDEO_URL"), domain::MediaKind::kVideo, domain::MediaFormat::kMp4); }},
        Live{"reddit",
             {"HERALD_LIVE_REDDIT_ACCESS_TOKEN", "HERALD_LIVE_REDDIT_SUBREDDIT"},
             [] {
                 return json{{"subreddit", Env("HERALD_LIVE_REDDIT_SUBREDDIT")}};
             },
             [] {
                 return json{{"access_token", Env("HERALD_LIVE_REDDIT_ACCESS_TOKEN")}};
             }},
        Live{
            "pinterest",
            {"HERALD_LIVE_PINTEREST_ACCESS_TOKEN", "HERALD_LIVE_PINTEREST_BOARD_ID", "HERALD_LIVE_MEDIA_URL"},
            [] {
                return json{{"board_id", Env("HERALD_LIVE_PINTEREST_BOARD_ID")}};
            },
            [] {
                return json{{"access_token", Env("HERALD_LIVE_PINTEREST_ACCESS_TOKEN")}};
            },
            [] { return Linked(Env("HERALD_LIVE_MEDIA_URL"), domain::MediaKind::kImage, domain::MediaFormat::kJpeg); }},
        // A user access token of someone who manages the Page (Herald asks for the Page's own).
        Live{"facebook",
             {"HERALD_LIVE_FACEBOOK_ACCESS_TOKEN", "HERALD_LIVE_FACEBOOK_PAGE_ID"},
             [] {
                 return json{{"page_id", Env("HERALD_LIVE_FACEBOOK_PAGE_ID")}};
             },
             [] {
                 return json{{"access_token", Env("HERALD_LIVE_FACEBOOK_ACCESS_TOKEN")}};
             }},
        Live{"threads",
             {"HERALD_LIVE_THREADS_ACCESS_TOKEN"},
             [] { return json::object(); },
             [] {
                 return json{{"access_token", Env("HERALD_LIVE_THREADS_ACCESS_TOKEN")}};
             }},
        // Instagram downloads the JPEG from HERALD_LIVE_MEDIA_URL (aspect ratio 4:5 to 1.91:1).
        Live{"instagram",
             {"HERALD_LIVE_INSTAGRAM_ACCESS_TOKEN", "HERALD_LIVE_MEDIA_URL"},
             [] { return json::object(); },
             [] {
                 return json{{"access_token", Env("HERALD_LIVE_INSTAGRAM_ACCESS_TOKEN")}};
             },
             [] {
                 return Linked(Env("HERALD_LIVE_MEDIA_URL"), domain::MediaKind::kImage, domain::MediaFormat::kJpeg);
             }}),
    [](const auto& info) { return info.param.platform; });

}  // namespace
}  // namespace herald::testing
