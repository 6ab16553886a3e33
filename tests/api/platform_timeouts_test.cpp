// A timeout after the platform accepted the request, for every platform tested against a fake:
// each adapter is built with requests capped at 300 ms (HttpOptions::max_timeout), every step
// before the post (uploads, containers, their status, a Page's token) is answered at once, and
// the request that creates the post is answered only after 1.5 s. The platform may have the
// post by then: the outcome must be Unknown (shown unconfirmed), the slow request must have
// reached the platform exactly once, nothing may have been sent twice, and only an adapter
// whose platform deduplicates (Mastodon's Idempotency-Key) may let the queue send it again.

#include <gtest/gtest.h>

#include "core/ids.hpp"
#include "fake_platform.hpp"
#include "platforms/discord.hpp"
#include "platforms/facebook.hpp"
#include "platforms/instagram.hpp"
#include "platforms/linkedin.hpp"
#include "platforms/mastodon.hpp"
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
using std::chrono::milliseconds;

constexpr int kLateMs = 1500;
constexpr const char* kPublicUrl = "https://herald.example.com/api/v1/public/media/x";
const std::filesystem::path kMediaDir = std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media";

json Data(const std::string& platform, const std::string& file) { return json::parse(PlatformData(platform, file)); }

// Lets the adapter reach `fake`, and gives up on any answer after 300 ms.
platforms::HttpOptions Impatient(const FakePlatform& fake) {
    auto http = AllowingFake(fake);
    http.max_timeout = milliseconds(300);
    return http;
}

// `r`, answered long after the adapter stopped waiting: the platform got the request and acted.
FakeResponse Late(FakeResponse r) {
    r.delay_ms = kLateMs;
    return r;
}

app::PublishMedia Media(const std::string& file, domain::MediaKind kind, domain::MediaFormat format,
                        const std::string& alt = "") {
    app::PublishMedia m;
    m.id = "m1";
    m.kind = kind;
    m.format = format;
    m.path = kMediaDir / file;
    m.bytes = std::filesystem::file_size(m.path);
    m.width = 64;
    m.height = 48;
    if (kind == domain::MediaKind::kVideo) m.duration_ms = 3000;
    m.alt_text = alt;
    m.public_url = kPublicUrl;
    return m;
}
app::PublishMedia Jpeg(const std::string& alt = "") {
    return Media("small.jpg", domain::MediaKind::kImage, domain::MediaFormat::kJpeg, alt);
}
app::PublishMedia Mp4() { return Media("clip.mp4", domain::MediaKind::kVideo, domain::MediaFormat::kMp4); }

// Unknown, and the queue will not send it again: the platform neither deduplicates nor can be asked.
void ExpectUnconfirmed(app::PlatformAdapter& adapter, const app::PublishRequest& req,
                       const app::PublishOutcome& outcome) {
    EXPECT_TRUE(std::holds_alternative<app::Unknown>(outcome))
        << adapter.Name() << ": " << platforms::ReasonOf(outcome);
    const auto caps = adapter.Capabilities(req.account_settings_json);
    EXPECT_FALSE(caps.idempotent) << adapter.Name();
    EXPECT_FALSE(caps.lookup) << adapter.Name();
}

// The requests to exactly `path` (RequestsTo matches prefixes).
size_t CountTo(const FakePlatform& fake, const std::string& path) {
    size_t n = 0;
    for (const auto& r : fake.RequestsTo(path)) n += r.path == path ? 1 : 0;
    return n;
}

TEST(PlatformTimeoutTest, X) {
    FakePlatform fake;
    fake.On("POST", "/2/media/upload",
            [](const FakeRequest&) { return JsonAnswer(200, Data("x", "media_upload.json")); });
    fake.On("POST", "/2/media/metadata",
            [](const FakeRequest&) { return JsonAnswer(200, Data("x", "media_metadata.json")); });
    fake.On("POST", "/2/tweets",
            [](const FakeRequest&) { return Late(JsonAnswer(201, Data("x", "tweet_created.json"))); });
    core::SystemClock clock;
    platforms::XAdapter adapter(clock, Impatient(fake), fake.Url(), std::nullopt);
    adapter.SetMediaPolling(milliseconds(1), milliseconds(100));
    auto req = AdapterRequest({{"username", "herald_test"}}, {{"access_token", "t"}}, "Hello X");
    req.media = {Jpeg("A harbour")};
    ExpectUnconfirmed(adapter, req, adapter.Publish(req));
    EXPECT_EQ(fake.RequestsTo("/2/tweets").size(), 1u);
    EXPECT_EQ(fake.Requests().size(), 3u);  // the upload, its alt text, the post
}

