// Pinterest against a local fake of its API v5 (tests/data/platforms/pinterest/, facts and
// sources in its README): the consent page with comma-separated scopes, the code traded with
// HTTP Basic for a continuous refresh token, a Pin made from the post's image by its public
// link (one image, or a carousel), Pinterest's refusals typed and said, and a refused refresh
// holding the account for reconnection.

#include "platforms/pinterest.hpp"

#include <mutex>
#include <set>

#include "core/ids.hpp"
#include "domain/time.hpp"
#include "fake_platform.hpp"
#include "server_fixture.hpp"

namespace herald::testing {
namespace {

using nlohmann::json;

json Data(const std::string& file) { return json::parse(PlatformData("pinterest", file)); }

constexpr const char* kClientId = "herald-client";
constexpr const char* kClientSecret = "herald-secret";
constexpr const char* kPublicBase = "https://herald.example.com";
constexpr const char* kBoard = "549755885175";

// What the fake Pinterest knows: the tokens it handed out (a continuous refresh token is
// replaced at each refresh) and the Pins made.
struct PinterestState {
    std::mutex mu;
    std::set<std::string> access;
    std::string refresh;
    int issued = 0;
};

void ServePinterest(FakePlatform& fake, PinterestState& st) {
    auto authorized = [&st](const FakeRequest& r) {
        std::lock_guard lock(st.mu);
        const std::string h = r.Header("authorization");
        return h.rfind("Bearer ", 0) == 0 && st.access.count(h.substr(7)) > 0;
    };
    fake.On("POST", "/v5/oauth/token", [&st](const FakeRequest& r) {
        if (r.Header("authorization") != "Basic aGVyYWxkLWNsaWVudDpoZXJhbGQtc2VjcmV0") {  // herald-client:herald-secret
            return JsonAnswer(401, Data("token_error.json"));
        }
        std::lock_guard lock(st.mu);
        json token;
        if (r.Field("grant_type") == "authorization_code") {
            if (r.Field("code") != "good-code" ||
                r.Field("redirect_uri") != std::string(kPublicBase) + "/api/v1/oauth/pinterest/callback") {
                return JsonAnswer(400, {{"code", 1}, {"message", "Invalid authorization code."}});
            }
            token = Data("token.json");
        } else if (r.Field("refresh_token") == st.refresh) {
            token = Data("token_refreshed_continuous.json");
        } else {
            return JsonAnswer(401, Data("token_error.json"));
        }
        ++st.issued;
        token["access_token"] = "pina_access_" + std::to_string(st.issued);
        token["refresh_token"] = "pinr_refresh_" + std::to_string(st.issued);
        st.access.insert(token["access_token"].get<std::string>());
        st.refresh = token["refresh_token"];
        return JsonAnswer(200, token);
    });
    fake.On("GET", "/v5/user_account", [authorized](const FakeRequest& r) {
        if (!authorized(r)) return JsonAnswer(401, Data("error_401.json"));
        return JsonAnswer(200, Data("user_account.json"));
    });
    fake.On("POST", "/v5/pins", [authorized](const FakeRequest& r) {
        if (!authorized(r)) return JsonAnswer(401, Data("error_401.json"));
        // Pinterest would fetch the image from its link; this fake takes any link.
        return JsonAnswer(201, Data("pin_created.json"));
    });
}

class PinterestTest : public ServerFixture {
  protected:
    void Configure(core::Config& c) override {
        c.platform_allowed_addresses = pinterest_.Address();
        c.platform_base_urls = "pinterest=" + pinterest_.Url();
        c.oauth_clients = std::string("pinterest=") + kClientId + ":" + kClientSecret;
        c.public_base_url = kPublicBase;
        c.retry_base_seconds = 1;
    }
    void SetUp() override {
        ServePinterest(pinterest_, st_);
        ServerFixture::SetUp();
        user_ = Register();
    }

