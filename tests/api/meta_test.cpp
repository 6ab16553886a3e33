// Threads and Instagram against local fakes of Meta's APIs (tests/data/platforms/threads and
// instagram: facts and sources in their READMEs): connecting through the consent page with
// the short-lived token traded for a long-lived one, publishing through containers Meta fills
// from Herald's public links (waiting while they process), carousels, replies and first
// comments, and Meta's error codes said in words.

#include <mutex>

#include "core/ids.hpp"
#include "domain/time.hpp"
#include "fake_platform.hpp"
#include "platforms/facebook.hpp"
#include "platforms/instagram.hpp"
#include "platforms/threads.hpp"
#include "server_fixture.hpp"

namespace herald::testing {
namespace {

using nlohmann::json;

json Data(const std::string& platform, const std::string& file) { return json::parse(PlatformData(platform, file)); }

constexpr const char* kPublicBase = "https://herald.example.com";

// The requests to exactly this path (RequestsTo matches prefixes: …/media also finds …/media_publish).
std::vector<FakeRequest> To(const FakePlatform& fake, const std::string& path) {
    std::vector<FakeRequest> out;
    for (auto& r : fake.RequestsTo(path)) {
        if (r.path == path) out.push_back(r);
    }
    return out;
}

// A fake Meta API: containers that are IN_PROGRESS on the first look and FINISHED after,
// published ids counted up, tokens as the README describes.
struct MetaFake {
    FakePlatform fake;
    std::mutex mu;
    int next = 100;
    std::map<std::string, int> looks;  // container id → status checks so far
    std::string long_lived = "THAA-long-1";

