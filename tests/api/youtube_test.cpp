// YouTube against a local fake of the Data API v3 and Google's token endpoint
// (tests/data/platforms/youtube/, facts and sources in its README): the resumable upload's exact
// requests (the session with the video's details, the bytes at the address it answers with),
// an interrupted upload that asks the session how much arrived and sends the rest, the title
// taken from the post's first line, each refusal typed and said (the daily quota until midnight
// Pacific time, the channel's upload limit, a refused title, a lapsed token), the channel
// learned at connect, renewal, and one account connected through Google's consent page that
// publishes a video through the queue.

#include "platforms/youtube.hpp"

#include <mutex>

#include "core/ids.hpp"
#include "domain/time.hpp"
#include "fake_platform.hpp"
#include "server_fixture.hpp"

namespace herald::testing {
namespace {

using nlohmann::json;

json Data(const std::string& file) { return json::parse(PlatformData("youtube", file)); }

const std::filesystem::path kClip = std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media/clip.mp4";
constexpr const char* kSessionPath = "/upload/youtube/v3/videos";

// The start of a session: 200, an empty body, the session's address in Location.
void ServeSessionStart(FakePlatform& fake) {
    fake.On("POST", kSessionPath, [&fake](const FakeRequest& r) {
        const json details = r.Json();
        const std::string title =
            details.is_object() ? details.value("snippet", json::object()).value("title", "") : "";
        if (title == "quota") return JsonAnswer(403, Data("error_quota_exceeded.json"));
        if (title == "too many") return JsonAnswer(400, Data("error_upload_limit_exceeded.json"));
        if (title == "slow") return JsonAnswer(403, Data("error_rate_limit_exceeded.json"));
        if (title == "lapsed") return JsonAnswer(401, Data("error_auth_401.json"));
        if (title == "scope") return JsonAnswer(403, Data("error_insufficient_permissions.json"));
        if (title == "bad title") return JsonAnswer(400, Data("error_invalid_title.json"));
        if (title == "busy") return JsonAnswer(500, {{"error", {{"code", 500}, {"message", "Backend Error"}}}});
        return EmptyAnswer(
            200, {{"Location", fake.Url(std::string(kSessionPath) +
                                        "?uploadType=resumable&part=snippet,status&upload_id=xa298sd_fake_HERALD")}});
    });
}

app::PublishRequest Request(const std::string& text, json settings = {{"privacy", "unlisted"}}) {
    app::PublishRequest r;
    r.delivery_id = core::NewId(core::SystemClock().Now());
    r.idempotency_key = r.delivery_id;
    r.account_settings_json = settings.dump();
    r.credentials = json({{"access_token", "t"}}).dump();
    r.text = text;
    app::PublishMedia video;
    video.id = "clip";
    video.kind = domain::MediaKind::kVideo;
    video.format = domain::MediaFormat::kMp4;
    video.path = kClip;
    video.bytes = std::filesystem::file_size(kClip);
    r.media.push_back(video);
    return r;
}

platforms::YouTubeAdapter Adapter(const core::Clock& clock, const FakePlatform& fake,
                                  std::optional<platforms::OAuthClient> client = std::nullopt) {
    platforms::YouTubeAdapter adapter(clock, AllowingFake(fake), fake.Url(), fake.Url("/token"), std::move(client));
    adapter.SetResumeBackoff(std::chrono::milliseconds(1));
    return adapter;
}

// ---- the adapter alone ----------------------------------------------------------------------

TEST(YouTubeAdapterTest, UploadsTheVideoInAResumableSession) {
    FakePlatform fake;
    ServeSessionStart(fake);
    fake.On("PUT", kSessionPath, [](const FakeRequest&) { return JsonAnswer(201, Data("video_inserted.json")); });
    core::SystemClock clock;
    auto adapter = Adapter(clock, fake);
    const std::string text = "Herald launch clip\nPosted by Herald. Chapters:\n00:00 Intro\n00:30 Demo";
    auto outcome = adapter.Publish(Request(text));
    ASSERT_TRUE(std::holds_alternative<app::Published>(outcome)) << platforms::ReasonOf(outcome);
    EXPECT_EQ(std::get<app::Published>(outcome).remote_id, "dQw4HeraldA");
    EXPECT_EQ(std::get<app::Published>(outcome).url, "https://www.youtube.com/watch?v=dQw4HeraldA");

    const std::string bytes = ReadBinaryFile(kClip);
    const auto start = fake.RequestsTo(kSessionPath);
    ASSERT_EQ(start.size(), 2u);
    EXPECT_EQ(start[0].method, "POST");
    EXPECT_EQ(start[0].query.at("uploadType"), "resumable");
    EXPECT_EQ(start[0].query.at("part"), "snippet,status");
    EXPECT_EQ(start[0].Header("authorization"), "Bearer t");
    EXPECT_EQ(start[0].Header("content-type"), "application/json; charset=UTF-8");
    EXPECT_EQ(start[0].Header("x-upload-content-length"), std::to_string(bytes.size()));
    EXPECT_EQ(start[0].Header("x-upload-content-type"), "video/mp4");
    const auto details = start[0].Json();
    EXPECT_EQ(details["snippet"]["title"], Data("upload_init_request.json")["snippet"]["title"]);
    EXPECT_EQ(details["snippet"]["description"], text);
    EXPECT_EQ(details["status"]["privacyStatus"], "unlisted");

    EXPECT_EQ(start[1].method, "PUT");
    EXPECT_EQ(start[1].query.at("upload_id"), "xa298sd_fake_HERALD");
    EXPECT_EQ(start[1].Header("content-type"), "video/mp4");
    EXPECT_EQ(start[1].Header("authorization"), "Bearer t");
    EXPECT_EQ(start[1].body, bytes);  // the file, as it is

    // No privacy setting: public. A 200 for the bytes is taken as well as a 201.
    fake.On("PUT", kSessionPath, [](const FakeRequest&) { return JsonAnswer(200, Data("video_inserted.json")); });
    ASSERT_TRUE(std::holds_alternative<app::Published>(adapter.Publish(Request("Again", json::object()))));
    EXPECT_EQ(fake.RequestsTo(kSessionPath)[2].Json()["status"]["privacyStatus"], "public");
}

TEST(YouTubeAdapterTest, AnInterruptedUploadAsksTheSessionAndSendsTheRest) {
    FakePlatform fake;
    ServeSessionStart(fake);
    const std::string bytes = ReadBinaryFile(kClip);
    const std::string total = std::to_string(bytes.size());
    fake.On("PUT", kSessionPath, [&](const FakeRequest& r) {
        const std::string range = r.Header("content-range");
        if (range.empty()) return JsonAnswer(503, Data("error_backend_503.json"));  // the whole file
        if (range == "bytes */" + total) return EmptyAnswer(308, {{"Range", "bytes=0-999"}});
        if (range == "bytes 1000-" + std::to_string(bytes.size() - 1) + "/" + total) {
            return JsonAnswer(201, Data("video_inserted.json"));
        }
        return JsonAnswer(400, {{"error", {{"code", 400}, {"message", "unexpected range " + range}}}});
    });
    core::SystemClock clock;
    auto adapter = Adapter(clock, fake);
    auto outcome = adapter.Publish(Request("Herald launch clip"));
    ASSERT_TRUE(std::holds_alternative<app::Published>(outcome)) << platforms::ReasonOf(outcome);
    EXPECT_EQ(std::get<app::Published>(outcome).remote_id, "dQw4HeraldA");
    const auto puts = fake.RequestsTo(kSessionPath);
    ASSERT_EQ(puts.size(), 4u);  // start, the file, the question, the rest
    EXPECT_EQ(puts[2].body, "");
    EXPECT_EQ(puts[3].body, bytes.substr(1000));
    EXPECT_EQ(puts[3].Header("content-type"), "video/mp4");
}

TEST(YouTubeAdapterTest, ASessionThatHasItAllAnswersWithTheVideoAndSilenceIsUnknown) {
    FakePlatform fake;
    ServeSessionStart(fake);
    auto mode = std::make_shared<std::string>("finished");
    fake.On("PUT", kSessionPath, [mode](const FakeRequest& r) {
        if (r.Header("content-range").empty()) return JsonAnswer(500, {{"error", {{"code", 500}}}});
        if (*mode == "finished") return JsonAnswer(200, Data("video_inserted.json"));  // the lost answer
        if (*mode == "expired") return EmptyAnswer(404);
        if (*mode == "nothing") return EmptyAnswer(308);  // no Range: nothing arrived
        return JsonAnswer(503, Data("error_backend_503.json"));
    });
    core::SystemClock clock;
    auto adapter = Adapter(clock, fake);
    auto finished = adapter.Publish(Request("Herald launch clip"));
    ASSERT_TRUE(std::holds_alternative<app::Published>(finished)) << platforms::ReasonOf(finished);
    EXPECT_EQ(fake.RequestsTo(kSessionPath).size(), 3u);  // start, the file, the question

    *mode = "expired";
    auto expired = adapter.Publish(Request("Herald launch clip"));
    ASSERT_TRUE(std::holds_alternative<app::Retryable>(expired)) << platforms::ReasonOf(expired);
    EXPECT_NE(platforms::ReasonOf(expired).find("expired"), std::string::npos);

    // The session never says: the video may be on the channel.
    *mode = "silent";
    auto silent = adapter.Publish(Request("Herald launch clip"));
    ASSERT_TRUE(std::holds_alternative<app::Unknown>(silent)) << platforms::ReasonOf(silent);
    EXPECT_NE(platforms::ReasonOf(silent).find("may be on the channel"), std::string::npos);

    // It says nothing arrived, and the rest (all of it) fails again: no video, start again.
    *mode = "nothing";
    fake.On("PUT", kSessionPath, [](const FakeRequest& r) {
        const std::string range = r.Header("content-range");
        if (range.rfind("bytes */", 0) == 0) return EmptyAnswer(308);
        if (range.rfind("bytes 0-", 0) == 0) return EmptyAnswer(308);  // took none of it
        return JsonAnswer(500, {{"error", {{"code", 500}}}});
    });
    auto nothing = adapter.Publish(Request("Herald launch clip"));
    ASSERT_TRUE(std::holds_alternative<app::Retryable>(nothing)) << platforms::ReasonOf(nothing);
}

TEST(YouTubeAdapterTest, FailuresAreTypedAndSaid) {
    FakePlatform fake;
    ServeSessionStart(fake);
    core::FakeClock clock(*domain::ParseRfc3339("2026-01-15T12:00:00Z"));
    auto adapter = Adapter(clock, fake);

    // The project's daily quota: until midnight Pacific time (PST in January: 08:00 UTC).
    auto quota = adapter.Publish(Request("quota"));
    ASSERT_TRUE(std::holds_alternative<app::RateLimited>(quota)) << platforms::ReasonOf(quota);
    EXPECT_EQ(std::get<app::RateLimited>(quota).until, *domain::ParseRfc3339("2026-01-16T08:00:00Z"));
    EXPECT_NE(platforms::ReasonOf(quota).find("daily YouTube API quota"), std::string::npos);
    EXPECT_EQ(platforms::ReasonOf(quota).find("<a href"), std::string::npos);  // Google's HTML is not shown

    auto uploads = adapter.Publish(Request("too many"));
    ASSERT_TRUE(std::holds_alternative<app::RateLimited>(uploads)) << platforms::ReasonOf(uploads);
    EXPECT_EQ(std::get<app::RateLimited>(uploads).until, clock.Now() + std::chrono::hours(24));
    EXPECT_NE(platforms::ReasonOf(uploads).find("exceeded the number of videos"), std::string::npos);

    auto slow = adapter.Publish(Request("slow"));
    ASSERT_TRUE(std::holds_alternative<app::RateLimited>(slow));
    EXPECT_EQ(std::get<app::RateLimited>(slow).until, clock.Now() + std::chrono::minutes(1));

    EXPECT_TRUE(std::holds_alternative<app::AuthExpired>(adapter.Publish(Request("lapsed"))));
    auto scope = adapter.Publish(Request("scope"));
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(scope));
    EXPECT_NE(platforms::ReasonOf(scope).find("reconnect the account"), std::string::npos);
    auto title = adapter.Publish(Request("bad title"));
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(title));
    EXPECT_NE(platforms::ReasonOf(title).find("title, which is the post's first line"), std::string::npos);
    // No video exists before its bytes: a failed start is tried again.
    EXPECT_TRUE(std::holds_alternative<app::Retryable>(adapter.Publish(Request("busy"))));

