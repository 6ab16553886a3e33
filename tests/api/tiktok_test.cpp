// TikTok against a local fake of its Content Posting API (tests/data/platforms/tiktok/, facts
// and sources in its README): the consent page with client_key and comma-separated scopes, the
// code traded with the client's key and secret in the form, the creator's info learned at
// connect (and a privacy level the account does not offer refused), a video TikTok pulls from
// Herald's public link followed until it is published, a photo post, TikTok's refusals and
// failures typed and said, processing that outlasts the wait left unconfirmed (never resent),
// rotated refresh tokens kept, and one account connected through the consent page that
// publishes a video through the queue.

#include "platforms/tiktok.hpp"

#include <atomic>
#include <memory>

#include "core/ids.hpp"
#include "domain/time.hpp"
#include "fake_platform.hpp"
#include "server_fixture.hpp"

namespace herald::testing {
namespace {

using nlohmann::json;

json Data(const std::string& file) { return json::parse(PlatformData("tiktok", file)); }

constexpr const char* kPublicBase = "https://herald.example.com";
constexpr const char* kInit = "/v2/post/publish/video/init/";
constexpr const char* kPhotoInit = "/v2/post/publish/content/init/";
constexpr const char* kStatus = "/v2/post/publish/status/fetch/";
constexpr const char* kCreator = "/v2/post/publish/creator_info/query/";
constexpr const char* kToken = "/v2/oauth/token/";
const std::filesystem::path kClip = std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media/clip.mp4";
const core::TimePoint kNow = core::FromUnixMillis(1'767'225'600'000);

// ---- through the server: consent, then a video through the queue ---------------------------

class TikTokTest : public ServerFixture {
  protected:
    void Configure(core::Config& c) override {
        c.platform_allowed_addresses = tt_.Address();
        c.platform_base_urls = "tiktok=" + tt_.Url();
        c.oauth_clients = "tiktok=tt-client:tt-secret";
        c.public_base_url = kPublicBase;
        c.retry_base_seconds = 1;
    }
    void SetUp() override {
        tt_.On("POST", kToken, [](const FakeRequest& r) {
            const bool ok = r.Field("grant_type") == "authorization_code" && r.Field("code") == "good-code" &&
                            r.Field("client_key") == "tt-client" && r.Field("client_secret") == "tt-secret" &&
                            r.Field("redirect_uri") == std::string(kPublicBase) + "/api/v1/oauth/tiktok/callback";
            if (!ok) return JsonAnswer(400, Data("oauth_error_invalid_grant.json"));
            return JsonAnswer(200, Data("oauth_token.json"));
        });
        const std::string token = "Bearer " + Data("oauth_token.json")["access_token"].get<std::string>();
        tt_.On("POST", kCreator, [token](const FakeRequest& r) {
            if (r.Header("authorization") != token) return JsonAnswer(401, Data("error_access_token_invalid.json"));
            return JsonAnswer(200, Data("creator_info.json"));
        });
        tt_.On("POST", kInit, [token](const FakeRequest& r) {
            if (r.Header("authorization") != token) return JsonAnswer(401, Data("error_access_token_invalid.json"));
            return JsonAnswer(200, Data("video_init_pull.json"));
        });
        tt_.On("POST", kStatus, [token](const FakeRequest& r) {
            if (r.Header("authorization") != token) return JsonAnswer(401, Data("error_access_token_invalid.json"));
            return JsonAnswer(200, Data("status_publish_complete.json"));
        });
        ServerFixture::SetUp();
        user_ = Register();
    }

