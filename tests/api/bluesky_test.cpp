// The Bluesky adapter against Bluesky's reference PDS on loopback (scripts/test-server.sh):
// connecting with an app password, publishing text with link, mention and hashtag facets,
// images with alt text and a thread through the queue, reading back what landed; the PDS's
// limits refused when the post is written; and a resend that cannot make a second post.

#include "platforms/bluesky.hpp"

#include <random>

#include "core/ids.hpp"
#include "domain/time.hpp"
#include "server_fixture.hpp"
#include "test_servers.hpp"

namespace herald::testing {
namespace {

using nlohmann::json;

std::string InSeconds(int64_t s) {
    return domain::FormatRfc3339(std::chrono::time_point_cast<core::Millis>(std::chrono::system_clock::now()) +
                                 std::chrono::seconds(s));
}

// A person on the PDS: their handle, did, password and an app password for Herald.
struct PdsUser {
    std::string handle;
    std::string did;
    std::string access;
    std::string app_password;
};

// Talks to the PDS directly, as a Bluesky client would, to set up and to read back.
class Pds {
  public:
    explicit Pds(std::string url) : url_(std::move(url)) {}
    const std::string& url() const { return url_; }

    platforms::HttpResponse Call(const std::string& method, const std::string& nsid, const json& body = nullptr,
                                 const std::string& token = "", const std::string& query = "") const {
        platforms::HttpRequest r;
        r.method = method;
        r.url = url_ + "/xrpc/" + nsid + (query.empty() ? "" : "?" + query);
        if (!body.is_null()) {
            r.headers.emplace_back("Content-Type", "application/json");
            r.body = body.dump();
        }
        if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + token);
        return http_.Send(r);
    }

    PdsUser NewUser() const {
        std::random_device rd;
        PdsUser u;
        u.handle = "u" + std::to_string(rd() % 1000000000) + ".test";
        auto made = Call("POST", "com.atproto.server.createAccount",
                         {{"handle", u.handle}, {"email", u.handle + "@example.com"}, {"password", "correct horse"}});
        EXPECT_EQ(made.status, 200) << made.body;
        u.did = made.Json().value("did", "");
        u.access = made.Json().value("accessJwt", "");
        auto app = Call("POST", "com.atproto.server.createAppPassword", {{"name", "herald"}}, u.access);
        EXPECT_EQ(app.status, 200) << app.body;
        u.app_password = app.Json().value("password", "");
        return u;
    }

    json Records(const PdsUser& u) const {
        auto r = Call("GET", "com.atproto.repo.listRecords", nullptr, "",
                      "repo=" + u.did + "&collection=app.bsky.feed.post&limit=100");
        EXPECT_EQ(r.status, 200) << r.body;
        return r.Json().value("records", json::array());
    }

  private:
    std::string url_;
    platforms::HttpClient http_;
};

std::string PortOf(const std::string& url) { return url.substr(url.rfind(':') + 1); }

class BlueskyTest : public ServerFixture {
  protected:
    void Configure(core::Config& c) override { c.platform_allowed_addresses = "127.0.0.1:" + PortOf(pds_.url()); }
    void SetUp() override {
        ServerFixture::SetUp();
        user_ = Register();
    }

    // Connects `u`'s Bluesky account to Herald; returns the Herald account's JSON.
    HttpResult Connect(const PdsUser& u, const std::string& app_password) {
        return client().Post("/api/v1/accounts",
                             {{"platform", "bluesky"},
                              {"name", "Bluesky " + u.handle},
                              {"settings", {{"service", pds_.url()}}},
                              {"credentials", {{"identifier", u.handle}, {"app_password", app_password}}}},
                             user_.access_token);
    }