    // Refused before anything is sent: no video, no title, a description too long.
    const size_t sent = fake.RequestsTo(kSessionPath).size();
    auto no_video = Request("A post");
    no_video.media.clear();
    EXPECT_TRUE(std::holds_alternative<app::Rejected>(adapter.Publish(no_video)));
    auto no_title = adapter.Publish(Request(" \n \n"));
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(no_title));
    EXPECT_NE(platforms::ReasonOf(no_title).find("first line"), std::string::npos);
    auto angles = adapter.Publish(Request("a\n" + std::string(4997, '<')));
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(angles));
    EXPECT_NE(platforms::ReasonOf(angles).find("5000 bytes"), std::string::npos);
    auto no_token = Request("A post");
    no_token.credentials = "{}";
    EXPECT_TRUE(std::holds_alternative<app::AuthExpired>(adapter.Publish(no_token)));
    EXPECT_EQ(fake.RequestsTo(kSessionPath).size(), sent);

    // < and > are replaced in the title and the description alike.
    fake.On("PUT", kSessionPath, [](const FakeRequest&) { return JsonAnswer(201, Data("video_inserted.json")); });
    ASSERT_TRUE(std::holds_alternative<app::Published>(adapter.Publish(Request("<b>Launch</b>\n1 < 2"))));
    const auto details = fake.RequestsTo(kSessionPath)[sent].Json()["snippet"];
    EXPECT_EQ(details["title"], "\u2039b\u203aLaunch\u2039/b\u203a");
    EXPECT_EQ(details["description"], "\u2039b\u203aLaunch\u2039/b\u203a\n1 \u2039 2");
}