    FakePlatform tt_;
    TestUser user_;
};

TEST_F(TikTokTest, ConnectsThroughTheConsentPageAndPublishesAVideoTikTokPulls) {
    auto consent = ConnectThroughConsent(user_, {{"platform", "tiktok"}, {"name", "Our TikTok"}});
    ASSERT_EQ(consent.authorize_url.rfind("https://www.tiktok.com/v2/auth/authorize/?", 0), 0u)
        << consent.authorize_url;
    EXPECT_EQ(consent.authorize["client_key"], "tt-client");
    EXPECT_EQ(consent.authorize.count("client_id"), 0u);
    EXPECT_EQ(consent.authorize["scope"], "user.info.basic,video.publish");
    EXPECT_EQ(consent.authorize["response_type"], "code");
    EXPECT_EQ(consent.authorize["redirect_uri"], std::string(kPublicBase) + "/api/v1/oauth/tiktok/callback");
    ASSERT_EQ(consent.location.rfind("/?connected=", 0), 0u) << consent.location;
    const std::string account = consent.account_id;

    const auto exchange = tt_.RequestsTo(kToken);
    ASSERT_EQ(exchange.size(), 1u);
    EXPECT_EQ(exchange[0].Header("authorization"), "");  // the client's key and secret go in the form
    EXPECT_EQ(exchange[0].Header("content-type"), "application/x-www-form-urlencoded");
    EXPECT_EQ(exchange[0].Field("client_key"), "tt-client");
    EXPECT_EQ(exchange[0].Field("client_secret"), "tt-secret");
    EXPECT_EQ(exchange[0].Field("code"), "good-code");
    EXPECT_EQ(exchange[0].Field("grant_type"), "authorization_code");
    EXPECT_EQ(exchange[0].Field("redirect_uri"), std::string(kPublicBase) + "/api/v1/oauth/tiktok/callback");
    EXPECT_FALSE(exchange[0].Field("code_verifier").empty());

    auto shown = client().Get("/api/v1/accounts/" + account, user_.access_token);
    ASSERT_EQ(shown.status, 200) << shown.body;
    const json settings = shown.Json()["settings"];
    EXPECT_EQ(settings["creator_username"], "herald_test_creator");
    EXPECT_EQ(settings["creator_nickname"], "Herald Test");
    EXPECT_EQ(settings["privacy_level_options"], Data("creator_info.json")["data"]["privacy_level_options"]);
    EXPECT_EQ(settings["max_video_post_duration_sec"], 600);
    EXPECT_EQ(shown.body.find("rft.herald0Fake0Refresh0Token0001"), std::string::npos);

    // A video is required: text alone is refused before it is queued.
    json text_only = {{"text", "No video"}, {"account_ids", {account}}};
    text_only["scheduled_at"] = domain::FormatRfc3339(core::SystemClock().Now());
    EXPECT_EQ(client().Post("/api/v1/posts", text_only, user_.access_token).status, 400);

    const std::string clip = UploadTestMedia(user_, "clip.mp4");
    ASSERT_FALSE(clip.empty());
    json post = {{"text", "Herald launch clip #herald"}, {"account_ids", {account}}, {"media_ids", {clip}}};
    post["scheduled_at"] = domain::FormatRfc3339(core::SystemClock().Now());
    auto created = client().Post("/api/v1/posts", post, user_.access_token);
    ASSERT_EQ(created.status, 201) << created.body;
    auto done = WaitForPostStatus(user_, created.Json().value("id", ""), "published", std::chrono::seconds(30));
    ASSERT_EQ(done["status"], "published") << done.dump();
    EXPECT_EQ(done["deliveries"][0]["remote_id"], "7300000000000000009");
    EXPECT_EQ(done["deliveries"][0]["url"], "https://www.tiktok.com/@herald_test_creator/video/7300000000000000009");

    const auto init = tt_.RequestsTo(kInit);
    ASSERT_EQ(init.size(), 1u);
    const json sent = init[0].Json();
    EXPECT_EQ(sent["post_info"]["title"], "Herald launch clip #herald");
    EXPECT_EQ(sent["post_info"]["privacy_level"], "SELF_ONLY");  // offered, so the default
    EXPECT_EQ(sent["source_info"]["source"], "PULL_FROM_URL");
    const std::string link = sent["source_info"].value("video_url", "");
    EXPECT_EQ(link.rfind(std::string(kPublicBase) + "/api/v1/public/media/", 0), 0u) << link;
    EXPECT_NE(link.find(clip), std::string::npos) << link;
    const auto polled = tt_.RequestsTo(kStatus);
    ASSERT_EQ(polled.size(), 1u);
    EXPECT_EQ(polled[0].Json(), json({{"publish_id", Data("video_init_pull.json")["data"]["publish_id"]}}));
}

// ---- the adapter alone ------------------------------------------------------------------------

json Settings(json extra = json::object()) {
    json s = {{"creator_username", "herald_test_creator"},
              {"creator_nickname", "Herald Test"},
              {"privacy_level_options", Data("creator_info.json")["data"]["privacy_level_options"]},
              {"max_video_post_duration_sec", 600}};
    s.update(extra);
    return s;
}

app::PublishMedia Video(const std::string& id, bool public_link = true) {
    app::PublishMedia m;
    m.id = id;
    m.kind = domain::MediaKind::kVideo;
    m.format = domain::MediaFormat::kMp4;
    m.path = kClip;
    m.duration_ms = 12'000;
    if (public_link) m.public_url = "https://media.herald.example/exports/acct1/" + id + ".mp4";
    return m;
}

app::PublishMedia Image(const std::string& id, domain::MediaFormat format = domain::MediaFormat::kJpeg) {
    app::PublishMedia m;
    m.id = id;
    m.kind = domain::MediaKind::kImage;
    m.format = format;
    m.path = std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media/small.jpg";
    m.public_url = "https://media.herald.example/exports/acct1/" + id + ".jpg";
    return m;
}

app::PublishRequest Request(const std::string& text, json settings = Settings()) {
    app::PublishRequest r;
    r.delivery_id = core::NewId(core::SystemClock().Now());
    r.idempotency_key = r.delivery_id;
    r.account_settings_json = settings.dump();
    r.credentials = json({{"access_token", "t"}, {"open_id", Data("oauth_token.json")["open_id"]}}).dump();
    r.text = text;
    r.media.push_back(Video("clip42"));
    return r;
}

std::unique_ptr<platforms::TikTokAdapter> Adapter(const FakePlatform& fake, const core::Clock& clock) {
    auto a = std::make_unique<platforms::TikTokAdapter>(clock, AllowingFake(fake), fake.Url(), std::nullopt);
    a->SetMediaPolling(std::chrono::milliseconds(10), std::chrono::seconds(5));
    return a;
}

TEST(TikTokAdapterTest, AVideoIsPulledFromItsPublicLinkAndFollowedUntilPublished) {
    FakePlatform fake;
    auto polls = std::make_shared<std::atomic<int>>(0);
    auto private_post = std::make_shared<std::atomic<bool>>(false);
    fake.On("POST", kInit, [](const FakeRequest&) { return JsonAnswer(200, Data("video_init_pull.json")); });
    fake.On("POST", kStatus, [polls, private_post](const FakeRequest&) {
        if (++*polls % 2 == 1) return JsonAnswer(200, Data("status_processing_download.json"));
        return JsonAnswer(
            200, Data(*private_post ? "status_publish_complete_private.json" : "status_publish_complete.json"));
    });
    core::FakeClock clock(kNow);
    auto adapter = Adapter(fake, clock);

    const json expected = Data("video_init_pull_request.json");
    auto req = Request(expected["post_info"]["title"].get<std::string>(),
                       Settings({{"privacy_level", expected["post_info"]["privacy_level"]},
                                 {"disable_duet", true},
                                 {"disable_stitch", true}}));
    auto outcome = adapter->Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::Published>(outcome)) << platforms::ReasonOf(outcome);
    EXPECT_EQ(std::get<app::Published>(outcome).remote_id, "7300000000000000009");
    EXPECT_EQ(std::get<app::Published>(outcome).url,
              "https://www.tiktok.com/@herald_test_creator/video/7300000000000000009");

