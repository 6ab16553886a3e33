// X against a local fake of its API v2 (tests/data/platforms/x/, facts and sources in its
// README), and with it the OAuth 2.0 connect flow every OAuth platform uses: the consent page's
// address (PKCE S256, state), the callback checked against the browser that started it, the
// code traded for tokens, renewal when X refuses a token (the post then goes), and a revoked
// grant holding the account for reconnection.

#include "platforms/x.hpp"

#include <mutex>
#include <set>

#include "auth/tokens.hpp"
#include "core/ids.hpp"
#include "domain/time.hpp"
#include "fake_platform.hpp"
#include "server_fixture.hpp"

namespace herald::testing {
namespace {

using nlohmann::json;

json Data(const std::string& file) { return json::parse(PlatformData("x", file)); }

constexpr const char* kClientId = "herald-client";
constexpr const char* kClientSecret = "herald-secret";
constexpr const char* kPublicBase = "https://herald.example.com";

// What the fake X knows: the PKCE challenges it was shown, the tokens it has handed out (a
// refresh token is good once: X rotates them), and the posts made.
struct XState {
    std::mutex mu;
    std::set<std::string> challenges;
    std::set<std::string> access;
    std::string refresh;
    int issued = 0;
    int next_post = 555;
    bool revoked = false;
};

FakeResponse Problem(int status, const std::string& file) {
    FakeResponse r = JsonAnswer(status, Data(file));
    r.content_type = "application/problem+json";
    return r;
}

void ServeX(FakePlatform& fake, XState& st) {
    auto authorized = [&st](const FakeRequest& r) {
        std::lock_guard lock(st.mu);
        const std::string h = r.Header("authorization");
        return h.rfind("Bearer ", 0) == 0 && st.access.count(h.substr(7)) > 0;
    };
    fake.On("POST", "/2/oauth2/token", [&st](const FakeRequest& r) {
        // A confidential client: HTTP Basic with the client id and secret.
        const std::string basic = r.Header("authorization");
        if (basic != "Basic aGVyYWxkLWNsaWVudDpoZXJhbGQtc2VjcmV0") {  // herald-client:herald-secret
            return JsonAnswer(401, {{"error", "invalid_client"}, {"error_description", "Missing valid authorization"}});
        }
        std::lock_guard lock(st.mu);
        const std::string grant = r.Field("grant_type");
        if (grant == "authorization_code") {
            const bool ok = r.Field("code") == "good-code" &&
                            st.challenges.count(auth::PkceChallenge(r.Field("code_verifier"))) > 0 &&
                            r.Field("redirect_uri") == std::string(kPublicBase) + "/api/v1/oauth/x/callback";
            if (!ok) return JsonAnswer(400, Data("token_error_revoked.json"));
        } else if (grant != "refresh_token" || st.revoked || r.Field("refresh_token") != st.refresh) {
            return JsonAnswer(400, Data("token_error_revoked.json"));
        }
        json token = Data("token.json");
        ++st.issued;
        token["access_token"] = "x-access-" + std::to_string(st.issued);
        token["refresh_token"] = "x-refresh-" + std::to_string(st.issued);
        st.access.insert(token["access_token"].get<std::string>());
        st.refresh = token["refresh_token"];
        return JsonAnswer(200, token);
    });
    fake.On("GET", "/2/users/me", [authorized](const FakeRequest& r) {
        if (!authorized(r)) return Problem(401, "error_401.json");
        return JsonAnswer(200, {{"data", {{"id", "2244994945"}, {"name", "Herald"}, {"username", "herald_test"}}}});
    });
    fake.On("POST", "/2/media/upload", [authorized](const FakeRequest& r) {
        if (!authorized(r)) return Problem(401, "error_401.json");
        return JsonAnswer(200, Data("media_upload.json"));
    });
    fake.On("POST", "/2/media/metadata", [authorized](const FakeRequest& r) {
        if (!authorized(r)) return Problem(401, "error_401.json");
        return JsonAnswer(200, Data("media_metadata.json"));
    });
    fake.On("POST", "/2/tweets", [authorized, &st](const FakeRequest& r) {
        if (!authorized(r)) return Problem(401, "error_401.json");
        std::lock_guard lock(st.mu);
        json created = Data("tweet_created.json");
        created["data"]["id"] = "1900000000000000" + std::to_string(st.next_post++);
        created["data"]["text"] = r.Json().value("text", "");
        return JsonAnswer(201, created);
    });
}

class XTest : public ServerFixture {
  protected:
    void Configure(core::Config& c) override {
        c.platform_allowed_addresses = x_.Address();
        c.platform_base_urls = "x=" + x_.Url();
        c.oauth_clients = std::string("x=") + kClientId + ":" + kClientSecret;
        c.public_base_url = kPublicBase;
        c.retry_base_seconds = 1;
    }
    void SetUp() override {
        ServeX(x_, st_);
        ServerFixture::SetUp();
        user_ = Register();
    }