    FakePlatform pinterest_;
    PinterestState st_;
    TestUser user_;
};

TEST_F(PinterestTest, ConnectsThroughTheConsentPageAndPinsAnImageByItsPublicLink) {
    // A board id that cannot be one is refused before anyone goes to Pinterest.
    auto wrong = client().Post("/api/v1/accounts/oauth",
                               {{"platform", "pinterest"}, {"name", "p"}, {"settings", {{"board_id", "Recipes"}}}},
                               user_.access_token);
    EXPECT_EQ(wrong.status, 400) << wrong.body;

    auto consent = ConnectThroughConsent(
        user_, {{"platform", "pinterest"}, {"name", "Our boards"}, {"settings", {{"board_id", kBoard}}}});
    ASSERT_EQ(consent.authorize_url.rfind("https://www.pinterest.com/oauth/?", 0), 0u);
    EXPECT_EQ(consent.authorize["client_id"], kClientId);
    EXPECT_EQ(consent.authorize["response_type"], "code");
    EXPECT_EQ(consent.authorize["scope"], Data("authorize_params.json")["scope"]);
    EXPECT_EQ(consent.authorize["redirect_uri"], std::string(kPublicBase) + "/api/v1/oauth/pinterest/callback");
    ASSERT_EQ(consent.location.rfind("/?connected=", 0), 0u) << consent.location;
    const std::string account = consent.account_id;
    auto shown = client().Get("/api/v1/accounts/" + account, user_.access_token).Json();
    EXPECT_EQ(shown["platform"], "pinterest");
    EXPECT_EQ(shown["settings"]["username"], "heraldbrand");
    EXPECT_EQ(shown["settings"]["board_id"], kBoard);
    const auto exchange = pinterest_.RequestsTo("/v5/oauth/token").back();
    EXPECT_EQ(exchange.Field("grant_type"), "authorization_code");
    EXPECT_EQ(exchange.Field("continuous_refresh"), "true");

    // A Pin is an image: text alone is refused when the post is written.
    auto text_only =
        client().Post("/api/v1/posts", {{"text", "Words only"}, {"account_ids", {account}}}, user_.access_token);
    EXPECT_EQ(text_only.status, 400) << text_only.body;

    const std::string media = UploadSmallImage(user_, "A bowl of green salad on a wooden table");
    json post = {{"text", "Spring recipe roundup\nTen quick recipes for spring."},
                 {"account_ids", {account}},
                 {"media_ids", {media}}};
    post["scheduled_at"] = domain::FormatRfc3339(core::SystemClock().Now());
    auto made = client().Post("/api/v1/posts", post, user_.access_token);
    ASSERT_EQ(made.status, 201) << made.body;
    auto done = WaitForPostStatus(user_, made.Json().value("id", ""), "published", std::chrono::seconds(20));
    ASSERT_EQ(done["status"], "published") << done.dump();
    const std::string pin_id = Data("pin_created.json")["id"];
    EXPECT_EQ(done["deliveries"][0]["remote_id"], pin_id);
    EXPECT_EQ(done["deliveries"][0]["url"], "https://www.pinterest.com/pin/" + pin_id + "/");

    const auto pins = pinterest_.RequestsTo("/v5/pins");
    ASSERT_EQ(pins.size(), 1u);
    const json sent = pins[0].Json();
    EXPECT_EQ(pins[0].Header("authorization"), "Bearer pina_access_1");
    EXPECT_EQ(sent["board_id"], kBoard);
    EXPECT_EQ(sent["title"], "Spring recipe roundup");
    EXPECT_EQ(sent["description"], "Spring recipe roundup\nTen quick recipes for spring.");
    EXPECT_EQ(sent["alt_text"], "A bowl of green salad on a wooden table");
    EXPECT_EQ(sent["media_source"]["source_type"], "image_url");
    const std::string link = sent["media_source"].value("url", "");
    EXPECT_EQ(link.rfind(std::string(kPublicBase) + "/api/v1/public/media/" + media, 0), 0u) << link;
}

// ---- the adapter alone ------------------------------------------------------------------------

app::PublishMedia Image(const std::string& id, const std::string& alt, bool public_link = true) {
    app::PublishMedia m;
    m.id = id;
    m.kind = domain::MediaKind::kImage;
    m.format = domain::MediaFormat::kJpeg;
    m.path = std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media/small.png";
    m.alt_text = alt;
    if (public_link) m.public_url = "https://herald.example/media/" + id + ".jpg";
    return m;
}

app::PublishRequest Request(const std::string& text) {
    app::PublishRequest r;
    r.delivery_id = core::NewId(core::SystemClock().Now());
    r.idempotency_key = r.delivery_id;
    r.account_settings_json = json({{"board_id", kBoard}, {"username", "heraldbrand"}}).dump();
    r.credentials = json({{"access_token", "t"}}).dump();
    r.text = text;
    r.media.push_back(Image("salad", "A bowl of green salad on a wooden table"));
    return r;
}

const core::TimePoint kNow = core::FromUnixMillis(1'767'225'600'000);

TEST(PinterestAdapterTest, APinCarriesTheBoardTheWordsAndTheImageLink) {
    FakePlatform fake;
    fake.On("POST", "/v5/pins", [](const FakeRequest&) { return JsonAnswer(201, Data("pin_created.json")); });
    core::FakeClock clock(kNow);
    platforms::PinterestAdapter adapter(clock, AllowingFake(fake), fake.Url(), std::nullopt);
    const json expected = Data("pin_create_request_image_url.json");
    auto req = Request(expected["title"].get<std::string>() + "\n" + expected["description"].get<std::string>());
    req.account_settings_json =
        json({{"board_id", expected["board_id"]}, {"board_section_id", expected["board_section_id"]}}).dump();
    req.media = {Image("salad", expected["alt_text"].get<std::string>())};
    req.media[0].public_url = expected["media_source"]["url"].get<std::string>();
    auto outcome = adapter.Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::Published>(outcome));
    const std::string id = Data("pin_created.json")["id"];
    EXPECT_EQ(std::get<app::Published>(outcome).remote_id, id);
    EXPECT_EQ(std::get<app::Published>(outcome).url, "https://www.pinterest.com/pin/" + id + "/");

