// Mastodon, Telegram and Discord against local fakes of their APIs (tests/support/fake_platform),
// answering as each platform documents (tests/data/platforms/<platform>/, with the facts and
// sources in its README): connecting, publishing through the queue with media and threads,
// and each platform's failures (429 with its own way of saying when, revoked tokens, refused
// content, media still processing) mapped to outcomes a person can act on.

#include "core/ids.hpp"
#include "domain/time.hpp"
#include "fake_platform.hpp"
#include "platforms/discord.hpp"
#include "platforms/mastodon.hpp"
#include "platforms/telegram.hpp"
#include "server_fixture.hpp"

namespace herald::testing {
namespace {

using nlohmann::json;

json Data(const std::string& platform, const std::string& file) { return json::parse(PlatformData(platform, file)); }

// A file of a media item, as the queue hands it to an adapter.
app::PublishMedia Media(const std::string& file, const std::string& alt) {
    app::PublishMedia m;
    m.id = core::NewId(core::SystemClock().Now());
    m.path = std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media" / file;
    m.bytes = std::filesystem::file_size(m.path);
    m.format = file.ends_with(".png") ? domain::MediaFormat::kPng : domain::MediaFormat::kJpeg;
    m.width = 64;
    m.height = 48;
    m.alt_text = alt;
    return m;
}

// Through Herald's API and queue, with the fakes allowed and named as the platforms' homes.
class PlatformFakesTest : public ServerFixture {
  protected:
    void Configure(core::Config& c) override {
        c.platform_allowed_addresses = mastodon_.Address() + "," + telegram_.Address() + "," + discord_.Address();
        c.platform_base_urls = "telegram=" + telegram_.Url() + ",discord=" + discord_.Url();
        c.public_base_url = "https://herald.example.com";
    }
    void SetUp() override {
        ServerFixture::SetUp();
        user_ = Register();
    }
    std::string Connect(const std::string& platform, const json& settings, const json& credentials, int status = 201) {
        auto r = client().Post(
            "/api/v1/accounts",
            {{"platform", platform}, {"name", platform}, {"settings", settings}, {"credentials", credentials}},
            user_.access_token);
        EXPECT_EQ(r.status, status) << r.body;
        if (status != 201) return r.body;
        return r.Json().value("id", "");
    }
    std::string UploadImage(const std::string& alt) { return UploadSmallImage(user_, alt); }
    json PublishAndWait(const json& body) {
        json post = body;
        post["scheduled_at"] = domain::FormatRfc3339(core::SystemClock().Now());
        auto r = client().Post("/api/v1/posts", post, user_.access_token);
        EXPECT_EQ(r.status, 201) << r.body;
        return WaitForPostStatus(user_, r.Json().value("id", ""), "published", std::chrono::seconds(20));
    }