    const auto init = fake.RequestsTo(kInit);
    ASSERT_EQ(init.size(), 1u);
    EXPECT_EQ(init[0].Header("authorization"), "Bearer t");
    EXPECT_EQ(init[0].Header("content-type"), "application/json; charset=UTF-8");
    EXPECT_EQ(init[0].Json(), expected);
    const auto status = fake.RequestsTo(kStatus);
    ASSERT_EQ(status.size(), 2u);  // PROCESSING_DOWNLOAD, then PUBLISH_COMPLETE
    for (const auto& s : status) {
        EXPECT_EQ(s.Header("authorization"), "Bearer t");
        EXPECT_EQ(s.Json(), Data("status_fetch_request.json"));
    }

    // A private post gets no public id: the publish_id, and the profile's address.
    *private_post = true;
    auto plain = Request("Just for me");
    outcome = adapter->Publish(plain);
    ASSERT_TRUE(std::holds_alternative<app::Published>(outcome)) << platforms::ReasonOf(outcome);
    EXPECT_EQ(std::get<app::Published>(outcome).remote_id, "v_pub_url~v2.7300000000000000002");
    EXPECT_EQ(std::get<app::Published>(outcome).url, "https://www.tiktok.com/@herald_test_creator");
    const json defaults = fake.RequestsTo(kInit).back().Json();
    EXPECT_EQ(defaults["post_info"], json({{"title", "Just for me"},
                                           {"privacy_level", "SELF_ONLY"},  // offered, so the default
                                           {"disable_comment", false},
                                           {"disable_duet", false},
                                           {"disable_stitch", false},
                                           {"brand_content_toggle", false},
                                           {"brand_organic_toggle", false}}));
    EXPECT_EQ(defaults["source_info"]["video_url"], "https://media.herald.example/exports/acct1/clip42.mp4");