    const auto pins = fake.RequestsTo("/v5/pins");
    ASSERT_EQ(pins.size(), 1u);
    EXPECT_EQ(pins[0].Header("authorization"), "Bearer t");
    EXPECT_EQ(pins[0].Header("content-type"), "application/json");
    json sent = pins[0].Json();
    // The fixture's request, but the description is the whole text and Herald sets no link.
    json want = expected;
    want.erase("link");
    want["description"] = req.text;
    EXPECT_EQ(sent, want);

    // Two to five images make a carousel; a long first line is cut at 100 characters.
    auto carousel = Request(std::string(150, 'a'));
    carousel.media.push_back(Image("bowl", ""));
    ASSERT_TRUE(std::holds_alternative<app::Published>(adapter.Publish(carousel)));
    sent = fake.RequestsTo("/v5/pins").back().Json();
    EXPECT_EQ(sent["media_source"], json({{"source_type", "multiple_image_urls"},
                                          {"items",
                                           {{{"url", "https://herald.example/media/salad.jpg"}},
                                            {{"url", "https://herald.example/media/bowl.jpg"}}}},
                                          {"index", 0}}));
    EXPECT_EQ(sent["title"], std::string(99, 'a') + "\u2026");
    EXPECT_EQ(sent["description"], std::string(150, 'a'));
    EXPECT_EQ(sent["alt_text"], "A bowl of green salad on a wooden table");
}

TEST(PinterestAdapterTest, FailuresAreTypedAndSaid) {
    FakePlatform fake;
    fake.On("POST", "/v5/pins", [](const FakeRequest& r) {
        const std::string text = r.Json().value("description", "");
        if (text == "board") return JsonAnswer(404, Data("error_404_board.json"));
        if (text == "section") return JsonAnswer(404, Data("error_404_board_section.json"));
        if (text == "trial") return JsonAnswer(403, Data("error_403_trial_production.json"));
        if (text == "small") return JsonAnswer(403, Data("error_403_image_too_small.json"));
        if (text == "link") return JsonAnswer(400, Data("error_400_invalid_url.json"));
        if (text == "limit") return JsonAnswer(429, Data("error_429.json"));
        if (text == "spam") {
            json said = Data("error_429.json");
            said["message_detail"] = "This request was blocked as spam.";
            return JsonAnswer(429, said);
        }
        if (text == "expired") return JsonAnswer(401, Data("error_401.json"));
        if (text == "broken") return JsonAnswer(500, {{"code", 0}, {"message", "Internal error"}});
        return JsonAnswer(201, Data("pin_created.json"));
    });
    core::FakeClock clock(kNow);
    platforms::PinterestAdapter adapter(clock, AllowingFake(fake), fake.Url(), std::nullopt);
    auto rejected = [&](const app::PublishRequest& req) {
        auto outcome = adapter.Publish(req);
        EXPECT_TRUE(std::holds_alternative<app::Rejected>(outcome)) << req.text;
        return std::holds_alternative<app::Rejected>(outcome) ? std::get<app::Rejected>(outcome).reason : "";
    };

    EXPECT_NE(rejected(Request("board")).find("no board " + std::string(kBoard)), std::string::npos);
    EXPECT_NE(rejected(Request("section")).find("board_section_id"), std::string::npos);
    EXPECT_NE(rejected(Request("trial")).find("api-sandbox.pinterest.com"), std::string::npos);
    EXPECT_NE(rejected(Request("small")).find("Your image is too small"), std::string::npos);
    EXPECT_NE(rejected(Request("link")).find("public_base_url"), std::string::npos);
    EXPECT_NE(rejected(Request("spam")).find("spam"), std::string::npos);
    // No rate-limit headers are documented: a minute, then again.
    auto limited = adapter.Publish(Request("limit"));
    ASSERT_TRUE(std::holds_alternative<app::RateLimited>(limited));
    EXPECT_EQ(std::get<app::RateLimited>(limited).until, kNow + std::chrono::minutes(1));
    EXPECT_NE(std::get<app::RateLimited>(limited).reason.find("exceeded a rate limit"), std::string::npos);
    EXPECT_TRUE(std::holds_alternative<app::AuthExpired>(adapter.Publish(Request("expired"))));
    EXPECT_TRUE(std::holds_alternative<app::Unknown>(adapter.Publish(Request("broken"))));

    // What never reaches Pinterest: no image, no public link, a video.
    auto bare = Request("no image");
    bare.media.clear();
    EXPECT_NE(rejected(bare).find("needs an image"), std::string::npos);
    auto hidden = Request("private");
    hidden.media = {Image("salad", "", false)};
    EXPECT_NE(rejected(hidden).find("public_base_url"), std::string::npos);
    auto video = Request("clip");
    video.media[0].kind = domain::MediaKind::kVideo;
    EXPECT_NE(rejected(video).find("video"), std::string::npos);
    EXPECT_EQ(fake.RequestsTo("/v5/pins").size(), 9u);  // the nine above that were sent

    const auto limits = adapter.Limits();
    EXPECT_TRUE(limits.media.requires_media);
    EXPECT_TRUE(limits.media.pulls_from_url);
    EXPECT_EQ(limits.media.max_videos, 0);
    EXPECT_EQ(limits.max_text_chars, 800u);
    EXPECT_FALSE(adapter.OAuthReady());
}

TEST(PinterestAdapterTest, SettingsNameABoardAndConnectingAddsTheUsername) {
    FakePlatform fake;
    fake.On("GET", "/v5/user_account", [](const FakeRequest& r) {
        if (r.Header("authorization") != "Bearer good") return JsonAnswer(401, Data("error_401.json"));
        return JsonAnswer(200, Data("user_account.json"));
    });
    core::SystemClock clock;
    platforms::PinterestAdapter adapter(clock, AllowingFake(fake), fake.Url(), std::nullopt);
    EXPECT_TRUE(adapter.ValidateSettings(json({{"board_id", kBoard}}).dump()).has_value());
    EXPECT_TRUE(
        adapter.ValidateSettings(json({{"board_id", kBoard}, {"board_section_id", "4937392011"}}).dump()).has_value());
    auto missing = adapter.ValidateSettings("{}");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().details["field"], "settings.board_id");
    EXPECT_EQ(missing.error().details["rule"], "required");
    EXPECT_FALSE(adapter.ValidateSettings(json({{"board_id", "Recipes"}}).dump()).has_value());
    EXPECT_FALSE(adapter.ValidateSettings(json({{"board_id", kBoard}, {"board_section_id", "x"}}).dump()).has_value());
    EXPECT_FALSE(adapter.ValidateSettings(json({{"board_id", kBoard}, {"link", "x"}}).dump()).has_value());