    struct Consent {
        std::string state;
        std::string cookie;  ///< "name=value", as the browser sends it back
        std::map<std::string, std::string> query;
    };
    Consent Start(const json& body) {
        auto r = client().Post("/api/v1/accounts/oauth", body, user_.access_token);
        EXPECT_EQ(r.status, 200) << r.body;
        Consent c;
        const std::string url = r.Json().value("authorize_url", "");
        EXPECT_EQ(url.rfind("https://x.com/i/oauth2/authorize?", 0), 0u) << url;
        c.query = ParseQuery(url.substr(url.find('?') + 1));
        c.state = c.query["state"];
        std::lock_guard lock(st_.mu);
        st_.challenges.insert(c.query["code_challenge"]);
        const std::string set_cookie = r.headers["set-cookie"];
        c.cookie = set_cookie.substr(0, set_cookie.find(';'));
        return c;
    }
    HttpResult Callback(const Consent& c, const std::string& query, const std::string& cookie) {
        return client().Request("GET", "/api/v1/oauth/x/callback?state=" + c.state + "&" + query, "",
                                cookie.empty() ? std::map<std::string, std::string>{}
                                               : std::map<std::string, std::string>{{"Cookie", cookie}});
    }
    std::string ConnectX() {
        auto consent = Start({{"platform", "x"}, {"name", "Our X"}, {"return_to", "/accounts"}});
        auto back = Callback(consent, "code=good-code", consent.cookie);
        EXPECT_EQ(back.status, 302) << back.body;
        const std::string location = back.headers["location"];
        EXPECT_EQ(location.rfind("/accounts?connected=", 0), 0u) << location;
        return location.substr(std::string("/accounts?connected=").size());
    }
    json Publish(const json& body, const std::string& status) {
        json post = body;
        post["scheduled_at"] = domain::FormatRfc3339(core::SystemClock().Now());
        auto r = client().Post("/api/v1/posts", post, user_.access_token);
        EXPECT_EQ(r.status, 201) << r.body;
        return WaitForPostStatus(user_, r.Json().value("id", ""), status, std::chrono::seconds(20));
    }
    std::string UploadImage(const std::string& alt) { return UploadSmallImage(user_, alt); }