    // An account that does not offer SELF_ONLY posts with the first level it offers.
    adapter->Publish(Request(
        "x", Settings({{"privacy_level_options", json::array({"FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS"})}})));
    EXPECT_EQ(fake.RequestsTo(kInit).back().Json()["post_info"]["privacy_level"], "FOLLOWER_OF_CREATOR");
}

TEST(TikTokAdapterTest, ImagesMakeAPhotoPost) {
    FakePlatform fake;
    fake.On("POST", kPhotoInit, [](const FakeRequest&) { return JsonAnswer(200, Data("photo_init.json")); });
    fake.On("POST", kStatus, [](const FakeRequest&) { return JsonAnswer(200, Data("status_publish_complete.json")); });
    core::FakeClock clock(kNow);
    auto adapter = Adapter(fake, clock);
    const json expected = Data("photo_init_request.json");
    const std::string text = expected["post_info"]["title"].get<std::string>() + "\n" +
                             expected["post_info"]["description"].get<std::string>();
    auto req = Request(text, Settings({{"privacy_level", "PUBLIC_TO_EVERYONE"}}));
    req.media.clear();
    for (const auto& link : expected["source_info"]["photo_images"]) {
        auto m = Image("p" + std::to_string(req.media.size() + 1));
        m.public_url = link.get<std::string>();
        req.media.push_back(m);
    }
    auto outcome = adapter->Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::Published>(outcome)) << platforms::ReasonOf(outcome);
    const auto init = fake.RequestsTo(kPhotoInit);
    ASSERT_EQ(init.size(), 1u);
    json want = expected;
    want["post_info"]["description"] = text;  // the whole text; its first line is the title
    EXPECT_EQ(init[0].Json(), want);
    EXPECT_EQ(fake.RequestsTo(kStatus)[0].Json()["publish_id"], Data("photo_init.json")["data"]["publish_id"]);

    // A long first line is cut at 90 UTF-16 units (an emoji is two).
    auto long_title = Request(std::string(88, 'a') + "\xF0\x9F\x98\x80" + "bb\nmore");
    long_title.media = {Image("p1")};
    ASSERT_TRUE(std::holds_alternative<app::Published>(adapter->Publish(long_title)));
    EXPECT_EQ(fake.RequestsTo(kPhotoInit).back().Json()["post_info"]["title"], std::string(88, 'a') + "\u2026");

    // TikTok takes no PNG, and no mix of images and a video.
    auto png = Request("png");
    png.media = {Image("p1", domain::MediaFormat::kPng)};
    auto refused = adapter->Publish(png);
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(refused));
    EXPECT_NE(std::get<app::Rejected>(refused).reason.find("JPEG or WebP"), std::string::npos);
    auto mixed = Request("mixed");
    mixed.media.push_back(Image("p1"));
    EXPECT_TRUE(std::holds_alternative<app::Rejected>(adapter->Publish(mixed)));
    EXPECT_EQ(fake.RequestsTo(kPhotoInit).size(), 2u);
}

TEST(TikTokAdapterTest, AFailedPostIsSaidInWords) {
    FakePlatform fake;
    auto reason = std::make_shared<std::string>("video_pull_failed");
    fake.On("POST", kInit, [](const FakeRequest&) { return JsonAnswer(200, Data("video_init_pull.json")); });
    fake.On("POST", kStatus, [reason](const FakeRequest&) {
        json failed = Data("status_failed.json");
        failed["data"]["fail_reason"] = *reason;
        return JsonAnswer(200, failed);
    });
    core::FakeClock clock(kNow);
    auto adapter = Adapter(fake, clock);
    auto outcome = adapter->Publish(Request("pulled"));
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(outcome)) << platforms::ReasonOf(outcome);
    EXPECT_NE(std::get<app::Rejected>(outcome).reason.find(
                  "TikTok could not download the video: the media URL must be publicly reachable and its domain "
                  "verified"),
              std::string::npos)
        << std::get<app::Rejected>(outcome).reason;

    auto with = [&](const std::string& why) {
        *reason = why;
        return adapter->Publish(Request(why));
    };
    auto said = [](const app::PublishOutcome& o) { return platforms::ReasonOf(o); };
    auto frame = with("frame_rate_check_failed");
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(frame));
    EXPECT_NE(said(frame).find("frame rate"), std::string::npos);
    auto length = with("duration_check_failed");
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(length));
    EXPECT_NE(said(length).find("length"), std::string::npos);
    auto format = with("file_format_check_failed");
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(format));
    EXPECT_NE(said(format).find("format"), std::string::npos);
    auto spam = with("spam_risk_text");
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(spam));
    EXPECT_NE(said(spam).find("spam"), std::string::npos);
    auto cancelled = with("publish_cancelled");
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(cancelled));
    EXPECT_NE(said(cancelled).find("cancelled"), std::string::npos);
    EXPECT_TRUE(std::holds_alternative<app::AuthExpired>(with("auth_removed")));
    // Nothing is on TikTok after its own failure: sending again is safe.
    EXPECT_TRUE(std::holds_alternative<app::Retryable>(with("internal")));
    EXPECT_NE(said(with("something_new")).find("something_new"), std::string::npos);
}

