// The Nostr adapter against a real relay on loopback (scripts/test-server.sh nostr), which
// checks every event's id and signature: connecting with a key, publishing a note with a
// hashtag, an image link with its alt text and a thread through the queue, reading the events
// back; a resend that finds its note instead of signing a second; relays that are down.

#include "platforms/nostr.hpp"

#include "core/ids.hpp"
#include "domain/time.hpp"
#include "platforms/websocket.hpp"
#include "server_fixture.hpp"
#include "test_servers.hpp"

namespace herald::testing {
namespace {

using nlohmann::json;

const std::string kSecret = "67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa";
const std::string kPubkey = "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e";

std::string PortOf(const std::string& url) { return url.substr(url.rfind(':') + 1); }

platforms::HttpOptions ToRelay(const std::string& relay) {
    platforms::HttpOptions o;
    o.guard_private = true;
    o.allowed = {"127.0.0.1:" + PortOf(relay)};
    return o;
}

// Every event the relay has from `author`, newest first, read as a Nostr client would.
std::vector<json> EventsOf(const std::string& relay, const std::string& author) {
    auto ws = platforms::WebSocket::Connect(relay, ToRelay(relay), std::chrono::seconds(5));
    EXPECT_TRUE(ws.has_value()) << ws.error().message;
    std::vector<json> out;
    if (!ws) return out;
    EXPECT_TRUE((*ws)->Send(json::array({"REQ", "read", {{"authors", {author}}}}).dump()).has_value());
    while (true) {
        auto msg = (*ws)->Receive(std::chrono::seconds(5));
        if (!msg || !*msg) break;
        auto j = json::parse(**msg);
        if (j[0] == "EOSE") break;
        if (j[0] == "EVENT") out.push_back(j[2]);
    }
    return out;
}

platforms::nostr::Event FromJson(const json& j) {
    platforms::nostr::Event e;
    e.id = j["id"];
    e.pubkey = j["pubkey"];
    e.created_at = j["created_at"];
    e.kind = j["kind"];
    e.tags = j["tags"].get<std::vector<std::vector<std::string>>>();
    e.content = j["content"];
    e.sig = j["sig"];
    return e;
}

bool HasTag(const json& event, const std::vector<std::string>& tag) {
    for (const auto& t : event["tags"]) {
        if (t.get<std::vector<std::string>>() == tag) return true;
    }
    return false;
}

class NostrTest : public ServerFixture {
  protected:
    void Configure(core::Config& c) override {
        c.platform_allowed_addresses = "127.0.0.1:" + PortOf(relay_);
        c.public_base_url = "https://media.example.test";
    }
    void SetUp() override {
        ServerFixture::SetUp();
        user_ = Register();
    }
    HttpResult Connect(const json& settings, const json& credentials) {
        return client().Post(
            "/api/v1/accounts",
            {{"platform", "nostr"}, {"name", "Nostr"}, {"settings", settings}, {"credentials", credentials}},
            user_.access_token);
    }
    std::string relay_ = NostrRelayTestUrl();
    TestUser user_;
};

TEST_F(NostrTest, ConnectingChecksTheKeyAndTheRelays) {
    auto bad_key = Connect({{"relays", {relay_}}}, {{"secret_key", "nsec1notakey"}});
    EXPECT_EQ(bad_key.status, 400) << bad_key.body;
    EXPECT_EQ(bad_key.Json()["error"]["details"]["field"], "credentials.secret_key");
    auto no_relays = Connect({{"relays", json::array()}}, {{"secret_key", kSecret}});
    EXPECT_EQ(no_relays.status, 400) << no_relays.body;
    auto http_relay = Connect({{"relays", {"https://relay.example"}}}, {{"secret_key", kSecret}});
    EXPECT_EQ(http_relay.status, 400) << http_relay.body;
    auto ok = Connect({{"relays", {relay_}}}, {{"secret_key", kSecret}});
    ASSERT_EQ(ok.status, 201) << ok.body;
    EXPECT_EQ(ok.Json()["settings"]["pubkey"], kPubkey);
    EXPECT_EQ(ok.Json()["settings"]["npub"], "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg");
    EXPECT_EQ(ok.body.find(kSecret), std::string::npos);
}

TEST_F(NostrTest, PublishesANoteWithMediaLinksAndAThreadThroughTheQueue) {
    // A key of its own, so that this test reads only its own events from the shared relay.
    const std::string secret = core::NewId(core::SystemClock().Now()).substr(0, 26) + std::string(38, '1');
    auto keys = platforms::nostr::ParseSecretKey(secret);
    ASSERT_TRUE(keys.has_value());
    auto connected = Connect({{"relays", {relay_}}}, {{"secret_key", secret}});
    ASSERT_EQ(connected.status, 201) << connected.body;
    const std::string account = connected.Json()["id"];

    const std::string png = ReadBinaryFile(std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media/small.png");
    const std::string boundary = "nostr-boundary";
    auto up = client().Request(
        "POST", "/api/v1/media",
        "--" + boundary + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"p.png\"\r\n\r\n" + png +
            "\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"alt_text\"\r\n\r\nA tiny picture\r\n--" +
            boundary + "--\r\n",
        {{"Content-Type", "multipart/form-data; boundary=" + boundary},
         {"Authorization", "Bearer " + user_.access_token}});
    ASSERT_EQ(up.status, 201) << up.body;
    const std::string media_id = up.Json()["items"][0]["id"];

    const std::string text = "Hello relays \"quoted\"\nsecond line #Herald";
    auto created = client().Post("/api/v1/posts",
                                 {{"text", text},
                                  {"account_ids", {account}},
                                  {"scheduled_at", domain::FormatRfc3339(core::SystemClock().Now())},
                                  {"media_ids", {media_id}},
                                  {"thread", {"and a reply"}}},
                                 user_.access_token);
    ASSERT_EQ(created.status, 201) << created.body;
    auto done = WaitForPostStatus(user_, created.Json()["id"], "published", std::chrono::seconds(30));
    ASSERT_EQ(done["status"], "published") << done.dump();
    const std::string id = done["deliveries"][0]["remote_id"];
    EXPECT_EQ(done["deliveries"][0]["url"].get<std::string>().rfind("https://njump.me/note1", 0), 0u);

    auto events = EventsOf(relay_, keys->pubkey);
    ASSERT_EQ(events.size(), 2u);
    json note, reply;
    for (const auto& e : events) (e["id"] == id ? note : reply) = e;
    ASSERT_FALSE(note.is_null());
    EXPECT_TRUE(platforms::nostr::Verify(FromJson(note)));
    EXPECT_TRUE(platforms::nostr::Verify(FromJson(reply)));
    const std::string content = note["content"];
    EXPECT_EQ(content.rfind(text + "\nhttps://media.example.test/api/v1/public/media/" + media_id + ".png?", 0), 0u)
        << content;
    EXPECT_TRUE(HasTag(note, {"t", "herald"}));
    bool imeta = false;
    for (const auto& t : note["tags"]) {
        if (t[0] != "imeta") continue;
        imeta = true;
        EXPECT_TRUE(std::find(t.begin(), t.end(), "alt A tiny picture") != t.end()) << t.dump();
        EXPECT_TRUE(std::find(t.begin(), t.end(), "m image/png") != t.end()) << t.dump();
        EXPECT_TRUE(std::find(t.begin(), t.end(), "dim 64x48") != t.end()) << t.dump();
    }
    EXPECT_TRUE(imeta) << note.dump();
    EXPECT_EQ(reply["content"], "and a reply");
    EXPECT_TRUE(HasTag(reply, {"e", id, "", "root"})) << reply.dump();
}

TEST(NostrAdapterTest, AResendFindsItsNoteAndDownRelaysAreNamed) {
    const std::string relay = NostrRelayTestUrl();
    core::SystemClock clock;
    const std::string down = "ws://127.0.0.1:1";
    auto options = ToRelay(relay);
    options.allowed.insert("127.0.0.1:1");
    platforms::NostrAdapter adapter(clock, options);
    const std::string secret = core::NewId(clock.Now()).substr(0, 26) + std::string(38, '2');
    auto keys = platforms::nostr::ParseSecretKey(secret);
    ASSERT_TRUE(keys.has_value());
    app::PublishRequest req;
    req.delivery_id = core::NewId(clock.Now());
    req.account_id = "a";
    req.account_settings_json = json({{"relays", {down, relay}}}).dump();
    req.credentials = json({{"secret_key", secret}}).dump();
    req.text = "once only";

    // With a relay down, "not there" cannot be known: the check fails rather than guess.
    auto unsure = adapter.Lookup(req);
    ASSERT_FALSE(unsure.has_value());
    EXPECT_NE(unsure.error().message.find("1 of 2"), std::string::npos) << unsure.error().message;
    auto only_up = req;
    only_up.account_settings_json = json({{"relays", {relay}}}).dump();
    auto before = adapter.Lookup(only_up);
    ASSERT_TRUE(before.has_value()) << before.error().message;
    EXPECT_FALSE(before->has_value());
    // One relay down, one up: published.
    auto first = adapter.Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::Published>(first));
    // A later attempt finds the note by its label instead of signing a second one.
    req.attempt = 2;
    req.account_settings_json = only_up.account_settings_json;
    auto again = adapter.Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::Published>(again));
    EXPECT_EQ(std::get<app::Published>(again).remote_id, std::get<app::Published>(first).remote_id);
    EXPECT_EQ(EventsOf(relay, keys->pubkey).size(), 1u);
    auto found = adapter.Lookup(req);
    ASSERT_TRUE(found.has_value() && found->has_value());
    EXPECT_EQ((*found)->remote_id, std::get<app::Published>(first).remote_id);

    // Every relay down: retried later, and the message names the relay.
    req.delivery_id = core::NewId(clock.Now());
    req.attempt = 1;
    req.account_settings_json = json({{"relays", {down}}}).dump();
    auto none = adapter.Publish(req);
    ASSERT_TRUE(std::holds_alternative<app::Retryable>(none));
    EXPECT_NE(std::get<app::Retryable>(none).reason.find(down), std::string::npos);
}

}  // namespace
}  // namespace herald::testing