TEST(YouTubeAdapterTest, TitlesAndTheQuotaReset) {
    EXPECT_EQ(platforms::YouTubeTitle("\n  Hello <world>  \nmore"), "Hello \u2039world\u203a");
    EXPECT_EQ(platforms::YouTubeTitle(""), "");
    EXPECT_EQ(platforms::YouTubeTitle(std::string(100, 'a')), std::string(100, 'a'));
    EXPECT_EQ(platforms::YouTubeTitle(std::string(101, 'a')), std::string(99, 'a') + "\u2026");
    std::string accents;
    for (int i = 0; i < 120; ++i) accents += "\u00e9";
    const std::string cut = platforms::YouTubeTitle(accents);
    EXPECT_EQ(cut, accents.substr(0, 99 * 2) + "\u2026");  // whole characters, 100 in all
    EXPECT_EQ(*domain::CountCodePoints(cut, "title"), 100u);

    auto at = [](const char* t) { return *domain::ParseRfc3339(t); };
    // PDT in July: midnight is 07:00 UTC; just after it, the next one is a day later.
    EXPECT_EQ(platforms::NextPacificMidnight(at("2026-07-01T06:00:00Z")), at("2026-07-01T07:00:00Z"));
    EXPECT_EQ(platforms::NextPacificMidnight(at("2026-07-01T07:30:00Z")), at("2026-07-02T07:00:00Z"));
    EXPECT_EQ(platforms::NextPacificMidnight(at("2026-01-15T23:59:00Z")), at("2026-01-16T08:00:00Z"));
    EXPECT_EQ(platforms::NextPacificMidnight(at("2026-01-16T08:00:00Z")), at("2026-01-17T08:00:00Z"));
}