TEST(TikTokAdapterTest, ProcessingThatOutlastsTheWaitIsUnconfirmedNeverResent) {
    FakePlatform fake;
    auto answer = std::make_shared<std::string>("processing");
    fake.On("POST", kInit, [](const FakeRequest&) { return JsonAnswer(200, Data("video_init_pull.json")); });
    fake.On("POST", kStatus, [answer](const FakeRequest&) {
        if (*answer == "lapsed") return JsonAnswer(401, Data("error_access_token_invalid.json"));
        if (*answer == "busy") return JsonAnswer(500, Data("error_internal.json"));
        return JsonAnswer(200, Data("status_processing_upload.json"));
    });
    core::FakeClock clock(kNow);
    platforms::TikTokAdapter adapter(clock, AllowingFake(fake), fake.Url(), std::nullopt);
    adapter.SetMediaPolling(std::chrono::milliseconds(10), std::chrono::milliseconds(150));
    auto outcome = adapter.Publish(Request("slow"));
    ASSERT_TRUE(std::holds_alternative<app::Unknown>(outcome)) << platforms::ReasonOf(outcome);
    const std::string reason = std::get<app::Unknown>(outcome).reason;
    EXPECT_NE(reason.find("still processing"), std::string::npos) << reason;
    EXPECT_NE(reason.find("may still appear"), std::string::npos) << reason;
    EXPECT_NE(reason.find("v_pub_url~v2.7300000000000000002"), std::string::npos) << reason;
    EXPECT_EQ(fake.RequestsTo(kInit).size(), 1u);  // sent once
    EXPECT_GE(fake.RequestsTo(kStatus).size(), 2u);

    // TikTok failing to answer is asked again; to the end, it stays unconfirmed.
    *answer = "busy";
    EXPECT_TRUE(std::holds_alternative<app::Unknown>(adapter.Publish(Request("busy"))));
    // A check TikTok refuses ends the wait: the post may be there.
    *answer = "lapsed";
    const size_t before = fake.RequestsTo(kStatus).size();
    auto lapsed = adapter.Publish(Request("lapsed"));
    ASSERT_TRUE(std::holds_alternative<app::Unknown>(lapsed));
    EXPECT_NE(std::get<app::Unknown>(lapsed).reason.find("does not send it again"), std::string::npos);
    EXPECT_EQ(fake.RequestsTo(kStatus).size(), before + 1);
}