    auto settings =
        adapter.VerifyConnection(json({{"board_id", kBoard}}).dump(), json({{"access_token", "good"}}).dump());
    ASSERT_TRUE(settings.has_value()) << settings.error().message;
    EXPECT_EQ(json::parse(*settings), json({{"board_id", kBoard}, {"username", "heraldbrand"}}));
    auto refused = adapter.VerifyConnection(json({{"board_id", kBoard}}).dump(), json({{"access_token", "x"}}).dump());
    ASSERT_FALSE(refused.has_value());
    EXPECT_NE(refused.error().message.find("Authentication failed."), std::string::npos);
}

TEST(PinterestAdapterTest, ARefusedRefreshMeansReconnecting) {
    FakePlatform fake;
    fake.On("POST", "/v5/oauth/token", [](const FakeRequest& r) {
        if (r.Header("authorization") != "Basic aWQ6c2VjcmV0") return JsonAnswer(401, Data("token_error.json"));
        const std::string refresh = r.Field("refresh_token");
        if (refresh == "revoked") return JsonAnswer(401, Data("token_error.json"));
        if (refresh == "busy") return JsonAnswer(503, {{"code", 0}, {"message", "Service unavailable"}});
        return JsonAnswer(200, Data("token_refreshed_continuous.json"));
    });
    core::FakeClock clock(kNow);
    platforms::PinterestAdapter adapter(clock, AllowingFake(fake), fake.Url(),
                                        std::optional<platforms::OAuthClient>{{"id", "secret"}});
    EXPECT_TRUE(adapter.OAuthReady());
    auto creds = [](const std::string& refresh) {
        return json({{"access_token", "a"}, {"refresh_token", refresh}}).dump();
    };

    auto renewed = adapter.RefreshGrant(creds("pinr_ExAmPlErEfReSh"));
    ASSERT_TRUE(renewed.has_value()) << renewed.error().message;
    const json fresh = Data("token_refreshed_continuous.json");
    const auto grant = json::parse(renewed->credentials_json);
    EXPECT_EQ(grant["access_token"], fresh["access_token"]);
    EXPECT_EQ(grant["refresh_token"], fresh["refresh_token"]);  // continuous: a new one each time
    EXPECT_EQ(grant["refresh_expires_at"], core::ToUnixMillis(kNow) / 1000 + 5184000);
    ASSERT_TRUE(renewed->refresh_at.has_value());
    EXPECT_EQ(*renewed->refresh_at, kNow + std::chrono::seconds(2592000 * 3 / 4));
    const auto call = fake.RequestsTo("/v5/oauth/token").back();
    EXPECT_EQ(call.Field("grant_type"), "refresh_token");
    EXPECT_EQ(call.Field("refresh_token"), "pinr_ExAmPlErEfReSh");

    auto revoked = adapter.RefreshGrant(creds("revoked"));
    ASSERT_FALSE(revoked.has_value());
    EXPECT_EQ(revoked.error().code, core::ErrorCode::kPermissionDenied);
    EXPECT_NE(revoked.error().message.find("reconnect the account"), std::string::npos);
    auto busy = adapter.RefreshGrant(creds("busy"));  // transient: tried again later
    ASSERT_FALSE(busy.has_value());
    EXPECT_EQ(busy.error().code, core::ErrorCode::kUnavailable);

    auto url = adapter.AuthorizeUrl("st", "challenge", "https://h/cb");
    ASSERT_TRUE(url.has_value());
    EXPECT_EQ(url->rfind("https://www.pinterest.com/oauth/?", 0), 0u) << *url;
    EXPECT_NE(url->find("scope=boards%3Aread%2Cpins%3Aread%2Cpins%3Awrite%2Cuser_accounts%3Aread"), std::string::npos)
        << *url;
}

}  // namespace
}  // namespace herald::testing