    FakePlatform mastodon_, telegram_, discord_;
    TestUser user_;
};

// ---- Mastodon ------------------------------------------------------------------------------

// The fake instance: statuses keep their Idempotency-Key for the test's life (Mastodon: an
// hour), media answer 202 and then 206 once before they are ready.
void ServeMastodon(FakePlatform& fake, std::atomic<int>* statuses) {
    fake.On("GET", "/api/v1/accounts/verify_credentials", [](const FakeRequest& r) {
        if (r.Header("authorization") != "Bearer good-token")
            return JsonAnswer(401, Data("mastodon", "error_401.json"));
        return JsonAnswer(200, {{"id", "109000000000000042"}, {"username", "alice"}, {"acct", "alice"}});
    });
    fake.On("POST", "/api/v2/media",
            [](const FakeRequest&) { return JsonAnswer(202, Data("mastodon", "media_processing.json")); });
    auto polls = std::make_shared<std::atomic<int>>(0);
    fake.On("GET", "/api/v1/media/", [polls](const FakeRequest&) {
        return ++*polls % 2 == 1 ? JsonAnswer(206, Data("mastodon", "media_processing.json"))
                                 : JsonAnswer(200, Data("mastodon", "media_ready.json"));
    });
    auto seen = std::make_shared<std::map<std::string, json>>();
    auto mu = std::make_shared<std::mutex>();
    fake.On("POST", "/api/v1/statuses", [seen, mu, statuses](const FakeRequest& r) {
        std::lock_guard lock(*mu);
        const std::string key = r.Header("idempotency-key");
        if (auto it = seen->find(key); !key.empty() && it != seen->end()) return JsonAnswer(200, it->second);
        json status = Data("mastodon", "status.json");
        const std::string id = "1138000000000000" + std::to_string(10 + (*statuses)++);
        status["id"] = id;
        status["url"] = "https://social.example/@alice/" + id;
        status["in_reply_to_id"] = r.Json().value("in_reply_to_id", json());
        (*seen)[key] = status;
        return JsonAnswer(200, status);
    });
}

TEST_F(PlatformFakesTest, MastodonConnectsPublishesMediaAndAThread) {
    std::atomic<int> statuses{0};
    ServeMastodon(mastodon_, &statuses);
    const json settings = {{"instance", mastodon_.Url()}};
    Connect("mastodon", settings, {{"access_token", "wrong"}}, 400);
    const std::string account = Connect("mastodon", settings, {{"access_token", "good-token"}});
    const std::string media = UploadImage("Waves on a beach");

    auto done = PublishAndWait(
        {{"text", "Hello fediverse"}, {"account_ids", {account}}, {"media_ids", {media}}, {"thread", {"more below"}}});
    ASSERT_EQ(done["status"], "published") << done.dump();
    const auto posted = mastodon_.RequestsTo("/api/v1/statuses");
    ASSERT_EQ(posted.size(), 2u);
    const std::string head_id = done["deliveries"][0]["remote_id"];
    EXPECT_EQ(done["deliveries"][0]["url"], "https://social.example/@alice/" + head_id);
    EXPECT_EQ(posted[0].Json()["status"], "Hello fediverse");
    EXPECT_EQ(posted[0].Json()["media_ids"], json({Data("mastodon", "media_processing.json")["id"]}));
    EXPECT_EQ(posted[1].Json()["in_reply_to_id"], head_id);
    EXPECT_NE(posted[0].Header("idempotency-key"), posted[1].Header("idempotency-key"));
    const auto uploads = mastodon_.RequestsTo("/api/v2/media");
    ASSERT_EQ(uploads.size(), 1u);
    EXPECT_EQ(uploads[0].Field("description"), "Waves on a beach");
    EXPECT_EQ(uploads[0].Field("file"),
              ReadBinaryFile(std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media/small.png"));
    // The status waited for the media: 206 (processing), then 200.
    EXPECT_EQ(mastodon_.RequestsTo("/api/v1/media/").size(), 2u);
}

// Through the instance's consent page: Herald registers itself as an app on the instance
// (POST /api/v1/apps), sends the person to /oauth/authorize with that client, and trades the
// code with the same client; no operator setup is needed.
TEST_F(PlatformFakesTest, MastodonConnectsThroughTheInstancesConsentPage) {
    std::atomic<int> statuses{0};
    ServeMastodon(mastodon_, &statuses);
    mastodon_.On("POST", "/api/v1/apps", [](const FakeRequest& r) {
        return JsonAnswer(200, {{"id", "563419"},
                                {"name", r.Field("client_name")},
                                {"redirect_uri", r.Field("redirect_uris")},
                                {"client_id", "instance-client"},
                                {"client_secret", "instance-secret"}});
    });
    mastodon_.On("POST", "/oauth/token", [](const FakeRequest& r) {
        if (r.Field("client_id") != "instance-client" || r.Field("client_secret") != "instance-secret" ||
            r.Field("code") != "good-code" || r.Field("grant_type") != "authorization_code") {
            return JsonAnswer(400, {{"error", "invalid_grant"},
                                    {"error_description", "The provided authorization grant is invalid"}});
        }
        return JsonAnswer(200, {{"access_token", "good-token"},
                                {"token_type", "Bearer"},
                                {"scope", "read write:statuses write:media"},
                                {"created_at", 1732400000}});
    });
    auto consent = ConnectThroughConsent(
        user_, {{"platform", "mastodon"}, {"name", "Fediverse"}, {"settings", {{"instance", mastodon_.Url()}}}});
    EXPECT_EQ(consent.authorize_url.rfind(mastodon_.Url("/oauth/authorize?"), 0), 0u) << consent.authorize_url;
    EXPECT_EQ(consent.authorize["client_id"], "instance-client");
    EXPECT_EQ(consent.authorize["scope"], "read write:statuses write:media");
    const auto apps = mastodon_.RequestsTo("/api/v1/apps");
    ASSERT_EQ(apps.size(), 1u);
    EXPECT_EQ(apps[0].Field("redirect_uris"), std::string(config_.public_base_url) + "/api/v1/oauth/mastodon/callback");
    ASSERT_FALSE(consent.account_id.empty()) << consent.location;
    auto shown = client().Get("/api/v1/accounts/" + consent.account_id, user_.access_token).Json();
    EXPECT_EQ(shown["settings"]["acct"], "alice");  // verify_credentials took the new token
    EXPECT_EQ(mastodon_.RequestsTo("/oauth/token").back().Field("code_verifier").size(), 43u);
}

TEST(MastodonAdapterTest, ResendsAreOneStatusAndFailuresSayWhatToDo) {
    FakePlatform fake;
    std::atomic<int> statuses{0};
    ServeMastodon(fake, &statuses);
    core::SystemClock clock;
    platforms::MastodonAdapter adapter(clock, AllowingFake(fake));
    adapter.SetMediaPolling(std::chrono::milliseconds(10), std::chrono::seconds(2));
    auto req = AdapterRequest({{"instance", fake.Url()}}, {{"access_token", "good-token"}}, "once");
    auto first = adapter.Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::Published>(first));
    req.attempt = 2;  // the answer was lost: the same Idempotency-Key finds the same status
    auto again = adapter.Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::Published>(again));
    EXPECT_EQ(std::get<app::Published>(again).remote_id, std::get<app::Published>(first).remote_id);
    EXPECT_EQ(statuses.load(), 1);

    FakePlatform failing;
    const std::string reset = "2030-03-01T12:35:00.000000Z";
    failing.On("POST", "/api/v1/statuses", [&](const FakeRequest& r) {
        const std::string text = r.Json().value("status", "");
        if (text == "limit") {
            return JsonAnswer(
                429, Data("mastodon", "rate_limited.json"),
                {{"X-RateLimit-Limit", "300"}, {"X-RateLimit-Remaining", "0"}, {"X-RateLimit-Reset", reset}});
        }
        if (text == "revoked") return JsonAnswer(401, Data("mastodon", "error_401_revoked.json"));
        if (text == "broken") return JsonAnswer(500, {{"error", "boom"}});
        return JsonAnswer(422, Data("mastodon", "error_422.json"));
    });
    platforms::MastodonAdapter other(clock, AllowingFake(failing));
    auto send = [&](const std::string& text) {
        return other.Publish(AdapterRequest({{"instance", failing.Url()}}, {{"access_token", "t"}}, text));
    };
    auto limited = send("limit");
    ASSERT_TRUE(std::holds_alternative<app::RateLimited>(limited));
    EXPECT_EQ(std::get<app::RateLimited>(limited).until, *domain::ParseRfc3339(reset));
    auto revoked = send("revoked");
    ASSERT_TRUE(std::holds_alternative<app::AuthExpired>(revoked));
    EXPECT_NE(std::get<app::AuthExpired>(revoked).reason.find("revoked"), std::string::npos);
    auto refused = send("anything");
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(refused));
    EXPECT_EQ(std::get<app::Rejected>(refused).reason,
              "Mastodon refused the post: " + Data("mastodon", "error_422.json")["error"].get<std::string>());
    EXPECT_TRUE(std::holds_alternative<app::Unknown>(send("broken")));  // it may have posted
}

TEST(MastodonAdapterTest, MediaStillProcessingIsRetriedLater) {
    FakePlatform fake;
    fake.On("POST", "/api/v2/media",
            [](const FakeRequest&) { return JsonAnswer(202, Data("mastodon", "media_processing.json")); });
    fake.On("GET", "/api/v1/media/",
            [](const FakeRequest&) { return JsonAnswer(206, Data("mastodon", "media_processing.json")); });
    core::SystemClock clock;
    platforms::MastodonAdapter adapter(clock, AllowingFake(fake));
    adapter.SetMediaPolling(std::chrono::milliseconds(10), std::chrono::milliseconds(100));
    auto req = AdapterRequest({{"instance", fake.Url()}}, {{"access_token", "t"}}, "video");
    req.media.push_back(Media("small.png", ""));
    auto outcome = adapter.Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::Retryable>(outcome));
    EXPECT_NE(std::get<app::Retryable>(outcome).reason.find("still processing"), std::string::npos);
    EXPECT_TRUE(fake.RequestsTo("/api/v1/statuses").empty());
}