TEST(TikTokAdapterTest, RefusalsBeforeThePostExistsAreTypedAndSaid) {
    FakePlatform fake;
    fake.On("POST", kInit, [](const FakeRequest& r) {
        const std::string title = r.Json()["post_info"].value("title", "");
        if (title == "too many") return JsonAnswer(403, Data("error_spam_risk_too_many_posts.json"));
        if (title == "cap") return JsonAnswer(403, Data("error_reached_active_user_cap.json"));
        if (title == "banned") return JsonAnswer(403, Data("error_spam_risk_user_banned.json"));
        if (title == "unverified") return JsonAnswer(403, Data("error_url_ownership_unverified.json"));
        if (title == "privacy") return JsonAnswer(403, Data("error_privacy_level_option_mismatch.json"));
        if (title == "unaudited") return JsonAnswer(403, Data("error_unaudited_client.json"));
        if (title == "expired") return JsonAnswer(401, Data("error_access_token_invalid.json"));
        if (title == "scope") return JsonAnswer(401, Data("error_scope_not_authorized.json"));
        if (title == "slow") return JsonAnswer(429, Data("error_rate_limit_exceeded.json"));
        if (title == "slow but 200") return JsonAnswer(200, Data("error_rate_limit_exceeded.json"));
        if (title == "invalid") return JsonAnswer(400, Data("error_invalid_param.json"));
        if (title == "broken") return JsonAnswer(500, Data("error_internal.json"));
        if (title == "down") return JsonAnswer(503, Data("error_internal.json"));
        return JsonAnswer(200, Data("video_init_pull.json"));
    });
    core::FakeClock clock(kNow);
    auto adapter = Adapter(fake, clock);
    auto said = [](const app::PublishOutcome& o) { return platforms::ReasonOf(o); };

    auto too_many = adapter->Publish(Request("too many"));
    ASSERT_TRUE(std::holds_alternative<app::RateLimited>(too_many));
    EXPECT_EQ(std::get<app::RateLimited>(too_many).until, kNow + std::chrono::hours(24));
    EXPECT_NE(said(too_many).find("daily limit"), std::string::npos);
    auto cap = adapter->Publish(Request("cap"));
    ASSERT_TRUE(std::holds_alternative<app::RateLimited>(cap));
    EXPECT_EQ(std::get<app::RateLimited>(cap).until, kNow + std::chrono::hours(24));
    EXPECT_NE(said(cap).find("daily quota"), std::string::npos);
    auto banned = adapter->Publish(Request("banned"));
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(banned));
    EXPECT_NE(said(banned).find("banned"), std::string::npos);
    auto unverified = adapter->Publish(Request("unverified"));
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(unverified));
    EXPECT_NE(said(unverified).find("the media URL's domain is not verified for this TikTok app"), std::string::npos);
    EXPECT_NE(said(unverified).find("media.herald.example"), std::string::npos);
    auto privacy = adapter->Publish(Request("privacy"));
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(privacy));
    EXPECT_NE(said(privacy).find("privacy level SELF_ONLY"), std::string::npos);
    auto unaudited = adapter->Publish(Request("unaudited"));
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(unaudited));
    EXPECT_NE(said(unaudited).find("not audited"), std::string::npos);
    EXPECT_NE(said(unaudited).find("private"), std::string::npos);
    EXPECT_TRUE(std::holds_alternative<app::AuthExpired>(adapter->Publish(Request("expired"))));
    auto scope = adapter->Publish(Request("scope"));
    ASSERT_TRUE(std::holds_alternative<app::AuthExpired>(scope));
    EXPECT_NE(said(scope).find("video.publish"), std::string::npos);
    EXPECT_NE(said(scope).find("reconnect"), std::string::npos);
    // No rate-limit headers are documented: a minute, then again.
    for (const char* slow : {"slow", "slow but 200"}) {
        auto limited = adapter->Publish(Request(slow));
        ASSERT_TRUE(std::holds_alternative<app::RateLimited>(limited)) << slow;
        EXPECT_EQ(std::get<app::RateLimited>(limited).until, kNow + std::chrono::minutes(1)) << slow;
    }
    auto invalid = adapter->Publish(Request("invalid"));
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(invalid));
    EXPECT_NE(said(invalid).find("The title exceeds the maximum length."), std::string::npos);
    EXPECT_NE(said(invalid).find("20260115093000A1B2C3D4E5F60718293A"), std::string::npos);  // the log id
    // A failure after the request went out may have made the post; a 503 did not.
    EXPECT_TRUE(std::holds_alternative<app::Unknown>(adapter->Publish(Request("broken"))));
    EXPECT_TRUE(std::holds_alternative<app::Retryable>(adapter->Publish(Request("down"))));
    EXPECT_TRUE(fake.RequestsTo(kStatus).empty());  // none of them made a post to follow
    EXPECT_EQ(fake.RequestsTo(kInit).size(), 13u);

    // What never reaches TikTok.
    auto bare = Request("bare");
    bare.media.clear();
    EXPECT_NE(said(adapter->Publish(bare)).find("needs a video"), std::string::npos);
    auto hidden = Request("hidden");
    hidden.media = {Video("clip42", false)};
    auto no_link = adapter->Publish(hidden);
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(no_link));
    EXPECT_NE(said(no_link).find("public_base_url"), std::string::npos);
    EXPECT_NE(said(no_link).find("developer portal"), std::string::npos);
    auto two = Request("two");
    two.media.push_back(Video("clip43"));
    EXPECT_TRUE(std::holds_alternative<app::Rejected>(adapter->Publish(two)));
    auto long_clip = Request("long", Settings({{"max_video_post_duration_sec", 10}}));
    auto too_long = adapter->Publish(long_clip);
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(too_long));
    EXPECT_NE(said(too_long).find("up to 10 seconds"), std::string::npos);
    auto unsigned_in = Request("no token");
    unsigned_in.credentials = "{}";
    EXPECT_TRUE(std::holds_alternative<app::AuthExpired>(adapter->Publish(unsigned_in)));
    EXPECT_EQ(fake.RequestsTo(kInit).size(), 13u);

    const auto limits = adapter->Limits();
    EXPECT_EQ(limits.max_text_chars, 2200u);
    EXPECT_EQ(limits.counting, domain::TextCounting::kUtf16Units);
    EXPECT_EQ(limits.media.max_videos, 1);
    EXPECT_EQ(limits.media.max_images, 35);
    EXPECT_FALSE(limits.media.mix_images_and_videos);
    EXPECT_TRUE(limits.media.requires_media);
    EXPECT_TRUE(limits.media.pulls_from_url);
    EXPECT_EQ(limits.max_thread_items, 0);
    EXPECT_FALSE(limits.first_comment);
    EXPECT_FALSE(adapter->OAuthReady());
    EXPECT_FALSE(adapter->Capabilities("{}").idempotent);
    EXPECT_FALSE(adapter->Capabilities("{}").lookup);
}