TEST(YouTubeAdapterTest, ConnectingLearnsTheChannelAndSettingsAreChecked) {
    FakePlatform fake;
    fake.On("GET", "/youtube/v3/channels", [](const FakeRequest& r) {
        const std::string auth = r.Header("authorization");
        if (r.query.count("mine") == 0 || r.query.at("mine") != "true") return JsonAnswer(400, json::object());
        if (auth == "Bearer good") return JsonAnswer(200, Data("channels_list_mine.json"));
        if (auth == "Bearer empty") return JsonAnswer(200, Data("channels_list_mine_no_items.json"));
        if (auth == "Bearer signup") return JsonAnswer(401, Data("error_youtube_signup_required.json"));
        return JsonAnswer(401, Data("error_auth_401.json"));
    });
    core::SystemClock clock;
    auto adapter = Adapter(clock, fake);
    auto settings =
        adapter.VerifyConnection(json({{"privacy", "private"}}).dump(), json({{"access_token", "good"}}).dump());
    ASSERT_TRUE(settings.has_value()) << settings.error().message;
    const auto kept = json::parse(*settings);
    EXPECT_EQ(kept["channel_id"], "UCfakeHeraldChannel000001");
    EXPECT_EQ(kept["channel_title"], "Herald Test Channel");
    EXPECT_EQ(kept["privacy"], "private");
    EXPECT_TRUE(adapter.ValidateSettings(*settings).has_value());
    EXPECT_EQ(fake.RequestsTo("/youtube/v3/channels")[0].query.at("part"), "snippet");

    for (const char* token : {"empty", "signup"}) {
        auto none = adapter.VerifyConnection("{}", json({{"access_token", token}}).dump());
        ASSERT_FALSE(none.has_value()) << token;
        EXPECT_NE(none.error().message.find("has no YouTube channel"), std::string::npos) << none.error().message;
    }
    auto refused = adapter.VerifyConnection("{}", json({{"access_token", "bad"}}).dump());
    ASSERT_FALSE(refused.has_value());
    EXPECT_NE(refused.error().message.find("invalid authentication credentials"), std::string::npos);

    auto privacy = adapter.ValidateSettings(json({{"privacy", "friends"}}).dump());
    ASSERT_FALSE(privacy.has_value());
    EXPECT_NE(privacy.error().message.find("public, unlisted or private"), std::string::npos);
    EXPECT_FALSE(adapter.ValidateSettings(json({{"title", "x"}}).dump()).has_value());

    const auto limits = adapter.Limits();
    EXPECT_EQ(limits.counting, domain::TextCounting::kUtf8Bytes);
    EXPECT_EQ(limits.max_text_chars, 5000u);
    EXPECT_EQ(limits.media.max_videos, 1);
    EXPECT_EQ(limits.media.max_images, 0);
    EXPECT_TRUE(limits.media.requires_media);
    EXPECT_FALSE(adapter.Capabilities("{}").idempotent);
}

