// LinkedIn against a local fake of its versioned REST API (tests/data/platforms/linkedin/, facts
// and sources in its README): the exact requests of a post with images (LinkedIn-Version,
// X-Restli-Protocol-Version, initializeUpload, the bytes, the post naming them), commentary in
// LinkedIn's "little" text format, each refusal typed and said (a retired API version, the
// daily limits, refused content, a revoked grant), the member learned at connect, renewal, and
// one account connected through the consent page that publishes through the queue.

#include "platforms/linkedin.hpp"

#include <mutex>
#include <set>

#include "core/ids.hpp"
#include "domain/time.hpp"
#include "fake_platform.hpp"
#include "server_fixture.hpp"

namespace herald::testing {
namespace {

using nlohmann::json;

json Data(const std::string& file) { return json::parse(PlatformData("linkedin", file)); }

constexpr const char* kVersion = "202601";
constexpr const char* kPersonUrn = "urn:li:person:HrLdDemo42";
const std::filesystem::path kMedia = std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media";

// 201 Created, an empty body, and the post's URN in x-restli-id (post_created.json).
FakeResponse Created(const std::string& urn) {
    FakeResponse r;
    r.status = 201;
    r.content_type.clear();
    r.headers = {{"x-restli-id", urn}};
    return r;
}

// initializeUpload, answered with an upload address on the fake itself.
void ServeImages(FakePlatform& fake) {
    fake.On("POST", "/rest/images", [&fake](const FakeRequest&) {
        json init = Data("image_initialize.json");
        init["value"]["uploadUrl"] = fake.Url("/dms-uploads/herald-upload-0001");
        return JsonAnswer(200, init);
    });
    fake.On("PUT", "/dms-uploads/", [](const FakeRequest&) {
        FakeResponse r;
        r.status = 201;
        r.content_type.clear();
        return r;
    });
}

app::PublishRequest Request(const std::string& text, json settings = {{"person_urn", kPersonUrn}}) {
    app::PublishRequest r;
    r.delivery_id = core::NewId(core::SystemClock().Now());
    r.idempotency_key = r.delivery_id;
    r.account_settings_json = settings.dump();
    r.credentials = json({{"access_token", "t"}}).dump();
    r.text = text;
    return r;
}

app::PublishMedia Image(const std::string& id, const std::string& file, const std::string& alt) {
    app::PublishMedia m;
    m.id = id;
    m.kind = domain::MediaKind::kImage;
    m.format = file.ends_with(".png") ? domain::MediaFormat::kPng : domain::MediaFormat::kJpeg;
    m.path = kMedia / file;
    m.bytes = std::filesystem::file_size(m.path);
    m.alt_text = alt;
    return m;
}

platforms::LinkedInAdapter Adapter(const core::Clock& clock, const FakePlatform& fake,
                                   std::optional<platforms::OAuthClient> client = std::nullopt) {
    return platforms::LinkedInAdapter(clock, AllowingFake(fake), fake.Url(), fake.Url(), kVersion, std::move(client));
}

void ExpectVersioned(const FakeRequest& r) {
    EXPECT_EQ(r.Header("linkedin-version"), kVersion);
    EXPECT_EQ(r.Header("x-restli-protocol-version"), "2.0.0");
    EXPECT_EQ(r.Header("authorization"), "Bearer t");
    EXPECT_EQ(r.Header("content-type"), "application/json");
}

// ---- the adapter alone ----------------------------------------------------------------------

TEST(LinkedInAdapterTest, PublishesAnImagePostWithExactlyTheDocumentedRequests) {
    FakePlatform fake;
    ServeImages(fake);
    const std::string urn = Data("post_created.json")["headers"]["x-restli-id"];
    fake.On("POST", "/rest/posts", [urn](const FakeRequest&) { return Created(urn); });
    core::SystemClock clock;
    auto adapter = Adapter(clock, fake);
    auto req = Request("Herald test post with an image");
    req.media.push_back(Image("m1", "small.png", "A lighthouse at dusk"));
    auto outcome = adapter.Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::Published>(outcome));
    const auto& published = std::get<app::Published>(outcome);
    EXPECT_EQ(published.remote_id, urn);
    EXPECT_EQ(published.url, "https://www.linkedin.com/feed/update/" + urn + "/");