    void Serve(const std::string& platform, const std::string& version, const std::string& create,
               const std::string& publish, const std::string& status_field) {
        fake.On("POST", "/oauth/access_token", [this, platform](const FakeRequest& r) {
            // Meta takes the client id and secret in the form.
            if (r.Field("client_id") != "meta-app" || r.Field("client_secret") != "meta-secret" ||
                r.Field("code") != "good-code") {
                return JsonAnswer(400, Data(platform, "error_190.json"));
            }
            return JsonAnswer(200, Data("threads", "token_short_lived.json"));
        });
        fake.On("GET", "/access_token", [this](const FakeRequest& r) {
            if (r.query.at("access_token") != "THAAherald-short-lived-example") {
                return JsonAnswer(400, Data("threads", "error_190.json"));
            }
            json t = Data("threads", "token_long_lived.json");
            t["access_token"] = long_lived;
            return JsonAnswer(200, t);
        });
        fake.On("GET", version + "/me", [this](const FakeRequest& r) {
            if (r.Header("authorization") != "Bearer " + long_lived)
                return JsonAnswer(400, Data("threads", "error_190.json"));
            return JsonAnswer(
                200, {{"id", "26000000000000001"}, {"user_id", "26000000000000001"}, {"username", "herald_demo"}});
        });
        fake.On("POST", version + "/26000000000000001/" + create, [this](const FakeRequest&) {
            std::lock_guard lock(mu);
            return JsonAnswer(200, {{"id", "c" + std::to_string(next++)}});
        });
        fake.On("GET", version + "/c", [this, status_field](const FakeRequest& r) {
            std::lock_guard lock(mu);
            const std::string id = r.path.substr(r.path.rfind('/') + 1);
            const bool ready = ++looks[id] > 1;
            return JsonAnswer(200, {{"id", id}, {status_field, ready ? "FINISHED" : "IN_PROGRESS"}});
        });
        fake.On("POST", version + "/26000000000000001/" + publish, [this](const FakeRequest&) {
            std::lock_guard lock(mu);
            return JsonAnswer(200, {{"id", "1807" + std::to_string(next++)}});
        });
        fake.On("GET", version + "/1807", [platform](const FakeRequest& r) {
            const std::string id = r.path.substr(r.path.rfind('/') + 1);
            return JsonAnswer(200, {{"id", id}, {"permalink", "https://www.threads.net/@herald_demo/post/" + id}});
        });
    }
};

class ThreadsTest : public ServerFixture {
  protected:
    void Configure(core::Config& c) override {
        meta_.Serve("threads", "/v1.0", "threads", "threads_publish", "status");
        c.platform_allowed_addresses = meta_.fake.Address();
        c.platform_base_urls = "threads=" + meta_.fake.Url("/v1.0");
        c.oauth_clients = "threads=meta-app:meta-secret";
        c.public_base_url = kPublicBase;
    }
    MetaFake meta_;
};

TEST_F(ThreadsTest, ConnectsAndPublishesAnImageWithAReplyAndAFirstComment) {
    const TestUser user = Register();
    // Meta appends "#_" to the code.
    auto consent =
        ConnectThroughConsent(user, {{"platform", "threads"}, {"name", "Our Threads"}}, "code=good-code%23_");
    EXPECT_EQ(consent.authorize_url.rfind("https://threads.net/oauth/authorize?", 0), 0u);
    EXPECT_EQ(consent.authorize["scope"], "threads_basic,threads_content_publish,threads_manage_replies");
    ASSERT_EQ(consent.location.rfind("/?connected=", 0), 0u) << consent.location;
    const std::string account = consent.account_id;
    EXPECT_EQ(meta_.fake.RequestsTo("/access_token").at(0).query.at("grant_type"), "th_exchange_token");
    EXPECT_EQ(meta_.fake.RequestsTo("/access_token").at(0).query.at("client_secret"), "meta-secret");
    auto shown = client().Get("/api/v1/accounts/" + account, user.access_token).Json();
    EXPECT_EQ(shown["settings"]["username"], "herald_demo");

    const std::string media = UploadSmallImage(user, "A harbour at night");
    json post = {{"text", "Hello Threads"},   {"account_ids", {account}},
                 {"media_ids", {media}},      {"thread", {"and more"}},
                 {"first_comment", "first!"}, {"scheduled_at", domain::FormatRfc3339(core::SystemClock().Now())}};
    auto created = client().Post("/api/v1/posts", post, user.access_token);
    ASSERT_EQ(created.status, 201) << created.body;
    auto done = WaitForPostStatus(user, created.Json()["id"], "published", std::chrono::seconds(30));
    ASSERT_EQ(done["status"], "published") << done.dump();
    const std::string head = done["deliveries"][0]["remote_id"];
    EXPECT_EQ(done["deliveries"][0]["url"], "https://www.threads.net/@herald_demo/post/" + head);

    const auto containers = To(meta_.fake, "/v1.0/26000000000000001/threads");
    ASSERT_EQ(containers.size(), 3u);  // the post, the reply, the first comment
    EXPECT_EQ(containers[0].Field("media_type"), "IMAGE");
    EXPECT_EQ(containers[0].Field("image_url").rfind(std::string(kPublicBase) + "/api/v1/public/media/", 0), 0u);
    EXPECT_EQ(containers[0].Field("alt_text"), "A harbour at night");
    EXPECT_EQ(containers[0].Field("text"), "Hello Threads");
    EXPECT_EQ(containers[1].Field("media_type"), "TEXT");
    EXPECT_EQ(containers[1].Field("reply_to_id"), head);
    const auto publishes = meta_.fake.RequestsTo("/v1.0/26000000000000001/threads_publish");
    ASSERT_EQ(publishes.size(), 3u);
    EXPECT_EQ(containers[2].Field("text"), "first!");
    EXPECT_EQ(containers[2].Field("reply_to_id"), head);  // on the post itself
    EXPECT_EQ(publishes[0].Field("creation_id"), "c100");
    // Each container was looked at until FINISHED before it was published.
    EXPECT_GE(meta_.fake.RequestsTo("/v1.0/c").size(), 6u);
}

// ---- Instagram, through the queue ----------------------------------------------------------

class InstagramTest : public ServerFixture {
  protected:
    void Configure(core::Config& c) override {
        meta_.Serve("instagram", "/v23.0", "media", "media_publish", "status_code");
        // Comments on a published post (ids 1807…).
        meta_.fake.On("POST", "/v23.0/1807", [](const FakeRequest&) { return JsonAnswer(200, {{"id", "17900001"}}); });
        c.platform_allowed_addresses = meta_.fake.Address();
        c.platform_base_urls = "instagram=" + meta_.fake.Url("/v23.0") + ",instagram_oauth=" + meta_.fake.Url();
        c.oauth_clients = "instagram=meta-app:meta-secret";
        c.public_base_url = kPublicBase;
    }
    MetaFake meta_;
};

TEST_F(InstagramTest, ConnectsAndPublishesAJpegWithAFirstComment) {
    const TestUser user = Register();
    // Meta appends "#_" to the code.
    auto consent =
        ConnectThroughConsent(user, {{"platform", "instagram"}, {"name", "Our Instagram"}}, "code=good-code%23_");
    EXPECT_EQ(consent.authorize_url.rfind("https://www.instagram.com/oauth/authorize?", 0), 0u)
        << consent.authorize_url;
    ASSERT_EQ(consent.location.rfind("/?connected=", 0), 0u) << consent.location;
    EXPECT_EQ(meta_.fake.RequestsTo("/oauth/access_token").at(0).Field("code"), "good-code");
    EXPECT_EQ(meta_.fake.RequestsTo("/access_token").at(0).query.at("grant_type"), "ig_exchange_token");
    auto shown = client().Get("/api/v1/accounts/" + consent.account_id, user.access_token).Json();
    EXPECT_EQ(shown["settings"]["user_id"], "26000000000000001");
    EXPECT_EQ(shown["settings"]["username"], "herald_demo");

    // 64×48: within Instagram's 4:5 to 1.91:1.
    const std::string media = UploadTestMedia(user, "small.jpg", "A harbour at night");
    json post = {{"text", "Hello Instagram #harbour"},
                 {"account_ids", {consent.account_id}},
                 {"media_ids", {media}},
                 {"first_comment", "first!"},
                 {"scheduled_at", domain::FormatRfc3339(core::SystemClock().Now())}};
    auto created = client().Post("/api/v1/posts", post, user.access_token);
    ASSERT_EQ(created.status, 201) << created.body;
    auto done = WaitForPostStatus(user, created.Json()["id"], "published", std::chrono::seconds(30));
    ASSERT_EQ(done["status"], "published") << done.dump();
    const std::string id = done["deliveries"][0]["remote_id"];

    const auto containers = To(meta_.fake, "/v23.0/26000000000000001/media");
    ASSERT_EQ(containers.size(), 1u);
    EXPECT_EQ(containers[0].Header("authorization"), "Bearer " + meta_.long_lived);
    EXPECT_EQ(containers[0].Field("image_url").rfind(std::string(kPublicBase) + "/api/v1/public/media/", 0), 0u)
        << containers[0].Field("image_url");
    EXPECT_EQ(containers[0].Field("alt_text"), "A harbour at night");
    EXPECT_EQ(containers[0].Field("caption"), "Hello Instagram #harbour");
    const auto publishes = meta_.fake.RequestsTo("/v23.0/26000000000000001/media_publish");
    ASSERT_EQ(publishes.size(), 1u);
    EXPECT_EQ(publishes[0].Field("creation_id"), "c100");
    EXPECT_GE(meta_.fake.RequestsTo("/v23.0/c100").size(), 2u);  // IN_PROGRESS, then FINISHED
    const auto comments = meta_.fake.RequestsTo("/v23.0/" + id + "/comments");
    ASSERT_EQ(comments.size(), 1u);
    EXPECT_EQ(comments[0].Field("message"), "first!");
}

// ---- Instagram, adapter alone --------------------------------------------------------------

app::PublishMedia Jpeg(const std::string& id, const std::string& alt) {
    app::PublishMedia m;
    m.id = id;
    m.kind = domain::MediaKind::kImage;
    m.format = domain::MediaFormat::kJpeg;
    m.public_url = std::string(kPublicBase) + "/api/v1/public/media/" + id;
    m.alt_text = alt;
    return m;
}

app::PublishRequest IgRequest(const std::string& text) {
    app::PublishRequest r;
    r.delivery_id = core::NewId(core::SystemClock().Now());
    r.idempotency_key = r.delivery_id;
    r.account_settings_json = json({{"user_id", "26000000000000001"}, {"username", "herald_demo"}}).dump();
    r.credentials = json({{"access_token", "THAA-long-1"}}).dump();
    r.text = text;
    return r;
}

TEST(InstagramAdapterTest, ACarouselWaitsForEachItemThenGetsItsFirstComment) {
    MetaFake meta;
    meta.Serve("instagram", "/v23.0", "media", "media_publish", "status_code");
    meta.fake.On("POST", "/v23.0/1807", [](const FakeRequest&) { return JsonAnswer(200, {{"id", "17900001"}}); });
    core::SystemClock clock;
    platforms::InstagramAdapter adapter(clock, AllowingFake(meta.fake), meta.fake.Url("/v23.0"), meta.fake.Url(),
                                        std::nullopt);
    adapter.SetMediaPolling(std::chrono::milliseconds(5), std::chrono::seconds(5));
    auto req = IgRequest("Two views #harbour");
    req.media = {Jpeg("m1", "Left"), Jpeg("m2", "Right")};
    req.first_comment = "#more #tags";
    auto outcome = adapter.Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::Published>(outcome)) << platforms::ReasonOf(outcome);
    const auto containers = To(meta.fake, "/v23.0/26000000000000001/media");
    ASSERT_EQ(containers.size(), 3u);
    EXPECT_EQ(containers[0].Field("is_carousel_item"), "true");
    EXPECT_EQ(containers[0].Field("alt_text"), "Left");
    EXPECT_EQ(containers[2].Field("media_type"), "CAROUSEL");
    EXPECT_EQ(containers[2].Field("children"), "c100,c101");
    EXPECT_EQ(containers[2].Field("caption"), "Two views #harbour");
    const std::string id = std::get<app::Published>(outcome).remote_id;
    const auto comments = meta.fake.RequestsTo("/v23.0/" + id + "/comments");
    ASSERT_EQ(comments.size(), 1u);
    EXPECT_EQ(comments[0].Field("message"), "#more #tags");
}

TEST(InstagramAdapterTest, MetasErrorCodesAreSaidInWords) {
    FakePlatform fake;
    std::string mode;
    fake.On("POST", "/v23.0/1/media", [&](const FakeRequest&) {
        if (mode == "expired") return JsonAnswer(400, Data("instagram", "error_190.json"));
        if (mode == "limit") return JsonAnswer(400, Data("instagram", "error_publish_limit.json"));
        if (mode == "throttled") return JsonAnswer(400, Data("instagram", "error_rate_limit.json"));
        return JsonAnswer(200, Data("instagram", "container.json"));
    });
    fake.On("GET", "/v23.0/", [&](const FakeRequest&) {
        if (mode == "slow") return JsonAnswer(200, Data("instagram", "container_status_in_progress.json"));
        // 2207052: Meta could not fetch the media from its URL (the README's error table).
        json failed = Data("instagram", "container_status_error.json");
        failed["status"] = "2207052";
        return JsonAnswer(200, failed);
    });
    core::SystemClock clock;
    platforms::InstagramAdapter adapter(clock, AllowingFake(fake), fake.Url("/v23.0"), fake.Url(), std::nullopt);
    adapter.SetMediaPolling(std::chrono::milliseconds(5), std::chrono::milliseconds(50));
    auto send = [&](const std::string& m) {
        mode = m;
        auto req = IgRequest("x");
        req.account_settings_json = json({{"user_id", "1"}}).dump();
        req.media = {Jpeg("m1", "")};
        return adapter.Publish(req);
    };
    auto unreachable = send("error");
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(unreachable));
    EXPECT_NE(platforms::ReasonOf(unreachable).find("the media URL must be publicly reachable"), std::string::npos)
        << platforms::ReasonOf(unreachable);
    EXPECT_TRUE(std::holds_alternative<app::AuthExpired>(send("expired")));
    auto limit = send("limit");
    ASSERT_TRUE(std::holds_alternative<app::RateLimited>(limit));
    EXPECT_NE(platforms::ReasonOf(limit).find("daily publishing limit"), std::string::npos);
    EXPECT_TRUE(std::holds_alternative<app::RateLimited>(send("throttled")));
    auto slow = send("slow");
    ASSERT_TRUE(std::holds_alternative<app::Retryable>(slow));
    EXPECT_NE(platforms::ReasonOf(slow).find("still processing"), std::string::npos);
    EXPECT_TRUE(fake.RequestsTo("/v23.0/1/media_publish").empty());  // nothing half-ready was published