// ---- Telegram ------------------------------------------------------------------------------

void ServeTelegram(FakePlatform& fake) {
    const std::string bot = "/bot123456:good/";
    fake.On("POST", "/bot", [](const FakeRequest&) { return JsonAnswer(401, Data("telegram", "error_401.json")); });
    fake.On("POST", bot + "getMe", [](const FakeRequest&) {
        return JsonAnswer(200,
                          {{"ok", true}, {"result", {{"id", 123456}, {"is_bot", true}, {"username", "herald_bot"}}}});
    });
    fake.On("POST", bot + "getChat", [](const FakeRequest& r) {
        if (r.Json().value("chat_id", "") != "@herald_test_channel")
            return JsonAnswer(400, Data("telegram", "error_400.json"));
        return JsonAnswer(200, {{"ok", true}, {"result", Data("telegram", "message.json")["result"]["chat"]}});
    });
    fake.On("POST", bot + "sendMediaGroup",
            [](const FakeRequest&) { return JsonAnswer(200, Data("telegram", "media_group.json")); });
    auto next = std::make_shared<std::atomic<int>>(2000);
    fake.On("POST", bot + "sendMessage", [next](const FakeRequest& r) {
        json m = Data("telegram", "message.json");
        m["result"]["message_id"] = (*next)++;
        m["result"]["text"] = r.Json().value("text", "");
        return JsonAnswer(200, m);
    });
    fake.On("POST", bot + "sendPhoto",
            [](const FakeRequest&) { return JsonAnswer(200, Data("telegram", "message.json")); });
}