TEST(PlatformTimeoutTest, LinkedIn) {
    FakePlatform fake;
    fake.On("POST", "/rest/images", [&fake](const FakeRequest&) {
        json init = Data("linkedin", "image_initialize.json");
        init["value"]["uploadUrl"] = fake.Url("/dms-uploads/herald-upload-0001");
        return JsonAnswer(200, init);
    });
    fake.On("PUT", "/dms-uploads/", [](const FakeRequest&) { return EmptyAnswer(201); });
    const std::string urn = Data("linkedin", "post_created.json")["headers"]["x-restli-id"];
    fake.On("POST", "/rest/posts", [urn](const FakeRequest&) {
        return Late(EmptyAnswer(201, {{"x-restli-id", urn}}));
    });
    core::SystemClock clock;
    platforms::LinkedInAdapter adapter(clock, Impatient(fake), fake.Url(), fake.Url(), "202605", std::nullopt);
    auto req = AdapterRequest({{"person_urn", "urn:li:person:782bbtaQ"}}, {{"access_token", "t"}}, "Hello LinkedIn");
    req.media = {Jpeg("A harbour")};
    ExpectUnconfirmed(adapter, req, adapter.Publish(req));
    EXPECT_EQ(fake.RequestsTo("/rest/posts").size(), 1u);
    EXPECT_EQ(fake.Requests().size(), 3u);  // initializeUpload, the bytes, the post
}

TEST(PlatformTimeoutTest, YouTube) {
    // The bytes are what makes the video: they go unanswered, and the session, asked how much
    // arrived, is unavailable every time. Whether the video exists is unknown.
    const std::string session = "/upload/youtube/v3/videos";
    FakePlatform fake;
    fake.On("POST", session, [&fake, session](const FakeRequest&) {
        return EmptyAnswer(200, {{"Location", fake.Url(session + "?uploadType=resumable&upload_id=herald-slow")}});
    });
    fake.On("PUT", session, [](const FakeRequest& r) {
        if (r.Header("content-range").rfind("bytes */", 0) == 0) {
            return JsonAnswer(503, Data("youtube", "error_backend_503.json"));
        }
        return Late(JsonAnswer(200, Data("youtube", "video_inserted.json")));
    });
    core::SystemClock clock;
    platforms::YouTubeAdapter adapter(clock, Impatient(fake), fake.Url(), fake.Url("/token"), std::nullopt);
    adapter.SetResumeBackoff(milliseconds(1));
    auto req = AdapterRequest({{"privacy", "unlisted"}}, {{"access_token", "t"}}, "Hello YouTube");
    req.media = {Mp4()};
    ExpectUnconfirmed(adapter, req, adapter.Publish(req));
    size_t starts = 0, bytes = 0;
    for (const auto& r : fake.RequestsTo(session)) {
        if (r.method == "POST") ++starts;
        if (r.method == "PUT" && !r.body.empty()) ++bytes;
    }
    EXPECT_EQ(starts, 1u);
    EXPECT_EQ(bytes, 1u);  // the video's bytes went once; the rest only asked the session
}

TEST(PlatformTimeoutTest, TikTok) {
    FakePlatform fake;
    fake.On("POST", "/v2/post/publish/video/init/",
            [](const FakeRequest&) { return Late(JsonAnswer(200, Data("tiktok", "video_init_pull.json"))); });
    fake.On("POST", "/v2/post/publish/status/fetch/",
            [](const FakeRequest&) { return JsonAnswer(200, Data("tiktok", "status_publish_complete.json")); });
    core::SystemClock clock;
    platforms::TikTokAdapter adapter(clock, Impatient(fake), fake.Url(), std::nullopt);
    adapter.SetMediaPolling(milliseconds(1), milliseconds(100));
    auto req = AdapterRequest(
        {{"creator_username", "herald_demo"}, {"privacy_level", "SELF_ONLY"}, {"privacy_level_options", {"SELF_ONLY"}}},
        {{"access_token", "t"}}, "Hello TikTok");
    req.media = {Mp4()};
    ExpectUnconfirmed(adapter, req, adapter.Publish(req));
    EXPECT_EQ(fake.RequestsTo("/v2/post/publish/video/init/").size(), 1u);
    EXPECT_EQ(fake.Requests().size(), 1u);  // no publish_id came back: nothing to follow
}