TEST(YouTubeAdapterTest, GooglesGrantIsTradedAndRenewedWithTheClientInTheForm) {
    FakePlatform fake;
    auto revoked = std::make_shared<bool>(false);
    fake.On("POST", "/token", [revoked](const FakeRequest& r) {
        if (r.Field("client_id") != "id" || r.Field("client_secret") != "secret") {
            return JsonAnswer(401, {{"error", "invalid_client"}});
        }
        if (*revoked) return JsonAnswer(400, Data("oauth_error_invalid_grant.json"));
        return JsonAnswer(
            200, Data(r.Field("grant_type") == "refresh_token" ? "oauth_token_refreshed.json" : "oauth_token.json"));
    });
    core::SystemClock clock;
    auto adapter = Adapter(clock, fake, platforms::OAuthClient{"id", "secret"});
    auto url = adapter.AuthorizeUrl("st", "challenge", "https://herald.example.com/cb");
    ASSERT_TRUE(url.has_value());
    EXPECT_EQ(url->rfind("https://accounts.google.com/o/oauth2/v2/auth?", 0), 0u) << *url;
    auto q = ParseQuery(url->substr(url->find('?') + 1));
    EXPECT_EQ(q["access_type"], "offline");
    EXPECT_EQ(q["prompt"], "consent");
    EXPECT_EQ(q["scope"],
              "https://www.googleapis.com/auth/youtube.upload https://www.googleapis.com/auth/youtube.readonly");

    auto grant = adapter.ExchangeCode("code", "verifier", "https://herald.example.com/cb");
    ASSERT_TRUE(grant.has_value()) << grant.error().message;
    EXPECT_EQ(json::parse(grant->credentials_json)["refresh_token"], Data("oauth_token.json")["refresh_token"]);
    EXPECT_EQ(fake.RequestsTo("/token").back().Field("code_verifier"), "verifier");

    auto renewed = adapter.RefreshGrant(grant->credentials_json);
    ASSERT_TRUE(renewed.has_value()) << renewed.error().message;
    const auto fresh = json::parse(renewed->credentials_json);
    EXPECT_EQ(fresh["access_token"], Data("oauth_token_refreshed.json")["access_token"]);
    EXPECT_FALSE(fresh.contains("refresh_token"));  // Google keeps it; the stored one stays
    const auto refresh = fake.RequestsTo("/token").back();
    EXPECT_EQ(refresh.Field("grant_type"), "refresh_token");
    EXPECT_EQ(refresh.Field("refresh_token"), Data("oauth_token.json")["refresh_token"]);

    *revoked = true;
    auto gone = adapter.RefreshGrant(grant->credentials_json);
    ASSERT_FALSE(gone.has_value());
    EXPECT_EQ(gone.error().code, core::ErrorCode::kPermissionDenied);
    EXPECT_NE(gone.error().message.find("reconnect"), std::string::npos);
}

// ---- through the server: connect on Google's page, publish a video through the queue ---------

constexpr const char* kPublicBase = "https://herald.example.com";