TEST_F(PlatformFakesTest, TelegramConnectsAndPublishesAnAlbumWithAThread) {
    ServeTelegram(telegram_);
    Connect("telegram", {{"chat_id", "@herald_test_channel"}}, {{"bot_token", "123456:bad"}}, 400);
    Connect("telegram", {{"chat_id", "@nowhere"}}, {{"bot_token", "123456:good"}}, 400);
    const std::string account =
        Connect("telegram", {{"chat_id", "@herald_test_channel"}}, {{"bot_token", "123456:good"}});
    const std::string a = UploadImage("one"), b = UploadImage("two");
    auto done = PublishAndWait({{"text", "Our album"},
                                {"account_ids", {account}},
                                {"media_ids", {a, b}},
                                {"thread", {"and the story behind it"}}});
    ASSERT_EQ(done["status"], "published") << done.dump();
    const int first = Data("telegram", "media_group.json")["result"][0]["message_id"];
    EXPECT_EQ(done["deliveries"][0]["url"], "https://t.me/herald_test_channel/" + std::to_string(first));
    const auto album = telegram_.RequestsTo("/bot123456:good/sendMediaGroup");
    ASSERT_EQ(album.size(), 1u);
    const json items = json::parse(album[0].Field("media"));
    ASSERT_EQ(items.size(), 2u);
    EXPECT_EQ(items[0]["media"], "attach://file0");
    EXPECT_EQ(items[0]["caption"], "Our album");
    EXPECT_FALSE(items[1].contains("caption"));
    EXPECT_EQ(album[0].Field("file1"),
              ReadBinaryFile(std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media/small.png"));
    const auto replies = telegram_.RequestsTo("/bot123456:good/sendMessage");
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].Json()["reply_parameters"]["message_id"], first);
}

TEST(TelegramAdapterTest, FloodControlRevokedTokensAndLongCaptions) {
    FakePlatform fake;
    ServeTelegram(fake);
    fake.On("POST", "/bot123456:flood/sendMessage",
            [](const FakeRequest&) { return JsonAnswer(429, Data("telegram", "error_429.json")); });
    core::SystemClock clock;
    platforms::TelegramAdapter adapter(clock, AllowingFake(fake), fake.Url());
    const json chat = {{"chat_id", "@herald_test_channel"}, {"chat_username", "herald_test_channel"}};
    const auto before = clock.Now();
    auto flood = adapter.Publish(AdapterRequest(chat, {{"bot_token", "123456:flood"}}, "hi"));
    ASSERT_TRUE(std::holds_alternative<app::RateLimited>(flood));
    EXPECT_GE(std::get<app::RateLimited>(flood).until, before + std::chrono::seconds(7));
    auto revoked = adapter.Publish(AdapterRequest(chat, {{"bot_token", "123456:gone"}}, "hi"));
    ASSERT_TRUE(std::holds_alternative<app::AuthExpired>(revoked));
    EXPECT_NE(std::get<app::AuthExpired>(revoked).reason.find("bot token"), std::string::npos);
    // Over 1,024 characters: the photo goes without a caption, the text as a reply to it.
    auto req = AdapterRequest(chat, {{"bot_token", "123456:good"}}, std::string(1500, 'x'));
    req.media.push_back(Media("small.png", "ignored: Telegram has no alt text"));
    auto posted = adapter.Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::Published>(posted));
    const auto photo = fake.RequestsTo("/bot123456:good/sendPhoto");
    ASSERT_EQ(photo.size(), 1u);
    EXPECT_EQ(photo[0].Field("caption"), "");
    const auto text = fake.RequestsTo("/bot123456:good/sendMessage");
    ASSERT_EQ(text.size(), 1u);
    EXPECT_EQ(text[0].Json()["text"], std::string(1500, 'x'));
    EXPECT_EQ(text[0].Json()["reply_parameters"]["message_id"],
              Data("telegram", "message.json")["result"]["message_id"]);
}