    const auto init = fake.RequestsTo("/rest/images");
    ASSERT_EQ(init.size(), 1u);
    EXPECT_EQ(init[0].query.at("action"), "initializeUpload");
    ExpectVersioned(init[0]);
    EXPECT_EQ(init[0].Json(), Data("image_initialize_request.json"));
    const auto put = fake.RequestsTo("/dms-uploads/herald-upload-0001");
    ASSERT_EQ(put.size(), 1u);
    EXPECT_EQ(put[0].method, "PUT");
    EXPECT_EQ(put[0].body, ReadBinaryFile(kMedia / "small.png"));  // the bytes, as they are
    EXPECT_EQ(put[0].Header("authorization"), "Bearer t");
    const auto posts = fake.RequestsTo("/rest/posts");
    ASSERT_EQ(posts.size(), 1u);
    ExpectVersioned(posts[0]);
    EXPECT_EQ(posts[0].Json(), Data("post_image_request.json"));
}

TEST(LinkedInAdapterTest, TextPostsAreLittleTextAndSeveralImagesAreAMultiImagePost) {
    FakePlatform fake;
    ServeImages(fake);
    fake.On("POST", "/rest/posts", [](const FakeRequest&) { return Created("urn:li:share:1"); });
    core::SystemClock clock;
    auto adapter = Adapter(clock, fake);

    ASSERT_TRUE(std::holds_alternative<app::Published>(adapter.Publish(Request("Herald test post"))));
    EXPECT_EQ(fake.RequestsTo("/rest/posts").back().Json(), Data("post_request.json"));

    // Reserved characters are escaped, or LinkedIn would cut the post at the first one; links
    // and hashtags stay as they are.
    const std::string text = "Launch (beta) at 9 [CET] *now* #herald see https://example.com/a_b?(x) ~ @you \\ ok";
    ASSERT_TRUE(std::holds_alternative<app::Published>(adapter.Publish(Request(text))));
    EXPECT_EQ(fake.RequestsTo("/rest/posts").back().Json()["commentary"],
              "Launch \\(beta\\) at 9 \\[CET\\] \\*now\\* #herald see https://example.com/a_b?(x) \\~ \\@you \\\\ ok");
    EXPECT_EQ(platforms::LinkedInLittleText("a_b # #1 x#y <i>"), "a\\_b \\# #1 x\\#y \\<i\\>");

    auto two = Request("Two");
    two.media = {Image("m1", "small.png", "first"), Image("m2", "small.jpg", "")};
    ASSERT_TRUE(std::holds_alternative<app::Published>(adapter.Publish(two)));
    const auto body = fake.RequestsTo("/rest/posts").back().Json();
    EXPECT_FALSE(body["content"].contains("media"));
    const auto& images = body["content"]["multiImage"]["images"];
    ASSERT_EQ(images.size(), 2u);
    EXPECT_EQ(images[0]["id"], Data("image_initialize.json")["value"]["image"]);
    EXPECT_EQ(images[0]["altText"], "first");
    EXPECT_FALSE(images[1].contains("altText"));
    EXPECT_EQ(fake.RequestsTo("/dms-uploads/").back().body, ReadBinaryFile(kMedia / "small.jpg"));

    // As an organization's page: the page is the author, and owns the images.
    auto page = Request("From the page", {{"person_urn", kPersonUrn}, {"organization_id", "2414183"}});
    page.media = {Image("m1", "small.png", "")};
    ASSERT_TRUE(std::holds_alternative<app::Published>(adapter.Publish(page)));
    EXPECT_EQ(fake.RequestsTo("/rest/posts").back().Json()["author"], "urn:li:organization:2414183");
    EXPECT_EQ(fake.RequestsTo("/rest/images").back().Json()["initializeUploadRequest"]["owner"],
              "urn:li:organization:2414183");
}

TEST(LinkedInAdapterTest, FailuresAreTypedAndSaid) {
    FakePlatform fake;
    fake.On("POST", "/rest/posts", [](const FakeRequest& r) {
        const std::string text = r.Json().value("commentary", "");
        if (text == "old") return JsonAnswer(426, Data("error_426.json"));
        if (text == "limit") return JsonAnswer(429, Data("error_429.json"));
        if (text == "soon") return JsonAnswer(429, Data("error_429.json"), {{"Retry-After", "120"}});
        if (text == "expired") return JsonAnswer(401, Data("error_401.json"));
        if (text == "revoked") return JsonAnswer(401, Data("error_401_revoked.json"));
        if (text == "forbidden") return JsonAnswer(403, Data("error_403.json"));
        if (text == "broken") return JsonAnswer(500, {{"message", "Internal Server Error"}, {"status", 500}});
        if (text == "silent") return Created("");
        return JsonAnswer(422, Data("error_422.json"));
    });
    core::FakeClock clock(*domain::ParseRfc3339("2026-03-02T10:00:00Z"));
    auto adapter = Adapter(clock, fake);
    auto said = [&](const std::string& text) {
        auto outcome = adapter.Publish(Request(text));
        return platforms::ReasonOf(outcome);
    };

    auto old = adapter.Publish(Request("old"));
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(old));
    EXPECT_NE(
        std::get<app::Rejected>(old).reason.find("the LinkedIn API version Herald sends (202601) has been retired"),
        std::string::npos);
    EXPECT_NE(said("old").find("is not active"), std::string::npos);