    Pds pds_{PdsTestUrl()};
    TestUser user_;
};

TEST_F(BlueskyTest, ConnectingChecksTheAppPassword) {
    const auto u = pds_.NewUser();
    auto wrong = Connect(u, "aaaa-bbbb-cccc-dddd");
    EXPECT_EQ(wrong.status, 400) << wrong.body;
    EXPECT_NE(wrong.body.find("did not accept the app password for " + u.handle), std::string::npos) << wrong.body;
    auto ok = Connect(u, u.app_password);
    ASSERT_EQ(ok.status, 201) << ok.body;
    const auto account = ok.Json();
    EXPECT_EQ(account["settings"]["did"], u.did);
    EXPECT_EQ(account["settings"]["handle"], u.handle);
    EXPECT_EQ(ok.body.find(u.app_password), std::string::npos);  // never answered back
    auto listed = client().Get("/api/v1/accounts", user_.access_token);
    EXPECT_EQ(listed.body.find(u.app_password), std::string::npos);
}

TEST_F(BlueskyTest, PublishesTextFacetsImagesAndAThreadThroughTheQueue) {
    const auto u = pds_.NewUser();
    const auto friend_user = pds_.NewUser();
    auto connected = Connect(u, u.app_password);
    ASSERT_EQ(connected.status, 201) << connected.body;
    const std::string account = connected.Json()["id"];

    const std::string boundary = "bsky-test-boundary";
    const std::string form =
        "--" + boundary + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"cat.jpg\"\r\n\r\n" +
        ReadBinaryFile(std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media/small.jpg") + "\r\n--" + boundary +
        "\r\nContent-Disposition: form-data; name=\"alt_text\"\r\n\r\nA small test picture\r\n--" + boundary + "--\r\n";
    auto up = client().Request("POST", "/api/v1/media", form,
                               {{"Content-Type", "multipart/form-data; boundary=" + boundary},
                                {"Authorization", "Bearer " + user_.access_token}});
    ASSERT_EQ(up.status, 201) << up.body;
    const std::string media_id = up.Json()["items"][0]["id"];

    // "é" and "—" take two and three bytes: facets count bytes, not characters.
    const std::string text = "Café — read https://example.com/a?b=1, thanks @" + friend_user.handle + " #herald";
    auto created = client().Post("/api/v1/posts",
                                 {{"text", text},
                                  {"account_ids", {account}},
                                  {"scheduled_at", InSeconds(0)},
                                  {"media_ids", {media_id}},
                                  {"thread", {"second", "third"}}},
                                 user_.access_token);
    ASSERT_EQ(created.status, 201) << created.body;
    const std::string post_id = created.Json()["id"];
    auto done = WaitForPostStatus(user_, post_id, "published", std::chrono::seconds(30));
    ASSERT_EQ(done["status"], "published") << done.dump();
    const auto delivery = done["deliveries"][0];
    const std::string uri = delivery["remote_id"];
    EXPECT_EQ(uri.rfind("at://" + u.did + "/app.bsky.feed.post/", 0), 0u) << uri;
    const std::string rkey = uri.substr(uri.rfind('/') + 1);
    EXPECT_EQ(delivery["url"], "https://bsky.app/profile/" + u.handle + "/post/" + rkey);

    const auto records = pds_.Records(u);
    ASSERT_EQ(records.size(), 3u) << records.dump();
    json head, second, third;
    for (const auto& r : records) {
        const std::string t = r["value"]["text"];
        (t == text ? head : t == "second" ? second : third) = r;
    }
    ASSERT_FALSE(head.is_null());
    EXPECT_EQ(head["uri"], uri);
    const auto& v = head["value"];
    // The image, with its alt text and size.
    ASSERT_EQ(v["embed"]["$type"], "app.bsky.embed.images");
    EXPECT_EQ(v["embed"]["images"][0]["alt"], "A small test picture");
    EXPECT_EQ(v["embed"]["images"][0]["aspectRatio"], json({{"width", 64}, {"height", 48}}));
    EXPECT_EQ(v["embed"]["images"][0]["image"]["mimeType"], "image/jpeg");
    // Facets: each byte range holds what it names.
    std::map<std::string, std::string> seen;
    for (const auto& f : v["facets"]) {
        const size_t start = f["index"]["byteStart"], end = f["index"]["byteEnd"];
        const auto& feature = f["features"][0];
        seen[feature["$type"]] = text.substr(start, end - start);
        if (feature["$type"] == "app.bsky.richtext.facet#mention") {
            EXPECT_EQ(feature["did"], friend_user.did);
        } else if (feature["$type"] == "app.bsky.richtext.facet#link") {
            EXPECT_EQ(feature["uri"], "https://example.com/a?b=1");
        } else {
            EXPECT_EQ(feature["tag"], "herald");
        }
    }
    EXPECT_EQ(seen["app.bsky.richtext.facet#link"], "https://example.com/a?b=1");
    EXPECT_EQ(seen["app.bsky.richtext.facet#mention"], "@" + friend_user.handle);
    EXPECT_EQ(seen["app.bsky.richtext.facet#tag"], "#herald");
    // The thread: each reply answers the one before, all under the post.
    EXPECT_EQ(second["value"]["reply"]["root"]["uri"], uri);
    EXPECT_EQ(second["value"]["reply"]["parent"]["uri"], uri);
    EXPECT_EQ(third["value"]["reply"]["root"]["uri"], uri);
    EXPECT_EQ(third["value"]["reply"]["parent"]["uri"], second["uri"]);
    // The blob is really on the PDS.
    const std::string cid = v["embed"]["images"][0]["image"]["ref"]["$link"];
    auto blob = pds_.Call("GET", "com.atproto.sync.getBlob", nullptr, "", "did=" + u.did + "&cid=" + cid);
    EXPECT_EQ(blob.status, 200);
    EXPECT_EQ(blob.body, ReadBinaryFile(std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media/small.jpg"));
}

TEST_F(BlueskyTest, ThePdsLimitsAreRefusedWhenThePostIsWritten) {
    const auto u = pds_.NewUser();
    auto connected = Connect(u, u.app_password);
    ASSERT_EQ(connected.status, 201) << connected.body;
    const std::string account = connected.Json()["id"];
    auto post = [&](const std::string& text) {
        return client().Post("/api/v1/posts",
                             {{"text", text}, {"account_ids", {account}}, {"scheduled_at", InSeconds(3600)}},
                             user_.access_token);
    };
    // 301 characters: one too many.
    auto long_text = post(std::string(301, 'a'));
    ASSERT_EQ(long_text.status, 400) << long_text.body;
    EXPECT_EQ(long_text.Json()["error"]["details"]["rule"], "max_length");
    EXPECT_EQ(long_text.Json()["error"]["details"]["counted_in"], "graphemes");
    EXPECT_EQ(long_text.Json()["error"]["details"]["limit"], "300");
    // A family emoji is one character of 25 bytes: 300 of them are within 300 graphemes but
    // over Bluesky's 3,000 bytes.
    std::string families;
    for (int i = 0; i < 300; ++i)
        families += "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7";
    auto heavy = post(families);
    ASSERT_EQ(heavy.status, 400) << heavy.body;
    EXPECT_EQ(heavy.Json()["error"]["details"]["counted_in"], "utf8_bytes");
    // 300 of them in graphemes is fine where bytes allow: 100 family emoji (1,800 bytes).
    auto fits = post(families.substr(0, 100 * 18));
    EXPECT_EQ(fits.status, 201) << fits.body;
    // Nothing reached the PDS.
    EXPECT_EQ(pds_.Records(u).size(), 0u);
}

// The adapter alone: a resend of the same delivery (a lost answer) finds the record it made
// instead of making a second one, and Lookup sees it.
TEST(BlueskyAdapterTest, AResendCannotPublishTwice) {
    Pds pds(PdsTestUrl());
    const auto u = pds.NewUser();
    core::SystemClock clock;
    platforms::HttpOptions http;
    http.guard_private = true;
    http.allowed = {"127.0.0.1:" + PortOf(pds.url())};
    platforms::BlueskyAdapter adapter(clock, http);
    app::PublishRequest req;
    req.delivery_id = core::NewId(clock.Now());
    req.account_id = "acct-1";
    req.account_settings_json = json({{"service", pds.url()}}).dump();
    req.credentials = json({{"identifier", u.handle}, {"app_password", u.app_password}}).dump();
    req.text = "exactly once";
    req.idempotency_key = req.delivery_id;

    auto before = adapter.Lookup(req);
    ASSERT_TRUE(before.has_value()) << before.error().message;
    EXPECT_FALSE(before->has_value());
    auto first = adapter.Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::Published>(first));
    // The same request again as if nothing were known (attempt 1): the PDS refuses a second
    // record under the key, and the adapter finds the first.
    auto blind = adapter.Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::Published>(blind));
    EXPECT_EQ(std::get<app::Published>(blind).remote_id, std::get<app::Published>(first).remote_id);
    req.attempt = 2;
    auto again = adapter.Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::Published>(again));
    EXPECT_EQ(std::get<app::Published>(again).remote_id, std::get<app::Published>(first).remote_id);
    auto found = adapter.Lookup(req);
    ASSERT_TRUE(found.has_value() && found->has_value());
    EXPECT_EQ((*found)->remote_id, std::get<app::Published>(first).remote_id);
    EXPECT_EQ(pds.Records(u).size(), 1u);

    // A wrong app password is an authorization problem, said in words, not a crash or a retry.
    req.account_id = "acct-2";
    req.credentials = json({{"identifier", u.handle}, {"app_password", "wrong-wrong-wrong-wrong"}}).dump();
    auto refused = adapter.Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::AuthExpired>(refused));
    EXPECT_NE(std::get<app::AuthExpired>(refused).reason.find(u.handle), std::string::npos);
}

TEST(BlueskyAdapterTest, RecordKeysAreTidsFixedPerDeliveryAndItem) {
    const std::string id = "019a1b2c3d4e5f60718293a4b5";
    const auto k0 = platforms::BlueskyAdapter::RecordKey(id, 0);
    EXPECT_EQ(k0, platforms::BlueskyAdapter::RecordKey(id, 0));
    EXPECT_NE(k0, platforms::BlueskyAdapter::RecordKey(id, 1));
    EXPECT_NE(k0, platforms::BlueskyAdapter::RecordKey("019a1b2c3d4e5f60718293a4b6", 0));
    ASSERT_EQ(k0.size(), 13u);
    EXPECT_NE(std::string("234567abcdefghij").find(k0[0]), std::string::npos);  // top bit clear
    EXPECT_EQ(k0.find_first_not_of("234567abcdefghijklmnopqrstuvwxyz"), std::string::npos);
}

}  // namespace
}  // namespace herald::testing