    FakePlatform x_;
    XState st_;
    TestUser user_;
};

TEST_F(XTest, ConnectsThroughTheConsentPageOnlyFromTheBrowserThatStarted) {
    auto consent = Start({{"platform", "x"}, {"name", "Our X"}, {"return_to", "/accounts"}});
    EXPECT_EQ(consent.query["response_type"], "code");
    EXPECT_EQ(consent.query["client_id"], kClientId);
    EXPECT_EQ(consent.query["redirect_uri"], std::string(kPublicBase) + "/api/v1/oauth/x/callback");
    EXPECT_EQ(consent.query["scope"], "tweet.read tweet.write users.read media.write offline.access");
    EXPECT_EQ(consent.query["code_challenge_method"], "S256");
    EXPECT_EQ(consent.query["code_challenge"].size(), 43u);
    EXPECT_GE(consent.state.size(), 43u);
    EXPECT_NE(consent.cookie.find("herald_oauth_"), std::string::npos);

    // Another browser (no cookie, or someone else's) cannot finish it, and the state is spent.
    auto stranger = Callback(consent, "code=good-code", "");
    EXPECT_EQ(stranger.status, 302) << stranger.body;
    EXPECT_EQ(stranger.headers["location"].rfind("/?oauth_error=", 0), 0u);  // not return_to: not theirs
    EXPECT_NE(stranger.headers["location"].find("another%20browser"), std::string::npos);
    auto replay = Callback(consent, "code=good-code", consent.cookie);
    EXPECT_EQ(replay.status, 302) << replay.body;
    EXPECT_NE(replay.headers["location"].find("already%20used"), std::string::npos);
    EXPECT_TRUE(client().Get("/api/v1/accounts", user_.access_token).Json()["items"].empty());

    // Declined on X's page: back to the dashboard, in words.
    auto declined = Start({{"platform", "x"}, {"name", "Our X"}, {"return_to", "/accounts?tab=x"}});
    auto no = Callback(declined, "error=access_denied&error_description=denied", declined.cookie);
    EXPECT_EQ(no.status, 302);
    EXPECT_EQ(no.headers["location"].rfind("/accounts?tab=x&oauth_error=", 0), 0u) << no.headers["location"];
    EXPECT_NE(no.headers["location"].find("did%20not%20allow"), std::string::npos);

    // A code X does not take (a wrong verifier would be the same): back, in words, nothing made.
    auto wrong = Start({{"platform", "x"}, {"name", "Our X"}});
    auto bad = Callback(wrong, "code=forged", wrong.cookie);
    EXPECT_EQ(bad.status, 302);
    EXPECT_NE(bad.headers["location"].find("oauth_error="), std::string::npos);
    EXPECT_TRUE(client().Get("/api/v1/accounts", user_.access_token).Json()["items"].empty());

    const std::string id = ConnectX();
    auto account = client().Get("/api/v1/accounts/" + id, user_.access_token);
    ASSERT_EQ(account.status, 200) << account.body;
    EXPECT_EQ(account.Json()["platform"], "x");
    EXPECT_EQ(account.Json()["name"], "Our X");
    EXPECT_EQ(account.Json()["settings"]["username"], "herald_test");
    EXPECT_EQ(account.body.find("x-access-"), std::string::npos);  // tokens never shown
    EXPECT_EQ(account.body.find("x-refresh-"), std::string::npos);

    // What cannot start: a platform without OAuth, a way back to another site, a viewer.
    auto telegram =
        client().Post("/api/v1/accounts/oauth", {{"platform", "telegram"}, {"name", "t"}}, user_.access_token);
    EXPECT_EQ(telegram.status, 409) << telegram.body;
    EXPECT_NE(telegram.body.find("bot_token"), std::string::npos);
    auto away = client().Post("/api/v1/accounts/oauth",
                              {{"platform", "x"}, {"name", "x"}, {"return_to", "//evil.example/"}}, user_.access_token);
    EXPECT_EQ(away.status, 400) << away.body;
    auto platforms = client().Get("/api/v1/platforms", user_.access_token).Json();
    for (const auto& p : platforms["items"]) {
        if (p["name"] == "x") {
            EXPECT_EQ(p["auth"]["method"], "oauth2");
            EXPECT_EQ(p["auth"]["oauth_ready"], true);
        }
        if (p["name"] == "bluesky") {
            EXPECT_EQ(p["auth"]["method"], "app_password");
        }
    }
}

TEST_F(XTest, PublishesAThreadWithAnImageAndRenewsARefusedToken) {
    const std::string account = ConnectX();
    const std::string media = UploadImage("A lighthouse at dusk");
    {
        // The access token lapses (X: two hours): X answers 401 and Herald renews it.
        std::lock_guard lock(st_.mu);
        st_.access.clear();
    }
    auto done = Publish({{"text", "Hello X"},
                         {"account_ids", {account}},
                         {"media_ids", {media}},
                         {"thread", {"second"}},
                         {"first_comment", "first comment"}},
                        "published");
    ASSERT_EQ(done["status"], "published") << done.dump();
    const auto& delivery = done["deliveries"][0];
    const std::string head = delivery["remote_id"];
    EXPECT_EQ(delivery["url"], "https://x.com/herald_test/status/" + head);
    EXPECT_EQ(x_.RequestsTo("/2/oauth2/token").back().Field("grant_type"), "refresh_token");
    EXPECT_EQ(x_.RequestsTo("/2/oauth2/token").back().Field("refresh_token"), "x-refresh-1");

    const auto tweets = x_.RequestsTo("/2/tweets");
    ASSERT_EQ(tweets.size(), 3u);
    EXPECT_EQ(tweets[0].Json()["text"], "Hello X");
    EXPECT_EQ(tweets[0].Json()["media"]["media_ids"], json({Data("media_upload.json")["data"]["id"]}));
    EXPECT_EQ(tweets[1].Json()["text"], "second");
    EXPECT_EQ(tweets[1].Json()["reply"]["in_reply_to_tweet_id"], head);
    EXPECT_EQ(tweets[2].Json()["text"], "first comment");
    EXPECT_EQ(tweets[2].Json()["reply"]["in_reply_to_tweet_id"], head);  // on the post, not the thread
    const auto alt = x_.RequestsTo("/2/media/metadata");
    ASSERT_FALSE(alt.empty());
    EXPECT_EQ(alt.back().Json()["metadata"]["alt_text"]["text"], "A lighthouse at dusk");
    const auto uploads = x_.RequestsTo("/2/media/upload");
    EXPECT_EQ(uploads.back().Field("media_category"), "tweet_image");
    EXPECT_EQ(uploads.back().Field("media"),
              ReadBinaryFile(std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media/small.png"));

    // The renewed grant was kept: the next post needs no renewal.
    const size_t renewals = x_.RequestsTo("/2/oauth2/token").size();
    auto next = Publish({{"text", "Again"}, {"account_ids", {account}}}, "published");
    EXPECT_EQ(next["status"], "published") << next.dump();
    EXPECT_EQ(x_.RequestsTo("/2/oauth2/token").size(), renewals);
    EXPECT_EQ(x_.RequestsTo("/2/tweets").back().Header("authorization"), "Bearer x-access-2");
}

TEST_F(XTest, ARevokedGrantHoldsTheAccountUntilItIsReconnectedThroughX) {
    const std::string account = ConnectX();
    {
        std::lock_guard lock(st_.mu);
        st_.access.clear();
        st_.revoked = true;  // the person removed Herald under x.com → connected apps
    }
    json post = {{"text", "Waiting"}, {"account_ids", {account}}};
    post["scheduled_at"] = domain::FormatRfc3339(core::SystemClock().Now());
    const std::string id = client().Post("/api/v1/posts", post, user_.access_token).Json().value("id", "");
    json shown;
    for (int i = 0; i < 200; ++i) {
        shown = client().Get("/api/v1/accounts/" + account, user_.access_token).Json();
        if (!shown["reconnect_required"].is_null()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_FALSE(shown["reconnect_required"].is_null());
    EXPECT_NE(shown["reconnect_required"].get<std::string>().find("reconnect the account"), std::string::npos);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past the retry delay: still waiting
    EXPECT_EQ(client().Get("/api/v1/posts/" + id, user_.access_token).Json()["deliveries"][0]["status"], "scheduled");
    EXPECT_TRUE(x_.RequestsTo("/2/tweets").size() == 1u);  // the one refused with 401

    // Reconnecting through X again lifts the hold, keeps the account, and the post goes.
    {
        std::lock_guard lock(st_.mu);
        st_.revoked = false;
    }
    auto again = Start({{"platform", "x"}, {"account_id", account}, {"return_to", "/accounts"}});
    auto back = Callback(again, "code=good-code", again.cookie);
    ASSERT_EQ(back.status, 302) << back.body;
    EXPECT_EQ(back.headers["location"], "/accounts?connected=" + account);
    auto done = WaitForPostStatus(user_, id, "published", std::chrono::seconds(20));
    EXPECT_EQ(done["status"], "published") << done.dump();
    EXPECT_TRUE(client().Get("/api/v1/accounts/" + account, user_.access_token).Json()["reconnect_required"].is_null());
    EXPECT_EQ(client().Get("/api/v1/accounts", user_.access_token).Json()["items"].size(), 1u);
}

// ---- the adapter alone: X's failures in words -----------------------------------------------

app::PublishRequest Request(const FakePlatform&, const std::string& text) {
    app::PublishRequest r;
    r.delivery_id = core::NewId(core::SystemClock().Now());
    r.idempotency_key = r.delivery_id;
    r.account_settings_json = json({{"username", "herald_test"}}).dump();
    r.credentials = json({{"access_token", "t"}}).dump();
    r.text = text;
    return r;
}

TEST(XAdapterTest, AVideoGoesUpInChunksAndWaitsForProcessing) {
    FakePlatform fake;
    auto polls = std::make_shared<std::atomic<int>>(0);
    fake.On("POST", "/2/media/upload/initialize",
            [](const FakeRequest&) { return JsonAnswer(200, Data("media_initialize.json")); });
    const std::string id = Data("media_initialize.json")["data"]["id"];
    fake.On("POST", "/2/media/upload/" + id + "/append",
            [](const FakeRequest&) { return JsonAnswer(200, Data("media_append.json")); });
    fake.On("POST", "/2/media/upload/" + id + "/finalize",
            [](const FakeRequest&) { return JsonAnswer(200, Data("media_finalize_pending.json")); });
    fake.On("GET", "/2/media/upload", [polls](const FakeRequest&) {
        return ++*polls < 2 ? JsonAnswer(200, Data("media_finalize_pending.json"))
                            : JsonAnswer(200, Data("media_status_succeeded.json"));
    });
    fake.On("POST", "/2/tweets", [](const FakeRequest&) { return JsonAnswer(201, Data("tweet_created.json")); });
    core::SystemClock clock;
    platforms::XAdapter adapter(clock, AllowingFake(fake), fake.Url(), std::nullopt);
    adapter.SetMediaPolling(std::chrono::milliseconds(10), std::chrono::seconds(5));
    auto req = Request(fake, "A clip");
    app::PublishMedia video;
    video.id = "clip";
    video.kind = domain::MediaKind::kVideo;
    video.format = domain::MediaFormat::kMp4;
    video.path = std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media/small.png";  // bytes are bytes here
    video.bytes = std::filesystem::file_size(video.path);
    req.media.push_back(video);
    auto outcome = adapter.Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::Published>(outcome));
    const auto init = fake.RequestsTo("/2/media/upload/initialize");
    ASSERT_EQ(init.size(), 1u);
    EXPECT_EQ(init[0].Json()["media_category"], "tweet_video");
    EXPECT_EQ(init[0].Json()["media_type"], "video/mp4");
    EXPECT_EQ(init[0].Json()["total_bytes"], video.bytes);
    const auto appended = fake.RequestsTo("/2/media/upload/" + id + "/append");
    ASSERT_EQ(appended.size(), 1u);
    EXPECT_EQ(appended[0].Field("segment_index"), "0");
    EXPECT_EQ(appended[0].Field("media"), ReadBinaryFile(video.path));
    EXPECT_EQ(polls->load(), 2);  // pending, then succeeded
    EXPECT_EQ(fake.RequestsTo("/2/tweets")[0].Json()["media"]["media_ids"], json({id}));
}

TEST(XAdapterTest, FailuresAreTypedAndSaid) {
    FakePlatform fake;
    // X says when the window resets in Unix seconds.
    const int64_t reset = std::chrono::duration_cast<std::chrono::seconds>(
                              (core::SystemClock().Now() + std::chrono::minutes(15)).time_since_epoch())
                              .count();
    fake.On("POST", "/2/tweets", [reset](const FakeRequest& r) {
        const std::string text = r.Json().value("text", "");
        if (text == "limit") {
            return JsonAnswer(429, Data("error_429.json"),
                              {{"x-rate-limit-limit", "100"},
                               {"x-rate-limit-remaining", "0"},
                               {"x-rate-limit-reset", std::to_string(reset)}});
        }
        if (text == "again") return JsonAnswer(403, Data("error_403_duplicate.json"));
        if (text == "broken") return JsonAnswer(500, {{"title", "Internal Error"}});
        return JsonAnswer(400, Data("error_400_invalid.json"));
    });
    core::SystemClock clock;
    platforms::XAdapter adapter(clock, AllowingFake(fake), fake.Url(), std::nullopt);
    auto limited = adapter.Publish(Request(fake, "limit"));
    ASSERT_TRUE(std::holds_alternative<app::RateLimited>(limited));
    EXPECT_EQ(std::get<app::RateLimited>(limited).until, core::TimePoint(std::chrono::seconds(reset)));
    auto duplicate = adapter.Publish(Request(fake, "again"));
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(duplicate));
    EXPECT_NE(std::get<app::Rejected>(duplicate).reason.find("duplicate of a recent post"), std::string::npos);
    auto invalid = adapter.Publish(Request(fake, "?"));
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(invalid));
    EXPECT_NE(std::get<app::Rejected>(invalid).reason.find("One or more parameters"), std::string::npos);
    EXPECT_TRUE(std::holds_alternative<app::Unknown>(adapter.Publish(Request(fake, "broken"))));
    // With no grant configured, the server cannot send anyone to X's page.
    EXPECT_FALSE(adapter.OAuthReady());
    EXPECT_FALSE(adapter.AuthorizeUrl("s", "c", "https://h/cb").has_value());
}

}  // namespace
}  // namespace herald::testing