    auto limited = adapter.Publish(Request("limit"));
    ASSERT_TRUE(std::holds_alternative<app::RateLimited>(limited));
    EXPECT_EQ(std::get<app::RateLimited>(limited).until, clock.Now() + std::chrono::minutes(15));
    EXPECT_NE(said("limit").find("midnight UTC"), std::string::npos);
    auto soon = adapter.Publish(Request("soon"));
    ASSERT_TRUE(std::holds_alternative<app::RateLimited>(soon));
    EXPECT_EQ(std::get<app::RateLimited>(soon).until, clock.Now() + std::chrono::seconds(120));

    EXPECT_TRUE(std::holds_alternative<app::AuthExpired>(adapter.Publish(Request("expired"))));
    auto revoked = adapter.Publish(Request("revoked"));
    ASSERT_TRUE(std::holds_alternative<app::AuthExpired>(revoked));
    EXPECT_NE(std::get<app::AuthExpired>(revoked).reason.find("revoked"), std::string::npos);

    auto forbidden = adapter.Publish(Request("forbidden"));
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(forbidden));
    EXPECT_NE(said("forbidden").find("w_member_social"), std::string::npos);
    auto invalid = adapter.Publish(Request("?"));
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(invalid));
    EXPECT_NE(said("?").find("/commentary :: field is required"), std::string::npos);
    EXPECT_EQ(said("?").back(), ')');  // LinkedIn's trailing newline is gone

    EXPECT_TRUE(std::holds_alternative<app::Unknown>(adapter.Publish(Request("broken"))));
    EXPECT_TRUE(std::holds_alternative<app::Unknown>(adapter.Publish(Request("silent"))));

    // Nothing sent: no member to post as, no token.
    const size_t sent = fake.RequestsTo("/rest/posts").size();
    auto nobody = adapter.Publish(Request("hi", json::object()));
    ASSERT_TRUE(std::holds_alternative<app::Rejected>(nobody));
    EXPECT_NE(std::get<app::Rejected>(nobody).reason.find("reconnect"), std::string::npos);
    auto no_token = Request("hi");
    no_token.credentials = "{}";
    EXPECT_TRUE(std::holds_alternative<app::AuthExpired>(adapter.Publish(no_token)));
    EXPECT_EQ(fake.RequestsTo("/rest/posts").size(), sent);

    // An image LinkedIn's upload refuses: nothing is posted; an unanswered upload is retried.
    fake.On("POST", "/rest/images", [](const FakeRequest&) { return JsonAnswer(503, {{"message", "busy"}}); });
    auto with_image = Request("pic");
    with_image.media = {Image("m1", "small.png", "")};
    EXPECT_TRUE(std::holds_alternative<app::Retryable>(adapter.Publish(with_image)));
    EXPECT_EQ(fake.RequestsTo("/rest/posts").size(), sent);
}