    auto no_media = IgRequest("text only");
    EXPECT_TRUE(std::holds_alternative<app::Rejected>(adapter.Publish(no_media)));
}

TEST(InstagramAdapterTest, TheLongLivedTokenIsRenewedAndARevokedOneSaysReconnect) {
    FakePlatform fake;
    bool revoked = false;
    fake.On("GET", "/refresh_access_token", [&](const FakeRequest& r) {
        if (revoked || r.query.at("grant_type") != "ig_refresh_token") {
            return JsonAnswer(400, Data("instagram", "error_190_revoked.json"));
        }
        return JsonAnswer(200, Data("instagram", "token_long_lived.json"));
    });
    core::SystemClock clock;
    platforms::InstagramAdapter adapter(clock, AllowingFake(fake), fake.Url("/v23.0"), fake.Url(),
                                        platforms::OAuthClient{"meta-app", "meta-secret"});
    auto renewed = adapter.RefreshGrant(json({{"access_token", "old"}, {"user_id", "1"}}).dump());
    ASSERT_TRUE(renewed.has_value()) << renewed.error().message;
    const json creds = json::parse(renewed->credentials_json);
    EXPECT_EQ(creds["access_token"], Data("instagram", "token_long_lived.json")["access_token"]);
    EXPECT_TRUE(creds.contains("expires_at"));
    ASSERT_TRUE(renewed->refresh_at.has_value());
    EXPECT_GT(*renewed->refresh_at, clock.Now() + std::chrono::hours(24 * 40));  // 3/4 of ~60 days
    revoked = true;
    auto gone = adapter.RefreshGrant(json({{"access_token", "old"}}).dump());
    ASSERT_FALSE(gone.has_value());
    EXPECT_EQ(gone.error().code, core::ErrorCode::kPermissionDenied);
    EXPECT_NE(gone.error().message.find("reconnect the account"), std::string::npos);
}