// ---- Discord -------------------------------------------------------------------------------

TEST_F(PlatformFakesTest, DiscordConnectsAndPostsImagesWithAltText) {
    const std::string hook = "/api/webhooks/1327200259276800007/secret-token";
    discord_.On("GET", hook, [](const FakeRequest&) { return JsonAnswer(200, Data("discord", "webhook.json")); });
    discord_.On("GET", "/api/webhooks/",
                [](const FakeRequest&) { return JsonAnswer(404, Data("discord", "error_404.json")); });
    discord_.On("POST", hook, [](const FakeRequest& r) {
        if (r.query.count("wait") == 0) return FakeResponse{204, "", {}, "", 0};
        return JsonAnswer(200, Data("discord", "message.json"));
    });
    Connect("discord", json::object(), {{"webhook_url", discord_.Url("/api/webhooks/1/deleted")}}, 400);
    Connect("discord", json::object(), {{"webhook_url", "https://example.com/not-a-webhook"}}, 400);
    const std::string account = Connect("discord", json::object(), {{"webhook_url", discord_.Url(hook)}});
    // Webhooks cannot reply: a thread is refused when the post is written.
    auto thread = client().Post(
        "/api/v1/posts",
        {{"text", "x"}, {"account_ids", {account}}, {"thread", {"y"}}, {"scheduled_at", "2030-01-01T00:00:00Z"}},
        user_.access_token);
    EXPECT_EQ(thread.status, 400) << thread.body;

    const std::string media = UploadImage("A red square");
    auto done = PublishAndWait({{"text", "Hello Discord"}, {"account_ids", {account}}, {"media_ids", {media}}});
    ASSERT_EQ(done["status"], "published") << done.dump();
    const json message = Data("discord", "message.json");
    const json webhook = Data("discord", "webhook.json");
    EXPECT_EQ(done["deliveries"][0]["remote_id"], message["id"]);
    EXPECT_EQ(done["deliveries"][0]["url"], "https://discord.com/channels/" + webhook["guild_id"].get<std::string>() +
                                                "/" + message["channel_id"].get<std::string>() + "/" +
                                                message["id"].get<std::string>());
    const auto posts = discord_.RequestsTo(hook);
    const auto& sent = posts.back();
    EXPECT_EQ(sent.method, "POST");
    EXPECT_EQ(sent.query.at("wait"), "true");
    const json payload = json::parse(sent.Field("payload_json"));
    EXPECT_EQ(payload["content"], "Hello Discord");
    EXPECT_EQ(payload["attachments"][0]["description"], "A red square");
    EXPECT_EQ(payload["attachments"][0]["id"], 0);
    EXPECT_EQ(sent.Field("files[0]"),
              ReadBinaryFile(std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media/small.png"));
}

TEST(DiscordAdapterTest, RateLimitsAndDeletedWebhooks) {
    FakePlatform fake;
    fake.On("POST", "/api/webhooks/1/limited", [](const FakeRequest&) {
        return JsonAnswer(429, Data("discord", "error_429.json"),
                          {{"Retry-After", "2"}, {"X-RateLimit-Remaining", "0"}});
    });
    fake.On("POST", "/api/webhooks/1/deleted",
            [](const FakeRequest&) { return JsonAnswer(404, Data("discord", "error_404.json")); });
    fake.On("POST", "/api/webhooks/1/bad",
            [](const FakeRequest&) { return JsonAnswer(400, Data("discord", "error_400.json")); });
    core::SystemClock clock;
    platforms::DiscordAdapter adapter(clock, AllowingFake(fake), fake.Url());
    auto send = [&](const std::string& hook) {
        return adapter.Publish(
            AdapterRequest(json::object(), {{"webhook_url", fake.Url("/api/webhooks/1/" + hook)}}, "hi"));
    };
    const auto before = clock.Now();
    auto limited = send("limited");
    ASSERT_TRUE(std::holds_alternative<app::RateLimited>(limited));
    EXPECT_GE(std::get<app::RateLimited>(limited).until, before + std::chrono::seconds(2));
    auto deleted = send("deleted");
    ASSERT_TRUE(std::holds_alternative<app::AuthExpired>(deleted));
    EXPECT_NE(std::get<app::AuthExpired>(deleted).reason.find("Unknown Webhook"), std::string::npos);
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(send("bad")));
}

}  // namespace
}  // namespace herald::testing