TEST(LinkedInAdapterTest, ConnectingLearnsTheMemberAndSettingsAreChecked) {
    FakePlatform fake;
    fake.On("GET", "/v2/userinfo", [](const FakeRequest& r) {
        if (r.Header("authorization") != "Bearer good") return JsonAnswer(401, Data("error_401.json"));
        return JsonAnswer(200, {{"sub", "HrLdDemo42"}, {"name", "Herald Demo"}, {"email_verified", true}});
    });
    core::SystemClock clock;
    auto adapter = Adapter(clock, fake);
    auto settings = adapter.VerifyConnection(json({{"organization_id", "2414183"}}).dump(),
                                             json({{"access_token", "good"}}).dump());
    ASSERT_TRUE(settings.has_value()) << settings.error().message;
    const auto kept = json::parse(*settings);
    EXPECT_EQ(kept["person_urn"], kPersonUrn);
    EXPECT_EQ(kept["name"], "Herald Demo");
    EXPECT_EQ(kept["organization_id"], "2414183");
    EXPECT_TRUE(adapter.ValidateSettings(*settings).has_value());

    auto refused = adapter.VerifyConnection("{}", json({{"access_token", "bad"}}).dump());
    ASSERT_FALSE(refused.has_value());
    EXPECT_NE(refused.error().message.find("Invalid access token"), std::string::npos);
    EXPECT_FALSE(adapter.VerifyConnection("{}", "{}").has_value());

    EXPECT_TRUE(adapter.ValidateSettings(json({{"organization_id", "urn:li:organization:5"}}).dump()).has_value());
    auto bad_org = adapter.ValidateSettings(json({{"organization_id", "acme"}}).dump());
    ASSERT_FALSE(bad_org.has_value());
    EXPECT_NE(bad_org.error().message.find("organization"), std::string::npos);
    EXPECT_FALSE(adapter.ValidateSettings(json({{"visibility", "PUBLIC"}}).dump()).has_value());

    const auto limits = adapter.Limits();
    EXPECT_EQ(limits.max_text_chars, 3000u);
    EXPECT_EQ(limits.media.max_videos, 0);
    EXPECT_FALSE(limits.first_comment);
    EXPECT_FALSE(adapter.Capabilities("{}").idempotent);
    EXPECT_FALSE(adapter.Capabilities("{}").lookup);
}

TEST(LinkedInAdapterTest, TheGrantIsTradedAndRenewedWithTheClientInTheForm) {
    FakePlatform fake;
    auto answer = std::make_shared<std::string>("token");
    fake.On("POST", "/oauth/v2/accessToken", [answer](const FakeRequest&) {
        if (*answer == "revoked") return JsonAnswer(400, {{"error", "invalid_grant"}, {"error_description", "gone"}});
        if (*answer == "bad") return JsonAnswer(400, Data("token_error.json"));
        return JsonAnswer(200, Data("token.json"));
    });
    core::SystemClock clock;
    auto adapter = Adapter(clock, fake, platforms::OAuthClient{"id", "secret"});
    ASSERT_TRUE(adapter.OAuthReady());

    auto url = adapter.AuthorizeUrl("st", "challenge", "https://herald.example.com/cb");
    ASSERT_TRUE(url.has_value());
    EXPECT_EQ(url->rfind("https://www.linkedin.com/oauth/v2/authorization?", 0), 0u) << *url;
    auto q = ParseQuery(url->substr(url->find('?') + 1));
    EXPECT_EQ(q["scope"], "openid profile w_member_social");
    EXPECT_EQ(q["client_id"], "id");
    EXPECT_EQ(q["response_type"], "code");

    auto grant = adapter.ExchangeCode("code", "verifier", "https://herald.example.com/cb");
    ASSERT_TRUE(grant.has_value()) << grant.error().message;
    EXPECT_EQ(json::parse(grant->credentials_json)["access_token"], Data("token.json")["access_token"]);
    ASSERT_TRUE(grant->refresh_at.has_value());
    const auto exchange = fake.RequestsTo("/oauth/v2/accessToken").back();
    EXPECT_EQ(exchange.Field("grant_type"), "authorization_code");
    EXPECT_EQ(exchange.Field("client_id"), "id");
    EXPECT_EQ(exchange.Field("client_secret"), "secret");
    EXPECT_EQ(exchange.Field("redirect_uri"), "https://herald.example.com/cb");
    EXPECT_EQ(exchange.Header("authorization"), "");

    auto renewed = adapter.RefreshGrant(grant->credentials_json);
    ASSERT_TRUE(renewed.has_value()) << renewed.error().message;
    EXPECT_EQ(fake.RequestsTo("/oauth/v2/accessToken").back().Field("refresh_token"),
              Data("token.json")["refresh_token"]);

    *answer = "revoked";
    auto gone = adapter.RefreshGrant(grant->credentials_json);
    ASSERT_FALSE(gone.has_value());
    EXPECT_EQ(gone.error().code, core::ErrorCode::kPermissionDenied);
    // Most apps get no refresh token at all: the member reconnects when the 60 days are over.
    auto none = adapter.RefreshGrant(json({{"access_token", "a"}}).dump());
    ASSERT_FALSE(none.has_value());
    EXPECT_EQ(none.error().code, core::ErrorCode::kPermissionDenied);
    *answer = "bad";
    auto wrong = adapter.ExchangeCode("code", "verifier", "https://herald.example.com/cb");
    ASSERT_FALSE(wrong.has_value());
    EXPECT_NE(wrong.error().message.find("authorization code expired"), std::string::npos);
}

// ---- through the server: connect on LinkedIn's page, publish through the queue ---------------