// ---- Facebook Pages ------------------------------------------------------------------------

constexpr const char* kPage = "104200000000001";

// A fake Graph API for Pages: Facebook Login's tokens, two Pages, the Page's own token, photos
// and feed posts as documented (tests/data/platforms/facebook).
void ServeFacebook(FakePlatform& fake) {
    fake.On("POST", "/v23.0/oauth/access_token", [](const FakeRequest& r) {
        if (r.Field("client_id") != "fb-app" || r.Field("code") != "good-code") {
            return JsonAnswer(400, Data("facebook", "error_190_expired.json"));
        }
        return JsonAnswer(200, {{"access_token", "EAA-short"}, {"token_type", "bearer"}, {"expires_in", 3600}});
    });
    fake.On("GET", "/v23.0/oauth/access_token", [](const FakeRequest& r) {
        const bool ok = r.query.count("fb_exchange_token") && r.query.at("grant_type") == "fb_exchange_token" &&
                        r.query.at("client_id") == "fb-app" && r.query.at("client_secret") == "fb-secret";
        if (!ok) return JsonAnswer(400, Data("facebook", "error_190_revoked.json"));
        return JsonAnswer(200, Data("facebook", "token_long_lived.json"));
    });
    const std::string user_token = Data("facebook", "token_long_lived.json")["access_token"];
    fake.On("GET", "/v23.0/", [user_token](const FakeRequest& r) {
        const std::string auth = r.Header("authorization");
        if (r.path == "/v23.0/me/accounts") {
            if (auth != "Bearer " + user_token) return JsonAnswer(400, Data("facebook", "error_190_expired.json"));
            return JsonAnswer(
                200, {{"data", {{{"id", kPage}, {"name", "Acme"}}, {{"id", "104200000000002"}, {"name", "Other"}}}}});
        }
        if (r.path == std::string("/v23.0/") + kPage) {
            if (auth != "Bearer " + user_token) return JsonAnswer(400, Data("facebook", "error_190_revoked.json"));
            return JsonAnswer(200, {{"id", kPage}, {"access_token", "EAA-page-token"}});
        }
        return JsonAnswer(200, Data("facebook", "post_permalink.json"));
    });
    fake.On("POST", std::string("/v23.0/") + kPage + "/photos", [](const FakeRequest& r) {
        if (r.Header("authorization") != "Bearer EAA-page-token")
            return JsonAnswer(400, Data("facebook", "error_190_expired.json"));
        if (r.Field("published") == "false")
            return JsonAnswer(200, {{"id", "9990" + std::to_string(r.Field("source").size())}});
        return JsonAnswer(200, Data("facebook", "photo.json"));
    });
    fake.On("POST", std::string("/v23.0/") + kPage + "/feed", [](const FakeRequest& r) {
        if (r.Field("message") == "again") return JsonAnswer(400, Data("facebook", "error_duplicate_506.json"));
        return JsonAnswer(200, Data("facebook", "feed_post.json"));
    });
    fake.On("POST", "/v23.0/1042", [](const FakeRequest&) { return JsonAnswer(200, {{"id", "c-1"}}); });
}