TEST(PlatformTimeoutTest, Reddit) {
    FakePlatform fake;
    fake.On("POST", "/api/submit",
            [](const FakeRequest&) { return Late(JsonAnswer(200, Data("reddit", "submit_ok.json"))); });
    core::SystemClock clock;
    platforms::RedditAdapter adapter(clock, Impatient(fake), fake.Url(), fake.Url(), std::nullopt);
    auto req = AdapterRequest({{"subreddit", "heraldtest"}}, {{"access_token", "t"}}, "Hello Reddit\nA body");
    ExpectUnconfirmed(adapter, req, adapter.Publish(req));
    EXPECT_EQ(fake.RequestsTo("/api/submit").size(), 1u);
    EXPECT_EQ(fake.Requests().size(), 1u);
}

TEST(PlatformTimeoutTest, Pinterest) {
    FakePlatform fake;
    fake.On("POST", "/v5/pins",
            [](const FakeRequest&) { return Late(JsonAnswer(201, Data("pinterest", "pin_created.json"))); });
    core::SystemClock clock;
    platforms::PinterestAdapter adapter(clock, Impatient(fake), fake.Url(), std::nullopt);
    auto req = AdapterRequest({{"board_id", "549755885175"}}, {{"access_token", "t"}}, "Hello Pinterest");
    req.media = {Jpeg("A bowl of salad")};
    ExpectUnconfirmed(adapter, req, adapter.Publish(req));
    EXPECT_EQ(fake.RequestsTo("/v5/pins").size(), 1u);
    EXPECT_EQ(fake.Requests().size(), 1u);
}

TEST(PlatformTimeoutTest, Facebook) {
    const std::string page = "104200000000001";
    FakePlatform fake;
    fake.On("GET", "/v23.0/" + page, [page](const FakeRequest&) {
        return JsonAnswer(200, {{"id", page}, {"access_token", "EAA-page-token"}});
    });
    fake.On("POST", "/v23.0/" + page + "/feed",
            [](const FakeRequest&) { return Late(JsonAnswer(200, Data("facebook", "feed_post.json"))); });
    core::SystemClock clock;
    platforms::FacebookAdapter adapter(clock, Impatient(fake), fake.Url("/v23.0"), std::nullopt);
    auto req = AdapterRequest({{"page_id", page}}, {{"access_token", "EAA-user"}}, "Hello Facebook");
    ExpectUnconfirmed(adapter, req, adapter.Publish(req));
    EXPECT_EQ(fake.RequestsTo("/v23.0/" + page + "/feed").size(), 1u);
    EXPECT_EQ(fake.Requests().size(), 2u);  // the Page's token, the post
}

TEST(PlatformTimeoutTest, Threads) {
    FakePlatform fake;
    fake.On("POST", "/v1.0/1/threads", [](const FakeRequest&) { return JsonAnswer(200, {{"id", "c100"}}); });
    fake.On("GET", "/v1.0/c100",
            [](const FakeRequest&) { return JsonAnswer(200, Data("threads", "container_status_finished.json")); });
    fake.On("POST", "/v1.0/1/threads_publish",
            [](const FakeRequest&) { return Late(JsonAnswer(200, Data("threads", "threads_publish.json"))); });
    core::SystemClock clock;
    platforms::ThreadsAdapter adapter(clock, Impatient(fake), fake.Url("/v1.0"), std::nullopt);
    adapter.SetMediaPolling(milliseconds(1), milliseconds(100));
    auto req =
        AdapterRequest({{"user_id", "1"}, {"username", "herald_demo"}}, {{"access_token", "t"}}, "Hello Threads");
    req.media = {Jpeg("A harbour")};
    ExpectUnconfirmed(adapter, req, adapter.Publish(req));
    EXPECT_EQ(CountTo(fake, "/v1.0/1/threads"), 1u);
    EXPECT_EQ(fake.RequestsTo("/v1.0/1/threads_publish").size(), 1u);
    EXPECT_EQ(fake.Requests().size(), 3u);  // the container, its status, the publish
}