class YouTubeTest : public ServerFixture {
  protected:
    void Configure(core::Config& c) override {
        c.platform_allowed_addresses = yt_.Address();
        c.platform_base_urls = "youtube=" + yt_.Url() + ",youtube_token=" + yt_.Url("/token");
        c.oauth_clients = "youtube=yt-client:yt-secret";
        c.public_base_url = kPublicBase;
        c.retry_base_seconds = 1;
    }
    void SetUp() override {
        yt_.On("POST", "/token", [](const FakeRequest& r) {
            const bool ok = r.Field("grant_type") == "authorization_code" && r.Field("code") == "good-code" &&
                            r.Field("client_id") == "yt-client" && r.Field("client_secret") == "yt-secret" &&
                            r.Field("redirect_uri") == std::string(kPublicBase) + "/api/v1/oauth/youtube/callback";
            if (!ok) return JsonAnswer(400, Data("oauth_error_invalid_grant.json"));
            return JsonAnswer(200, Data("oauth_token.json"));
        });
        const std::string token = "Bearer " + Data("oauth_token.json")["access_token"].get<std::string>();
        yt_.On("GET", "/youtube/v3/channels", [token](const FakeRequest& r) {
            if (r.Header("authorization") != token) return JsonAnswer(401, Data("error_auth_401.json"));
            return JsonAnswer(200, Data("channels_list_mine.json"));
        });
        ServeSessionStart(yt_);
        yt_.On("PUT", kSessionPath, [token](const FakeRequest& r) {
            if (r.Header("authorization") != token) return JsonAnswer(401, Data("error_auth_401.json"));
            return JsonAnswer(201, Data("video_inserted.json"));
        });
        ServerFixture::SetUp();
        user_ = Register();
    }

    FakePlatform yt_;
    TestUser user_;
};

TEST_F(YouTubeTest, ConnectsThroughGooglesConsentPageAndPublishesAVideo) {
    auto consent = ConnectThroughConsent(user_, {{"platform", "youtube"},
                                                 {"name", "Our channel"},
                                                 {"settings", {{"privacy", "unlisted"}}},
                                                 {"return_to", "/accounts"}});
    ASSERT_EQ(consent.authorize_url.rfind("https://accounts.google.com/o/oauth2/v2/auth?", 0), 0u);
    EXPECT_EQ(consent.authorize["client_id"], "yt-client");
    EXPECT_EQ(consent.authorize["access_type"], "offline");
    EXPECT_EQ(consent.authorize["redirect_uri"], std::string(kPublicBase) + "/api/v1/oauth/youtube/callback");
    ASSERT_EQ(consent.location.rfind("/accounts?connected=", 0), 0u) << consent.location;
    const std::string account = consent.account_id;
    auto shown = client().Get("/api/v1/accounts/" + account, user_.access_token);
    ASSERT_EQ(shown.status, 200) << shown.body;
    EXPECT_EQ(shown.Json()["settings"]["channel_id"], "UCfakeHeraldChannel000001");
    EXPECT_EQ(shown.Json()["settings"]["privacy"], "unlisted");
    EXPECT_EQ(shown.body.find("fake-herald-refresh-token"), std::string::npos);

    // A video is required: text alone is refused before it is queued.
    json text_only = {{"text", "No video"}, {"account_ids", {account}}};
    text_only["scheduled_at"] = domain::FormatRfc3339(core::SystemClock().Now());
    EXPECT_EQ(client().Post("/api/v1/posts", text_only, user_.access_token).status, 400);

    const std::string clip = UploadTestMedia(user_, "clip.mp4");
    ASSERT_FALSE(clip.empty());
    json post = {{"text", "Herald launch clip\nPosted by Herald."}, {"account_ids", {account}}, {"media_ids", {clip}}};
    post["scheduled_at"] = domain::FormatRfc3339(core::SystemClock().Now());
    auto created = client().Post("/api/v1/posts", post, user_.access_token);
    ASSERT_EQ(created.status, 201) << created.body;
    auto done = WaitForPostStatus(user_, created.Json().value("id", ""), "published", std::chrono::seconds(20));
    ASSERT_EQ(done["status"], "published") << done.dump();
    EXPECT_EQ(done["deliveries"][0]["remote_id"], "dQw4HeraldA");
    EXPECT_EQ(done["deliveries"][0]["url"], "https://www.youtube.com/watch?v=dQw4HeraldA");

    const auto calls = yt_.RequestsTo(kSessionPath);
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[0].Json()["snippet"]["title"], "Herald launch clip");
    EXPECT_EQ(calls[0].Json()["snippet"]["description"], "Herald launch clip\nPosted by Herald.");
    EXPECT_EQ(calls[0].Json()["status"]["privacyStatus"], "unlisted");
    EXPECT_EQ(calls[1].method, "PUT");
    EXPECT_EQ(calls[1].body, ReadBinaryFile(kClip));
}

}  // namespace
}  // namespace herald::testing