TEST(TikTokAdapterTest, ConnectingLearnsTheCreatorAndRefusesAPrivacyLevelNotOffered) {
    FakePlatform fake;
    fake.On("POST", kCreator, [](const FakeRequest& r) {
        const std::string h = r.Header("authorization");
        if (h == "Bearer public") return JsonAnswer(200, Data("creator_info.json"));
        if (h == "Bearer private") return JsonAnswer(200, Data("creator_info_private_account.json"));
        if (h == "Bearer narrow") return JsonAnswer(401, Data("error_scope_not_authorized.json"));
        return JsonAnswer(401, Data("error_access_token_invalid.json"));
    });
    core::SystemClock clock;
    platforms::TikTokAdapter adapter(clock, AllowingFake(fake), fake.Url(), std::nullopt);
    auto token = [](const std::string& t) { return json({{"access_token", t}}).dump(); };

    auto settings = adapter.VerifyConnection("{}", token("public"));
    ASSERT_TRUE(settings.has_value()) << settings.error().message;
    const json info = Data("creator_info.json")["data"];
    EXPECT_EQ(json::parse(*settings), json({{"creator_username", info["creator_username"]},
                                            {"creator_nickname", info["creator_nickname"]},
                                            {"privacy_level_options", info["privacy_level_options"]},
                                            {"max_video_post_duration_sec", 600}}));
    EXPECT_TRUE(adapter.ValidateSettings(*settings).has_value());  // what it adds, it takes back
    const auto asked = fake.RequestsTo(kCreator);
    ASSERT_EQ(asked.size(), 1u);
    EXPECT_EQ(asked[0].method, "POST");
    EXPECT_EQ(asked[0].Header("content-type"), "application/json; charset=UTF-8");

    auto kept = adapter.VerifyConnection(json({{"privacy_level", "PUBLIC_TO_EVERYONE"}}).dump(), token("public"));
    ASSERT_TRUE(kept.has_value()) << kept.error().message;
    EXPECT_EQ(json::parse(*kept)["privacy_level"], "PUBLIC_TO_EVERYONE");

    // A private account offers no PUBLIC_TO_EVERYONE.
    auto refused = adapter.VerifyConnection(json({{"privacy_level", "PUBLIC_TO_EVERYONE"}}).dump(), token("private"));
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().details["field"], "settings.privacy_level");
    EXPECT_NE(refused.error().message.find("FOLLOWER_OF_CREATOR, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY"), std::string::npos)
        << refused.error().message;
    auto private_ok =
        adapter.VerifyConnection(json({{"privacy_level", "FOLLOWER_OF_CREATOR"}}).dump(), token("private"));
    ASSERT_TRUE(private_ok.has_value()) << private_ok.error().message;
    EXPECT_EQ(json::parse(*private_ok)["max_video_post_duration_sec"], 180);

    auto narrow = adapter.VerifyConnection("{}", token("narrow"));
    ASSERT_FALSE(narrow.has_value());
    EXPECT_NE(narrow.error().message.find("video.publish"), std::string::npos);
    auto wrong = adapter.VerifyConnection("{}", token("nope"));
    ASSERT_FALSE(wrong.has_value());
    EXPECT_NE(wrong.error().message.find("The access token is invalid"), std::string::npos);

    // Settings a person gives.
    EXPECT_TRUE(adapter.ValidateSettings("{}").has_value());
    EXPECT_TRUE(
        adapter.ValidateSettings(json({{"privacy_level", "SELF_ONLY"}, {"disable_comment", true}}).dump()).has_value());
    auto level = adapter.ValidateSettings(json({{"privacy_level", "public"}}).dump());
    ASSERT_FALSE(level.has_value());
    EXPECT_EQ(level.error().details["field"], "settings.privacy_level");
    EXPECT_FALSE(adapter.ValidateSettings(json({{"disable_duet", "yes"}}).dump()).has_value());
    EXPECT_FALSE(adapter.ValidateSettings(json({{"privacy_level", true}}).dump()).has_value());
    EXPECT_FALSE(adapter.ValidateSettings(json({{"board_id", "1"}}).dump()).has_value());
}