class FacebookTest : public ServerFixture {
  protected:
    void Configure(core::Config& c) override {
        ServeFacebook(fb_);
        c.platform_allowed_addresses = fb_.Address();
        c.platform_base_urls = "facebook=" + fb_.Url("/v23.0");
        c.oauth_clients = "facebook=fb-app:fb-secret";
        c.public_base_url = kPublicBase;
    }
    FakePlatform fb_;
};

TEST_F(FacebookTest, ConnectsAPageAndPublishesAPhotoWithAFirstComment) {
    const TestUser user = Register();
    // Two Pages and none named: the person is told which ids there are; nothing is connected.
    auto unnamed = ConnectThroughConsent(user, {{"platform", "facebook"}, {"name", "Acme"}});
    EXPECT_NE(unnamed.location.find("oauth_error="), std::string::npos) << unnamed.location;
    EXPECT_NE(unnamed.location.find(kPage), std::string::npos) << unnamed.location;
    EXPECT_TRUE(unnamed.account_id.empty());

    auto consent =
        ConnectThroughConsent(user, {{"platform", "facebook"}, {"name", "Acme"}, {"settings", {{"page_id", kPage}}}});
    EXPECT_EQ(consent.authorize_url.rfind("https://www.facebook.com/v23.0/dialog/oauth?", 0), 0u);
    ASSERT_FALSE(consent.account_id.empty()) << consent.location;
    auto shown = client().Get("/api/v1/accounts/" + consent.account_id, user.access_token).Json();
    EXPECT_EQ(shown["settings"]["page_name"], "Acme");

    const std::string media = UploadSmallImage(user, "Our shop");
    json post = {{"text", "Open today"},
                 {"account_ids", {consent.account_id}},
                 {"media_ids", {media}},
                 {"first_comment", "Until 6 pm"},
                 {"scheduled_at", domain::FormatRfc3339(core::SystemClock().Now())}};
    auto created = client().Post("/api/v1/posts", post, user.access_token);
    ASSERT_EQ(created.status, 201) << created.body;
    auto done = WaitForPostStatus(user, created.Json()["id"], "published", std::chrono::seconds(20));
    ASSERT_EQ(done["status"], "published") << done.dump();
    EXPECT_EQ(done["deliveries"][0]["remote_id"], Data("facebook", "photo.json")["post_id"]);
    EXPECT_EQ(done["deliveries"][0]["url"], Data("facebook", "post_permalink.json")["permalink_url"]);
    const auto photos = fb_.RequestsTo(std::string("/v23.0/") + kPage + "/photos");
    ASSERT_EQ(photos.size(), 1u);
    EXPECT_EQ(photos[0].Field("caption"), "Open today");
    EXPECT_EQ(photos[0].Field("source"),
              ReadBinaryFile(std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media/small.png"));
    const std::string post_id = Data("facebook", "photo.json")["post_id"];
    const auto comments = fb_.RequestsTo("/v23.0/" + post_id + "/comments");
    ASSERT_EQ(comments.size(), 1u);
    EXPECT_EQ(comments[0].Field("message"), "Until 6 pm");
}

TEST(FacebookAdapterTest, SeveralImagesAreOnePostAndRefusalsAreSaid) {
    FakePlatform fake;
    ServeFacebook(fake);
    core::SystemClock clock;
    platforms::FacebookAdapter adapter(clock, AllowingFake(fake), fake.Url("/v23.0"),
                                       platforms::OAuthClient{"fb-app", "fb-secret"});
    auto req = IgRequest("Two pictures");
    req.account_settings_json = json({{"page_id", kPage}}).dump();
    req.credentials = json({{"access_token", Data("facebook", "token_long_lived.json")["access_token"]}}).dump();
    app::PublishMedia a = Jpeg("m1", ""), b = Jpeg("m2", "");
    a.path = b.path = std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media/small.png";
    req.media = {a, b};
    auto outcome = adapter.Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::Published>(outcome)) << platforms::ReasonOf(outcome);
    const auto feed = fake.RequestsTo(std::string("/v23.0/") + kPage + "/feed");
    ASSERT_EQ(feed.size(), 1u);
    EXPECT_EQ(feed[0].Field("message"), "Two pictures");
    EXPECT_FALSE(json::parse(feed[0].Field("attached_media[1]"))["media_fbid"].get<std::string>().empty());

    auto again = IgRequest("again");
    again.account_settings_json = req.account_settings_json;
    again.credentials = req.credentials;
    auto duplicate = adapter.Publish(again);
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(duplicate));
    EXPECT_NE(platforms::ReasonOf(duplicate).find("duplicate"), std::string::npos);

    again.credentials = json({{"access_token", "revoked"}}).dump();
    EXPECT_TRUE(std::holds_alternative<app::AuthExpired>(adapter.Publish(again)));

    // Renewing the user grant: fb_exchange_token with the app's id and secret.
    auto renewed = adapter.RefreshGrant(req.credentials);
    ASSERT_TRUE(renewed.has_value()) << renewed.error().message;
    EXPECT_TRUE(renewed->refresh_at.has_value());
}

}  // namespace
}  // namespace herald::testing