TEST(PlatformTimeoutTest, Instagram) {
    FakePlatform fake;
    fake.On("POST", "/v23.0/1/media",
            [](const FakeRequest&) { return JsonAnswer(200, Data("instagram", "container.json")); });
    fake.On("GET", "/v23.0/",
            [](const FakeRequest&) { return JsonAnswer(200, Data("instagram", "container_status_finished.json")); });
    fake.On("POST", "/v23.0/1/media_publish",
            [](const FakeRequest&) { return Late(JsonAnswer(200, Data("instagram", "media_publish.json"))); });
    core::SystemClock clock;
    platforms::InstagramAdapter adapter(clock, Impatient(fake), fake.Url("/v23.0"), fake.Url(), std::nullopt);
    adapter.SetMediaPolling(milliseconds(1), milliseconds(100));
    auto req =
        AdapterRequest({{"user_id", "1"}, {"username", "herald_demo"}}, {{"access_token", "t"}}, "Hello Instagram");
    req.media = {Jpeg("A harbour")};
    req.first_comment = "first!";
    ExpectUnconfirmed(adapter, req, adapter.Publish(req));
    EXPECT_EQ(CountTo(fake, "/v23.0/1/media"), 1u);
    EXPECT_EQ(fake.RequestsTo("/v23.0/1/media_publish").size(), 1u);
    EXPECT_EQ(fake.Requests().size(), 3u);  // the container, its status, the publish; no comment
}

TEST(PlatformTimeoutTest, MastodonIsUnknownButIdempotent) {
    FakePlatform fake;
    fake.On("POST", "/api/v2/media",
            [](const FakeRequest&) { return JsonAnswer(200, Data("mastodon", "media_ready.json")); });
    fake.On("POST", "/api/v1/statuses",
            [](const FakeRequest&) { return Late(JsonAnswer(200, Data("mastodon", "status.json"))); });
    core::SystemClock clock;
    platforms::MastodonAdapter adapter(clock, Impatient(fake));
    adapter.SetMediaPolling(milliseconds(1), milliseconds(100));
    auto req = AdapterRequest({{"instance", fake.Url()}}, {{"access_token", "t"}}, "Hello Mastodon");
    req.media = {Jpeg("A harbour")};
    auto outcome = adapter.Publish(req);
    EXPECT_TRUE(std::holds_alternative<app::Unknown>(outcome)) << platforms::ReasonOf(outcome);
    // The status carried an Idempotency-Key: the queue may send it again, and the instance
    // answers the repeat with the first status.
    EXPECT_TRUE(adapter.Capabilities(req.account_settings_json).idempotent);
    const auto statuses = fake.RequestsTo("/api/v1/statuses");
    ASSERT_EQ(statuses.size(), 1u);
    EXPECT_EQ(statuses[0].Header("idempotency-key"), req.idempotency_key + "-0");
    EXPECT_EQ(fake.Requests().size(), 2u);  // the upload, the status
}

TEST(PlatformTimeoutTest, Telegram) {
    FakePlatform fake;
    fake.On("POST", "/bot123456:good/sendMessage",
            [](const FakeRequest&) { return Late(JsonAnswer(200, Data("telegram", "message.json"))); });
    core::SystemClock clock;
    platforms::TelegramAdapter adapter(clock, Impatient(fake), fake.Url());
    auto req = AdapterRequest({{"chat_id", "@herald_test_channel"}, {"chat_username", "herald_test_channel"}},
                              {{"bot_token", "123456:good"}}, "Hello Telegram");
    ExpectUnconfirmed(adapter, req, adapter.Publish(req));
    EXPECT_EQ(fake.RequestsTo("/bot123456:good/sendMessage").size(), 1u);
    EXPECT_EQ(fake.Requests().size(), 1u);
}

TEST(PlatformTimeoutTest, Discord) {
    const std::string hook = "/api/webhooks/1327200259276800007/secret-token";
    FakePlatform fake;
    fake.On("POST", hook, [](const FakeRequest&) { return Late(JsonAnswer(200, Data("discord", "message.json"))); });
    core::SystemClock clock;
    platforms::DiscordAdapter adapter(clock, Impatient(fake), fake.Url());
    auto req = AdapterRequest(json::object(), {{"webhook_url", fake.Url(hook)}}, "Hello Discord");
    req.media = {Jpeg("A harbour")};
    ExpectUnconfirmed(adapter, req, adapter.Publish(req));
    EXPECT_EQ(fake.RequestsTo(hook).size(), 1u);
    EXPECT_EQ(fake.Requests().size(), 1u);
}

}  // namespace
}  // namespace herald::testing
