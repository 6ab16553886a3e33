// Reddit against a local fake of its Data API (tests/data/platforms/reddit/, facts and sources
// in its README): the consent page with duration=permanent, the code traded on the www host
// with HTTP Basic, a text post whose first line is its title, a first comment, refusals that
// come inside HTTP 200 (json.errors) typed and said, and a dead refresh token (invalid_request,
// or an error inside HTTP 200) holding the account for reconnection.

#include "platforms/reddit.hpp"

#include <mutex>
#include <set>

#include "core/ids.hpp"
#include "domain/time.hpp"
#include "fake_platform.hpp"
#include "server_fixture.hpp"

namespace herald::testing {
namespace {

using nlohmann::json;

json Data(const std::string& file) { return json::parse(PlatformData("reddit", file)); }

constexpr const char* kClientId = "herald-client";
constexpr const char* kClientSecret = "herald-secret";
constexpr const char* kPublicBase = "https://herald.example.com";
constexpr const char* kUserAgent = "server:herald:1.0 (self-hosted social media scheduler)";

// What the fake Reddit knows: the tokens it handed out (the refresh token stays the same, as
// Reddit's own code does) and whether the person revoked Herald.
struct RedditState {
    std::mutex mu;
    std::set<std::string> access;
    std::string refresh;
    int issued = 0;
    bool revoked = false;
};

void ServeReddit(FakePlatform& fake, RedditState& st) {
    auto authorized = [&st](const FakeRequest& r) {
        std::lock_guard lock(st.mu);
        const std::string h = r.Header("authorization");
        return h.rfind("Bearer ", 0) == 0 && st.access.count(h.substr(7)) > 0;
    };
    fake.On("POST", "/api/v1/access_token", [&st](const FakeRequest& r) {
        if (r.Header("authorization") != "Basic aGVyYWxkLWNsaWVudDpoZXJhbGQtc2VjcmV0") {  // herald-client:herald-secret
            return JsonAnswer(401, Data("error_401.json"), {{"www-authenticate", "Basic realm=\"reddit\""}});
        }
        std::lock_guard lock(st.mu);
        json token;
        if (r.Field("grant_type") == "authorization_code") {
            // A used or unknown code: Reddit answers invalid_grant with HTTP 200.
            if (r.Field("code") != "good-code" ||
                r.Field("redirect_uri") != std::string(kPublicBase) + "/api/v1/oauth/reddit/callback") {
                return JsonAnswer(200, Data("token_error_invalid_grant.json"));
            }
            token = Data("token.json");
            st.refresh = "reddit-refresh";
            token["refresh_token"] = st.refresh;
        } else {
            if (st.revoked || r.Field("refresh_token") != st.refresh) {
                return JsonAnswer(400, Data("token_error_invalid_request.json"));
            }
            token = Data("token_refreshed.json");  // no new refresh token: the old one stays good
        }
        token["access_token"] = "reddit-access-" + std::to_string(++st.issued);
        st.access.insert(token["access_token"].get<std::string>());
        return JsonAnswer(200, token);
    });
    fake.On("GET", "/api/v1/me", [authorized](const FakeRequest& r) {
        if (!authorized(r)) return JsonAnswer(401, Data("error_401.json"));
        return JsonAnswer(200, Data("me.json"));
    });
    fake.On("POST", "/api/submit", [authorized](const FakeRequest& r) {
        if (!authorized(r)) return JsonAnswer(401, Data("error_401.json"));
        return JsonAnswer(200, Data("submit_ok.json"));
    });
    fake.On("POST", "/api/comment", [authorized](const FakeRequest& r) {
        if (!authorized(r)) return JsonAnswer(401, Data("error_401.json"));
        return JsonAnswer(200, Data("comment_ok.json"));
    });
}

class RedditTest : public ServerFixture {
  protected:
    void Configure(core::Config& c) override {
        c.platform_allowed_addresses = reddit_.Address();
        c.platform_base_urls = "reddit=" + reddit_.Url() + ",reddit_www=" + reddit_.Url();
        c.oauth_clients = std::string("reddit=") + kClientId + ":" + kClientSecret;
        c.public_base_url = kPublicBase;
        c.retry_base_seconds = 1;
    }
    void SetUp() override {
        ServeReddit(reddit_, st_);
        ServerFixture::SetUp();
        user_ = Register();
    }