constexpr const char* kPublicBase = "https://herald.example.com";

class LinkedInTest : public ServerFixture {
  protected:
    void Configure(core::Config& c) override {
        c.platform_allowed_addresses = li_.Address();
        c.platform_base_urls = "linkedin=" + li_.Url() + ",linkedin_oauth=" + li_.Url();
        c.oauth_clients = "linkedin=li-client:li-secret";
        c.public_base_url = kPublicBase;
        c.retry_base_seconds = 1;
    }
    void SetUp() override {
        li_.On("POST", "/oauth/v2/accessToken", [](const FakeRequest& r) {
            const bool ok = r.Field("grant_type") == "authorization_code" && r.Field("code") == "good-code" &&
                            r.Field("client_id") == "li-client" && r.Field("client_secret") == "li-secret" &&
                            r.Field("redirect_uri") == std::string(kPublicBase) + "/api/v1/oauth/linkedin/callback";
            if (!ok) return JsonAnswer(400, Data("token_error.json"));
            return JsonAnswer(200, Data("token.json"));
        });
        const std::string token = "Bearer " + Data("token.json")["access_token"].get<std::string>();
        li_.On("GET", "/v2/userinfo", [token](const FakeRequest& r) {
            if (r.Header("authorization") != token) return JsonAnswer(401, Data("error_401.json"));
            return JsonAnswer(200, {{"sub", "HrLdDemo42"}, {"name", "Herald Demo"}});
        });
        ServeImages(li_);
        li_.On("POST", "/rest/posts", [token](const FakeRequest& r) {
            if (r.Header("authorization") != token) return JsonAnswer(401, Data("error_401.json"));
            return Created("urn:li:share:7300000000000000101");
        });
        ServerFixture::SetUp();
        user_ = Register();
    }

    FakePlatform li_;
    TestUser user_;
};

TEST_F(LinkedInTest, ConnectsThroughTheConsentPageAndPublishesAnImagePost) {
    auto consent =
        ConnectThroughConsent(user_, {{"platform", "linkedin"}, {"name", "Our LinkedIn"}, {"return_to", "/accounts"}});
    ASSERT_EQ(consent.authorize_url.rfind("https://www.linkedin.com/oauth/v2/authorization?", 0), 0u);
    EXPECT_EQ(consent.authorize["client_id"], "li-client");
    EXPECT_EQ(consent.authorize["redirect_uri"], std::string(kPublicBase) + "/api/v1/oauth/linkedin/callback");
    ASSERT_EQ(consent.location.rfind("/accounts?connected=", 0), 0u) << consent.location;
    const std::string account = consent.account_id;
    auto shown = client().Get("/api/v1/accounts/" + account, user_.access_token);
    ASSERT_EQ(shown.status, 200) << shown.body;
    EXPECT_EQ(shown.Json()["platform"], "linkedin");
    EXPECT_EQ(shown.Json()["settings"]["person_urn"], kPersonUrn);
    EXPECT_EQ(shown.body.find(Data("token.json")["access_token"].get<std::string>()), std::string::npos);

    const std::string media = UploadSmallImage(user_, "A lighthouse at dusk");
    json post = {{"text", "Herald test post with an image"}, {"account_ids", {account}}, {"media_ids", {media}}};
    post["scheduled_at"] = domain::FormatRfc3339(core::SystemClock().Now());
    auto created = client().Post("/api/v1/posts", post, user_.access_token);
    ASSERT_EQ(created.status, 201) << created.body;
    auto done = WaitForPostStatus(user_, created.Json().value("id", ""), "published", std::chrono::seconds(20));
    ASSERT_EQ(done["status"], "published") << done.dump();
    EXPECT_EQ(done["deliveries"][0]["url"], "https://www.linkedin.com/feed/update/urn:li:share:7300000000000000101/");

    const auto posts = li_.RequestsTo("/rest/posts");
    ASSERT_EQ(posts.size(), 1u);
    EXPECT_EQ(posts[0].Json(), Data("post_image_request.json"));
    const std::string version = posts[0].Header("linkedin-version");
    EXPECT_EQ(version.size(), 6u) << version;  // YYYYMM
    EXPECT_EQ(version.find_first_not_of("0123456789"), std::string::npos) << version;
    EXPECT_EQ(posts[0].Header("x-restli-protocol-version"), "2.0.0");
    EXPECT_EQ(li_.RequestsTo("/dms-uploads/").back().body, ReadBinaryFile(kMedia / "small.png"));
}

}  // namespace
}  // namespace herald::testing