TEST(TikTokAdapterTest, RefreshKeepsTheRotatedTokenAndARevokedGrantMeansReconnecting) {
    FakePlatform fake;
    fake.On("POST", kToken, [](const FakeRequest& r) {
        if (r.Field("client_key") != "tt-client" || r.Field("client_secret") != "tt-secret") {
            return JsonAnswer(401, {{"error", "invalid_client"}, {"error_description", "Client key is invalid."}});
        }
        if (r.Field("grant_type") != "refresh_token") return JsonAnswer(400, Data("oauth_error_invalid_request.json"));
        const std::string refresh = r.Field("refresh_token");
        if (refresh == Data("oauth_token.json")["refresh_token"]) {
            return JsonAnswer(200, Data("oauth_token_refreshed.json"));
        }
        if (refresh == "busy") return JsonAnswer(503, json::object());
        return JsonAnswer(400, Data("oauth_error_invalid_grant.json"));
    });
    core::FakeClock clock(kNow);
    platforms::TikTokAdapter adapter(clock, AllowingFake(fake), fake.Url(),
                                     std::optional<platforms::OAuthClient>{{"tt-client", "tt-secret"}});
    EXPECT_TRUE(adapter.OAuthReady());
    json stored = Data("oauth_token.json");
    stored.erase("expires_in");
    stored.erase("refresh_expires_in");

    auto renewed = adapter.RefreshGrant(stored.dump());
    ASSERT_TRUE(renewed.has_value()) << renewed.error().message;
    const json fresh = Data("oauth_token_refreshed.json");
    const json grant = json::parse(renewed->credentials_json);
    EXPECT_EQ(grant["access_token"], fresh["access_token"]);
    EXPECT_EQ(grant["refresh_token"], fresh["refresh_token"]);  // rotated: the new one is kept
    EXPECT_NE(grant["refresh_token"], stored["refresh_token"]);
    EXPECT_EQ(grant["open_id"], fresh["open_id"]);
    EXPECT_EQ(grant["expires_at"], core::ToUnixMillis(kNow) / 1000 + 7200);
    EXPECT_EQ(grant["refresh_expires_at"], core::ToUnixMillis(kNow) / 1000 + 15551000);
    ASSERT_TRUE(renewed->refresh_at.has_value());
    EXPECT_EQ(*renewed->refresh_at, kNow + std::chrono::seconds(7200 * 3 / 4));
    const auto call = fake.RequestsTo(kToken).back();
    EXPECT_EQ(call.Header("authorization"), "");
    EXPECT_EQ(call.Field("grant_type"), "refresh_token");
    EXPECT_EQ(call.Field("refresh_token"), stored["refresh_token"]);

    // A spent or revoked refresh token: TikTok says invalid_grant.
    stored["refresh_token"] = "rft.spent";
    auto revoked = adapter.RefreshGrant(stored.dump());
    ASSERT_FALSE(revoked.has_value());
    EXPECT_EQ(revoked.error().code, core::ErrorCode::kPermissionDenied);
    EXPECT_NE(revoked.error().message.find("reconnect the account"), std::string::npos);
    stored["refresh_token"] = "busy";
    auto busy = adapter.RefreshGrant(stored.dump());  // transient: tried again later
    ASSERT_FALSE(busy.has_value());
    EXPECT_EQ(busy.error().code, core::ErrorCode::kUnavailable);

    auto url = adapter.AuthorizeUrl("st", "challenge", "https://h/cb");
    ASSERT_TRUE(url.has_value());
    EXPECT_EQ(url->rfind("https://www.tiktok.com/v2/auth/authorize/?", 0), 0u) << *url;
    const auto q = ParseQuery(url->substr(url->find('?') + 1));
    EXPECT_EQ(q.at("client_key"), "tt-client");
    EXPECT_EQ(q.count("client_id"), 0u);
    EXPECT_EQ(q.at("scope"), "user.info.basic,video.publish");
    EXPECT_EQ(q.at("state"), "st");
}

}  // namespace
}  // namespace herald::testing