    // Starts connecting, checks the consent page's address, and comes back with `code`.
    HttpResult Connect(const json& body, const std::string& code) {
        auto consent = ConnectThroughConsent(user_, body, "code=" + code);
        EXPECT_EQ(consent.authorize_url.rfind("https://www.reddit.com/api/v1/authorize?", 0), 0u);
        EXPECT_EQ(consent.authorize["client_id"], kClientId);
        EXPECT_EQ(consent.authorize["response_type"], "code");
        EXPECT_EQ(consent.authorize["duration"], "permanent");
        EXPECT_EQ(consent.authorize["scope"], "identity submit read");
        EXPECT_EQ(consent.authorize["redirect_uri"], std::string(kPublicBase) + "/api/v1/oauth/reddit/callback");
        return consent.callback;
    }
    json Publish(const json& body, const std::string& status) {
        json post = body;
        post["scheduled_at"] = domain::FormatRfc3339(core::SystemClock().Now());
        auto r = client().Post("/api/v1/posts", post, user_.access_token);
        EXPECT_EQ(r.status, 201) << r.body;
        return WaitForPostStatus(user_, r.Json().value("id", ""), status, std::chrono::seconds(20));
    }

    FakePlatform reddit_;
    RedditState st_;
    TestUser user_;
};

TEST_F(RedditTest, ConnectsThroughTheConsentPageAndPublishesWithAFirstComment) {
    // A code Reddit does not take (answered inside HTTP 200): back, in words, nothing made.
    auto bad = Connect({{"platform", "reddit"}, {"name", "r"}, {"settings", {{"subreddit", "r/heraldtest"}}}}, "used");
    ASSERT_EQ(bad.status, 302) << bad.body;
    EXPECT_NE(bad.headers["location"].find("oauth_error="), std::string::npos) << bad.headers["location"];
    EXPECT_TRUE(client().Get("/api/v1/accounts", user_.access_token).Json()["items"].empty());
    // A subreddit that cannot be one is refused before anyone goes to Reddit.
    auto wrong = client().Post("/api/v1/accounts/oauth",
                               {{"platform", "reddit"}, {"name", "r"}, {"settings", {{"subreddit", "r/no spaces"}}}},
                               user_.access_token);
    EXPECT_EQ(wrong.status, 400) << wrong.body;

    auto back =
        Connect({{"platform", "reddit"}, {"name", "Our subreddit"}, {"settings", {{"subreddit", "r/heraldtest"}}}},
                "good-code");
    ASSERT_EQ(back.status, 302) << back.body;
    const std::string location = back.headers["location"];
    ASSERT_EQ(location.rfind("/?connected=", 0), 0u) << location;
    const std::string account = location.substr(std::string("/?connected=").size());
    auto shown = client().Get("/api/v1/accounts/" + account, user_.access_token).Json();
    EXPECT_EQ(shown["platform"], "reddit");
    EXPECT_EQ(shown["settings"]["username"], "herald_bot");
    EXPECT_EQ(shown["settings"]["subreddit"], "heraldtest");  // as Reddit's API takes it
    const auto token_calls = reddit_.RequestsTo("/api/v1/access_token");
    ASSERT_FALSE(token_calls.empty());
    EXPECT_EQ(token_calls.back().Field("grant_type"), "authorization_code");
    EXPECT_EQ(token_calls.back().Header("user-agent"), kUserAgent);

    // Media cannot go to Reddit: refused when the post is written, not when it is sent.
    const std::string media = UploadSmallImage(user_, "a picture");
    auto with_media = client().Post(
        "/api/v1/posts", {{"text", "Look"}, {"account_ids", {account}}, {"media_ids", {media}}}, user_.access_token);
    EXPECT_EQ(with_media.status, 400) << with_media.body;

    {
        // The hour-long access token lapsed: Reddit answers 401 and Herald renews it.
        std::lock_guard lock(st_.mu);
        st_.access.clear();
    }
    auto done = Publish({{"text", "Weekly update from Herald\nBody in **markdown**."},
                         {"account_ids", {account}},
                         {"first_comment", "First comment with the link: https://herald.example"}},
                        "published");
    ASSERT_EQ(done["status"], "published") << done.dump();
    const auto& delivery = done["deliveries"][0];
    EXPECT_EQ(delivery["remote_id"], "t3_1abc2d");
    EXPECT_EQ(delivery["url"], Data("submit_ok.json")["json"]["data"]["url"]);
    EXPECT_EQ(reddit_.RequestsTo("/api/v1/access_token").back().Field("grant_type"), "refresh_token");
    EXPECT_EQ(reddit_.RequestsTo("/api/v1/access_token").back().Field("refresh_token"), "reddit-refresh");

    const auto submits = reddit_.RequestsTo("/api/submit");
    ASSERT_FALSE(submits.empty());
    const auto& submit = submits.back();
    EXPECT_EQ(submit.Header("authorization"), "Bearer reddit-access-2");
    EXPECT_EQ(submit.Header("user-agent"), kUserAgent);
    EXPECT_EQ(submit.Field("sr"), "heraldtest");
    EXPECT_EQ(submit.Field("kind"), "self");
    EXPECT_EQ(submit.Field("title"), "Weekly update from Herald");
    EXPECT_EQ(submit.Field("text"), "Body in **markdown**.");
    EXPECT_EQ(submit.Field("api_type"), "json");
    const auto comments = reddit_.RequestsTo("/api/comment");
    ASSERT_EQ(comments.size(), 1u);
    const json form = Data("comment_form.json");
    EXPECT_EQ(comments[0].Field("thing_id"), form["thing_id"]);
    EXPECT_EQ(comments[0].Field("text"), form["text"]);
    EXPECT_EQ(comments[0].Field("api_type"), "json");
}

TEST_F(RedditTest, ARevokedGrantHoldsTheAccountForReconnection) {
    auto back =
        Connect({{"platform", "reddit"}, {"name", "r"}, {"settings", {{"subreddit", "heraldtest"}}}}, "good-code");
    ASSERT_EQ(back.status, 302) << back.body;
    const std::string account = back.headers["location"].substr(std::string("/?connected=").size());
    {
        std::lock_guard lock(st_.mu);
        st_.access.clear();
        st_.revoked = true;  // removed under reddit.com → preferences → apps
    }
    json post = {{"text", "Waiting"}, {"account_ids", {account}}};
    post["scheduled_at"] = domain::FormatRfc3339(core::SystemClock().Now());
    ASSERT_EQ(client().Post("/api/v1/posts", post, user_.access_token).status, 201);
    json shown;
    for (int i = 0; i < 200; ++i) {
        shown = client().Get("/api/v1/accounts/" + account, user_.access_token).Json();
        if (!shown["reconnect_required"].is_null()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_FALSE(shown["reconnect_required"].is_null());
    EXPECT_NE(shown["reconnect_required"].get<std::string>().find("reconnect the account"), std::string::npos);
}

// ---- the adapter alone ------------------------------------------------------------------------

app::PublishRequest Request(const std::string& text) {
    app::PublishRequest r;
    r.delivery_id = core::NewId(core::SystemClock().Now());
    r.idempotency_key = r.delivery_id;
    r.account_settings_json = json({{"subreddit", "heraldtest"}, {"username", "herald_bot"}}).dump();
    r.credentials = json({{"access_token", "t"}}).dump();
    r.text = text;
    return r;
}

const core::TimePoint kNow = core::FromUnixMillis(1'767'225'600'000);

TEST(RedditAdapterTest, ATextPostTakesItsFirstLineAsTitle) {
    FakePlatform fake;
    fake.On("POST", "/api/submit", [](const FakeRequest&) { return JsonAnswer(200, Data("submit_ok.json")); });
    fake.On("POST", "/api/comment", [](const FakeRequest&) { return JsonAnswer(200, Data("comment_ok.json")); });
    core::FakeClock clock(kNow);
    platforms::RedditAdapter adapter(clock, AllowingFake(fake), fake.Url(), fake.Url(), std::nullopt);
    const json self = Data("submit_form_self.json");
    auto req = Request(self["title"].get<std::string>() + "\n\n" + self["text"].get<std::string>() + "\n");
    req.first_comment = "thanks for reading";
    auto outcome = adapter.Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::Published>(outcome));
    EXPECT_EQ(std::get<app::Published>(outcome).remote_id, "t3_1abc2d");
    EXPECT_EQ(std::get<app::Published>(outcome).url, Data("submit_ok.json")["json"]["data"]["url"]);

    const auto submits = fake.RequestsTo("/api/submit");
    ASSERT_EQ(submits.size(), 1u);
    const auto& s = submits[0];
    EXPECT_EQ(s.Header("content-type"), "application/x-www-form-urlencoded");
    EXPECT_EQ(s.Header("authorization"), "Bearer t");
    EXPECT_EQ(s.Header("user-agent"), kUserAgent);
    for (const char* key : {"api_type", "sr", "kind", "title", "text", "resubmit"}) {
        EXPECT_EQ(s.Field(key), self[key].get<std::string>()) << key;
    }
    EXPECT_EQ(s.Field("flair_id"), "");  // only when the account's settings name one
    const auto comments = fake.RequestsTo("/api/comment");
    ASSERT_EQ(comments.size(), 1u);
    EXPECT_EQ(comments[0].Field("thing_id"), "t3_1abc2d");
    EXPECT_EQ(comments[0].Field("text"), "thanks for reading");

    // A subreddit that demands flair gets the template the settings name.
    auto flaired = Request("Flaired");
    flaired.account_settings_json =
        json({{"subreddit", "heraldtest"}, {"flair_id", self["flair_id"]}, {"username", "herald_bot"}}).dump();
    ASSERT_TRUE(std::holds_alternative<app::Published>(adapter.Publish(flaired)));
    EXPECT_EQ(fake.RequestsTo("/api/submit").back().Field("flair_id"), self["flair_id"]);
    EXPECT_EQ(fake.RequestsTo("/api/submit").back().Field("text"), "");  // a title alone
}

TEST(RedditAdapterTest, ALongFirstLineIsCutWithoutBreakingACharacter) {
    using platforms::RedditAdapter;
    std::string line;
    for (int i = 0; i < 350; ++i) line += "\xc3\xa9";  // é, two bytes each
    auto cut = RedditAdapter::SplitTitle(line + "\nmore");
    auto points = domain::CountCodePoints(cut.title, "title");
    ASSERT_TRUE(points.has_value()) << "the title is not valid UTF-8";
    EXPECT_EQ(*points, 300u);
    EXPECT_EQ(cut.title.substr(cut.title.size() - 3), "\u2026");
    EXPECT_EQ(cut.body, line + "\nmore");  // nothing lost: the body is the whole text

    auto plain = RedditAdapter::SplitTitle("  A   title\twith  gaps \r\n\n\nThe body\nand more  ");
    EXPECT_EQ(plain.title, "A title with gaps");
    EXPECT_EQ(plain.body, "The body\nand more");
    EXPECT_EQ(RedditAdapter::SplitTitle("Only a title").body, "");
}

TEST(RedditAdapterTest, FailuresAreTypedAndSaid) {
    FakePlatform fake;
    fake.On("POST", "/api/submit", [](const FakeRequest& r) {
        const std::string title = r.Field("title");
        if (title == "limit") return JsonAnswer(200, Data("submit_error_ratelimit.json"));
        if (title == "limit in words") {
            json said = Data("submit_error_ratelimit.json");
            said["json"].erase("ratelimit");
            return JsonAnswer(200, said);
        }
        if (title == "missing") return JsonAnswer(200, Data("submit_error_subreddit_noexist.json"));
        if (title == "closed") return JsonAnswer(200, Data("submit_error_notallowed.json"));
        if (title == "no text posts") return JsonAnswer(200, Data("submit_error_no_selfs.json"));
        if (title == "flair") return JsonAnswer(200, Data("submit_error_flair_required.json"));
        if (title == "long") return JsonAnswer(200, Data("submit_error_title_too_long.json"));
        if (title == "throttled") {
            return JsonAnswer(
                429, Data("error_429.json"),
                {{"x-ratelimit-used", "100"}, {"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", "42"}});
        }
        if (title == "expired") return JsonAnswer(401, Data("error_401.json"));
        if (title == "banned") return JsonAnswer(403, Data("error_403.json"));
        if (title == "broken") return JsonAnswer(500, {{"message", "Internal Server Error"}, {"error", 500}});
        if (title == "silent") return JsonAnswer(200, {{"json", {{"errors", json::array()}}}});
        return JsonAnswer(200, Data("submit_ok.json"));
    });
    fake.On("POST", "/api/comment",
            [](const FakeRequest&) { return JsonAnswer(200, Data("submit_error_ratelimit.json")); });
    core::FakeClock clock(kNow);
    platforms::RedditAdapter adapter(clock, AllowingFake(fake), fake.Url(), fake.Url(), std::nullopt);
    auto rejected = [&](const std::string& title) {
        auto outcome = adapter.Publish(Request(title));
        EXPECT_TRUE(std::holds_alternative<app::Rejected>(outcome)) << title;
        return std::holds_alternative<app::Rejected>(outcome) ? std::get<app::Rejected>(outcome).reason : "";
    };

    // Reddit's posting throttle: json.ratelimit in seconds, else the minutes in its words.
    auto limited = adapter.Publish(Request("limit"));
    ASSERT_TRUE(std::holds_alternative<app::RateLimited>(limited));
    EXPECT_EQ(std::get<app::RateLimited>(limited).until, kNow + std::chrono::seconds(288));
    EXPECT_NE(std::get<app::RateLimited>(limited).reason.find("try again in 5 minutes"), std::string::npos);
    auto worded = adapter.Publish(Request("limit in words"));
    ASSERT_TRUE(std::holds_alternative<app::RateLimited>(worded));
    EXPECT_EQ(std::get<app::RateLimited>(worded).until, kNow + std::chrono::minutes(5));
    // The API's own limit: X-Ratelimit-Reset is seconds from now.
    auto throttled = adapter.Publish(Request("throttled"));
    ASSERT_TRUE(std::holds_alternative<app::RateLimited>(throttled));
    EXPECT_EQ(std::get<app::RateLimited>(throttled).until, kNow + std::chrono::seconds(42));

    EXPECT_NE(rejected("missing").find("r/heraldtest does not exist"), std::string::npos);
    EXPECT_NE(rejected("closed").find("may not post in r/heraldtest"), std::string::npos);
    EXPECT_NE(rejected("no text posts").find("does not allow text posts"), std::string::npos);
    EXPECT_NE(rejected("flair").find("flair_id"), std::string::npos);
    EXPECT_NE(rejected("long").find("too long in its title"), std::string::npos);
    EXPECT_NE(rejected("banned").find("Forbidden"), std::string::npos);
    EXPECT_TRUE(std::holds_alternative<app::AuthExpired>(adapter.Publish(Request("expired"))));
    EXPECT_TRUE(std::holds_alternative<app::Unknown>(adapter.Publish(Request("broken"))));
    EXPECT_TRUE(std::holds_alternative<app::Unknown>(adapter.Publish(Request("silent"))));  // no id: maybe posted

    // The post went out and its comment did not: said with where the post is, never retried.
    auto req = Request("fine");
    req.first_comment = "a comment";
    auto partly = adapter.Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(partly));
    const std::string why = std::get<app::Rejected>(partly).reason;
    EXPECT_NE(why.find("published at " + Data("submit_ok.json")["json"]["data"]["url"].get<std::string>()),
              std::string::npos)
        << why;
    EXPECT_NE(why.find("first comment"), std::string::npos) << why;

    // Media and threads never reach Reddit (Limits refuses them when the post is written).
    EXPECT_EQ(adapter.Limits().media.max_images, 0);
    EXPECT_EQ(adapter.Limits().max_thread_items, 0);
    EXPECT_TRUE(adapter.Limits().first_comment);
    EXPECT_FALSE(adapter.OAuthReady());
    EXPECT_FALSE(adapter.AuthorizeUrl("s", "c", "https://h/cb").has_value());
}

TEST(RedditAdapterTest, SettingsNameASubredditAndConnectingAddsTheUsername) {
    FakePlatform fake;
    fake.On("GET", "/api/v1/me", [](const FakeRequest& r) {
        if (r.Header("authorization") != "Bearer good") return JsonAnswer(401, Data("error_401.json"));
        return JsonAnswer(200, Data("me.json"));
    });
    core::SystemClock clock;
    platforms::RedditAdapter adapter(clock, AllowingFake(fake), fake.Url(), fake.Url(), std::nullopt);
    for (const char* ok : {"heraldtest", "r/heraldtest", "/r/heraldtest", "u/herald_bot", "r/de"}) {
        EXPECT_TRUE(adapter.ValidateSettings(json({{"subreddit", ok}}).dump()).has_value()) << ok;
    }
    for (const char* bad : {"", "r/", "r/x", "r/no spaces", "r/this_name_is_far_too_long", "r/dash-ed"}) {
        auto refused = adapter.ValidateSettings(json({{"subreddit", bad}}).dump());
        ASSERT_FALSE(refused.has_value()) << bad;
        EXPECT_EQ(refused.error().details["field"], "settings.subreddit") << bad;
    }
    EXPECT_FALSE(adapter.ValidateSettings("{}").has_value());
    EXPECT_FALSE(adapter.ValidateSettings(json({{"subreddit", "heraldtest"}, {"title", "x"}}).dump()).has_value());
    EXPECT_FALSE(
        adapter.ValidateSettings(json({{"subreddit", "heraldtest"}, {"flair_id", "not a flair"}}).dump()).has_value());

    auto settings =
        adapter.VerifyConnection(json({{"subreddit", "r/heraldtest"}}).dump(), json({{"access_token", "good"}}).dump());
    ASSERT_TRUE(settings.has_value()) << settings.error().message;
    EXPECT_EQ(json::parse(*settings), json({{"subreddit", "heraldtest"}, {"username", "herald_bot"}}));
    EXPECT_EQ(fake.RequestsTo("/api/v1/me").back().Header("user-agent"), kUserAgent);
    auto refused =
        adapter.VerifyConnection(json({{"subreddit", "heraldtest"}}).dump(), json({{"access_token", "old"}}).dump());
    ASSERT_FALSE(refused.has_value());
    EXPECT_NE(refused.error().message.find("did not accept the access token"), std::string::npos);
}

TEST(RedditAdapterTest, ADeadRefreshTokenMeansReconnecting) {
    FakePlatform fake;
    fake.On("POST", "/api/v1/access_token", [](const FakeRequest& r) {
        if (r.Header("authorization") != "Basic aWQ6c2VjcmV0")
            return JsonAnswer(401, Data("error_401.json"));  // id:secret
        const std::string refresh = r.Field("refresh_token");
        if (refresh == "revoked") return JsonAnswer(400, Data("token_error_invalid_request.json"));
        if (refresh == "spent") return JsonAnswer(200, Data("token_error_invalid_grant.json"));  // an error in a 200
        if (refresh == "busy") return JsonAnswer(503, {{"message", "Service Unavailable"}, {"error", 503}});
        if (r.Field("code") == "used") return JsonAnswer(200, Data("token_error_invalid_grant.json"));
        return JsonAnswer(200, Data("token_refreshed_with_refresh_token.json"));
    });
    core::FakeClock clock(kNow);
    platforms::RedditAdapter adapter(clock, AllowingFake(fake), fake.Url(), fake.Url(),
                                     std::optional<platforms::OAuthClient>{{"id", "secret"}});
    auto creds = [](const std::string& refresh) {
        return json({{"access_token", "a"}, {"refresh_token", refresh}}).dump();
    };

    auto renewed = adapter.RefreshGrant(creds("good"));
    ASSERT_TRUE(renewed.has_value()) << renewed.error().message;
    const auto grant = json::parse(renewed->credentials_json);
    EXPECT_EQ(grant["access_token"], Data("token_refreshed_with_refresh_token.json")["access_token"]);
    EXPECT_EQ(grant["refresh_token"], Data("token_refreshed_with_refresh_token.json")["refresh_token"]);
    EXPECT_EQ(grant["expires_at"], core::ToUnixMillis(kNow) / 1000 + 3600);
    ASSERT_TRUE(renewed->refresh_at.has_value());
    EXPECT_EQ(*renewed->refresh_at, kNow + std::chrono::seconds(2700));
    const auto call = fake.RequestsTo("/api/v1/access_token").back();
    EXPECT_EQ(call.Field("grant_type"), "refresh_token");
    EXPECT_EQ(call.Field("refresh_token"), "good");
    EXPECT_EQ(call.Header("user-agent"), kUserAgent);

    for (const char* dead : {"revoked", "spent"}) {
        auto refused = adapter.RefreshGrant(creds(dead));
        ASSERT_FALSE(refused.has_value()) << dead;
        EXPECT_EQ(refused.error().code, core::ErrorCode::kPermissionDenied) << dead;
        EXPECT_NE(refused.error().message.find("reconnect the account"), std::string::npos) << dead;
    }
    auto busy = adapter.RefreshGrant(creds("busy"));  // transient: tried again later
    ASSERT_FALSE(busy.has_value());
    EXPECT_NE(busy.error().code, core::ErrorCode::kPermissionDenied);
    auto none = adapter.RefreshGrant(json({{"access_token", "a"}}).dump());
    ASSERT_FALSE(none.has_value());
    EXPECT_EQ(none.error().code, core::ErrorCode::kPermissionDenied);

    // A spent code when connecting is not a revoked account: start again, in words.
    auto used = adapter.ExchangeCode("used", "verifier", "https://h/cb");
    ASSERT_FALSE(used.has_value());
    EXPECT_NE(used.error().code, core::ErrorCode::kPermissionDenied);
    EXPECT_NE(used.error().message.find("start connecting"), std::string::npos);
}

}  // namespace
}  // namespace herald::testing
