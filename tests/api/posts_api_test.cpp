#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "domain/time.hpp"
#include "server_fixture.hpp"

namespace herald::testing {
namespace {

std::string InSeconds(int64_t s) {
    auto now = std::chrono::time_point_cast<core::Millis>(std::chrono::system_clock::now());
    return domain::FormatRfc3339(now + std::chrono::seconds(s));
}

class PostsApi : public ServerFixture {
  protected:
    void SetUp() override {
        ServerFixture::SetUp();
        user_ = Register();
        account_ = SandboxAccount(user_);
    }
    HttpResult Create(nlohmann::json body) { return client().Post("/api/v1/posts", body, user_.access_token); }
    size_t PostCount() { return client().Get("/api/v1/posts", user_.access_token).Json()["items"].size(); }

    TestUser user_;
    std::string account_;
};

TEST_F(PostsApi, DraftHasNoTimeAndNoJob) {
    auto r = Create({{"text", "later"}, {"account_ids", {account_}}});
    ASSERT_EQ(r.status, 201) << r.body;
    auto j = r.Json();
    EXPECT_EQ(j["status"], "draft");
    EXPECT_TRUE(j["scheduled_at"].is_null());
    ASSERT_EQ(j["deliveries"].size(), 1u);
    EXPECT_EQ(j["deliveries"][0]["status"], "draft");
    EXPECT_EQ(j["deliveries"][0]["account_id"], account_);
    EXPECT_TRUE(j["deliveries"][0]["remote_id"].is_null());
    EXPECT_EQ(client().Get("/api/v1/posts/" + j["id"].get<std::string>(), user_.access_token).Json(), j);
}

TEST_F(PostsApi, LocalTimesResolveInTheirZoneIncludingDstEdges) {
    struct Case {
        std::string local, zone, instant;
    };
    for (const auto& c : std::vector<Case>{{"2030-12-01T09:00", "Europe/Berlin", "2030-12-01T08:00:00Z"},
                                           {"2030-03-31T02:30", "Europe/Berlin", "2030-03-31T01:00:00Z"},  // gap
                                           {"2030-10-27T02:30", "Europe/Berlin", "2030-10-27T00:30:00Z"},  // overlap
                                           {"2030-07-04T12:00", "America/New_York", "2030-07-04T16:00:00Z"}}) {
        auto r = Create({{"text", "t"}, {"account_ids", {account_}}, {"local_time", c.local}, {"timezone", c.zone}});
        ASSERT_EQ(r.status, 201) << r.body;
        auto j = r.Json();
        EXPECT_EQ(j["scheduled_at"], c.instant) << c.local << " " << c.zone;
        EXPECT_EQ(j["local_time"], c.local);
        EXPECT_EQ(j["timezone"], c.zone);
        EXPECT_EQ(j["status"], "scheduled");
        EXPECT_EQ(j["deliveries"][0]["status"], "scheduled");
    }
}

TEST_F(PostsApi, ValidationErrorsNameFieldAndRuleAndWriteNothing) {
    const std::string long_text(501, 'x');
    struct Case {
        nlohmann::json body;
        std::string field, rule;
    };
    const std::vector<Case> cases = {
        {{{"text", long_text}, {"account_ids", {account_}}}, "text", "max_length"},
        {{{"text", "ok"}, {"variants", {{"sandbox", long_text}}}, {"account_ids", {account_}}},
         "variants.sandbox",
         "max_length"},
        {{{"text", "ok"}, {"variants", {{"myspace", "hi"}}}, {"account_ids", {account_}}},
         "variants.myspace",
         "known_platform"},
        {{{"text", ""}, {"account_ids", {account_}}}, "text", "required"},
        {{{"account_ids", {account_}}}, "text", "required"},
        {{{"text", 5}, {"account_ids", {account_}}}, "text", "type"},
        {{{"text", "ok"}, {"account_ids", account_}}, "account_ids", "type"},
        {{{"text", "ok"}, {"account_ids", nlohmann::json::array()}}, "account_ids", "required"},
        {{{"text", "ok"}, {"account_ids", {account_, account_}}}, "account_ids[1]", "unique"},
        {{{"text", "ok"}, {"account_ids", {"01a2000000000000000000000f"}}}, "account_ids[0]", "existing_account"},
        {{{"text", "ok"}, {"account_ids", {account_}}, {"colour", "red"}}, "colour", "unknown_field"},
        {{{"text", "ok"}, {"account_ids", {account_}}, {"scheduled_at", "tomorrow"}}, "scheduled_at", "rfc3339"},
        {{{"text", "ok"}, {"account_ids", {account_}}, {"scheduled_at", "2030-01-01T09:00:00"}},
         "scheduled_at",
         "rfc3339"},
        {{{"text", "ok"}, {"account_ids", {account_}}, {"scheduled_at", "2020-01-01T09:00:00Z"}},
         "scheduled_at",
         "not_in_past"},
        {{{"text", "ok"},
          {"account_ids", {account_}},
          {"scheduled_at", InSeconds(60)},
          {"local_time", "2030-01-01T09:00"}},
         "scheduled_at",
         "one_of"},
        {{{"text", "ok"}, {"account_ids", {account_}}, {"local_time", "2030-01-01T09:00"}}, "timezone", "required"},
        {{{"text", "ok"},
          {"account_ids", {account_}},
          {"local_time", "2030-01-01T09:00"},
          {"timezone", "Europe/Nowhere"}},
         "timezone",
         "iana_time_zone"},
        {{{"text", "ok"}, {"account_ids", {account_}}, {"local_time", "9am"}, {"timezone", "Europe/Berlin"}},
         "local_time",
         "local_date_time"},
    };
    for (const auto& c : cases) {
        auto r = Create(c.body);
        ASSERT_EQ(r.status, 400) << c.body.dump() << " → " << r.body;
        auto e = r.Json()["error"];
        EXPECT_EQ(e["code"], "invalid_argument");
        EXPECT_EQ(e["details"]["field"], c.field) << r.body;
        EXPECT_EQ(e["details"]["rule"], c.rule) << r.body;
        EXPECT_FALSE(e["message"].get<std::string>().empty());
    }
    auto over = Create({{"text", long_text}, {"account_ids", {account_}}}).Json()["error"];
    EXPECT_NE(over["message"].get<std::string>().find("at most 500"), std::string::npos) << over.dump();
    EXPECT_EQ(PostCount(), 0u);
}

TEST_F(PostsApi, MalformedOversizedAndMistypedBodiesAreRefused) {
    auto malformed = client().Request("POST", "/api/v1/posts", "{\"text\": \"unterminated",
                                      {{"Authorization", "Bearer " + user_.access_token}});
    EXPECT_EQ(malformed.status, 400);
    EXPECT_EQ(malformed.Json()["error"]["details"]["rule"], "json");
    auto array =
        client().Request("POST", "/api/v1/posts", "[1,2]", {{"Authorization", "Bearer " + user_.access_token}});
    EXPECT_EQ(array.status, 400);
    const std::string huge = "{\"text\":\"" + std::string(2 << 20, 'x') + "\",\"account_ids\":[\"" + account_ + "\"]}";
    auto big = client().Request("POST", "/api/v1/posts", huge, {{"Authorization", "Bearer " + user_.access_token}});
    EXPECT_EQ(big.status, 413);
    EXPECT_EQ(big.Json()["error"]["code"], "payload_too_large");
    auto form = client().Request(
        "POST", "/api/v1/posts", "text=hi",
        {{"Authorization", "Bearer " + user_.access_token}, {"Content-Type", "application/x-www-form-urlencoded"}});
    EXPECT_EQ(form.status, 415);
    auto method = client().Request("PUT", "/api/v1/posts", "", {{"Authorization", "Bearer " + user_.access_token}});
    EXPECT_EQ(method.status, 405);
    EXPECT_NE(method.headers["allow"].find("POST"), std::string::npos);
    EXPECT_EQ(client().Get("/api/v1/nothing-here", user_.access_token).status, 404);
    EXPECT_EQ(PostCount(), 0u);
}

TEST_F(PostsApi, UpdateRescheduleUnscheduleAndDelete) {
    auto created = Create({{"text", "v1"}, {"account_ids", {account_}}, {"scheduled_at", InSeconds(3600)}});
    ASSERT_EQ(created.status, 201);
    const std::string id = created.Json()["id"];
    const std::string delivery = created.Json()["deliveries"][0]["id"];

    auto text = client().Patch("/api/v1/posts/" + id, {{"text", "v2"}}, user_.access_token);
    ASSERT_EQ(text.status, 200) << text.body;
    EXPECT_EQ(text.Json()["text"], "v2");
    EXPECT_EQ(text.Json()["scheduled_at"], created.Json()["scheduled_at"]);  // untouched fields stay
    EXPECT_EQ(text.Json()["deliveries"][0]["id"], delivery);                 // same delivery, same identity

    auto zoned = client().Patch("/api/v1/posts/" + id, {{"local_time", "2031-01-01T10:00"}, {"timezone", "Asia/Tokyo"}},
                                user_.access_token);
    ASSERT_EQ(zoned.status, 200) << zoned.body;
    EXPECT_EQ(zoned.Json()["scheduled_at"], "2031-01-01T01:00:00Z");

    auto draft =
        client().Patch("/api/v1/posts/" + id,
                       {{"scheduled_at", nullptr}, {"local_time", nullptr}, {"timezone", nullptr}}, user_.access_token);
    ASSERT_EQ(draft.status, 200) << draft.body;
    EXPECT_EQ(draft.Json()["status"], "draft");
    EXPECT_TRUE(draft.Json()["scheduled_at"].is_null());

    auto invalid = client().Patch("/api/v1/posts/" + id, {{"text", std::string(600, 'y')}}, user_.access_token);
    EXPECT_EQ(invalid.status, 400);
    EXPECT_EQ(client().Get("/api/v1/posts/" + id, user_.access_token).Json()["text"], "v2");  // nothing written

    EXPECT_EQ(client().Delete("/api/v1/posts/" + id, user_.access_token).status, 204);
    EXPECT_EQ(client().Get("/api/v1/posts/" + id, user_.access_token).status, 404);
    EXPECT_EQ(client().Delete("/api/v1/posts/" + id, user_.access_token).status, 404);
}

TEST_F(PostsApi, ScheduledTwoSecondsAheadIsPublishedOnTime) {
    const auto before = std::chrono::system_clock::now();
    auto created = Create({{"text", "on the second"}, {"account_ids", {account_}}, {"scheduled_at", InSeconds(2)}});
    ASSERT_EQ(created.status, 201) << created.body;
    const std::string id = created.Json()["id"];
    auto done = WaitForPostStatus(user_, id, "published", std::chrono::seconds(15));
    ASSERT_EQ(done["status"], "published") << done.dump();
    auto d = done["deliveries"][0];
    EXPECT_EQ(d["attempts"], 1);
    EXPECT_FALSE(d["remote_id"].get<std::string>().empty());
    EXPECT_NE(d["url"].get<std::string>().find(d["remote_id"].get<std::string>()), std::string::npos);
    const auto scheduled = *domain::ParseRfc3339(done["scheduled_at"].get<std::string>());
    const auto published = *domain::ParseRfc3339(d["published_at"].get<std::string>());
    const auto lateness = std::chrono::duration_cast<std::chrono::milliseconds>(published - scheduled).count();
    RecordProperty("lateness_ms", std::to_string(lateness));
    std::cout << "[ lateness ] scheduled → published: " << lateness << " ms\n";
    EXPECT_GE(lateness, 0) << "published before its time";
    EXPECT_LT(lateness, 1000) << "the scheduler should wake at the due time, not poll";
    EXPECT_GE(std::chrono::system_clock::now() - before, std::chrono::milliseconds(1500));

    auto sandbox = client().Get("/api/v1/accounts/" + account_ + "/sandbox/posts", user_.access_token).Json()["items"];
    ASSERT_EQ(sandbox.size(), 1u);
    EXPECT_EQ(sandbox[0]["text"], "on the second");
    EXPECT_EQ(sandbox[0]["remote_id"], d["remote_id"]);

    // Published posts are history: no edits, no deletion.
    auto edit = client().Patch("/api/v1/posts/" + id, {{"text", "changed"}}, user_.access_token);
    EXPECT_EQ(edit.status, 409);
    EXPECT_EQ(edit.Json()["error"]["code"], "failed_precondition");
    EXPECT_NE(edit.Json()["error"]["message"].get<std::string>().find("published"), std::string::npos);
    EXPECT_EQ(client().Delete("/api/v1/posts/" + id, user_.access_token).status, 409);
}

TEST_F(PostsApi, VariantsGoToTheirPlatform) {
    auto r = Create({{"text", "generic"},
                     {"variants", {{"sandbox", "sandbox flavoured"}}},
                     {"account_ids", {account_}},
                     {"scheduled_at", InSeconds(0)}});
    ASSERT_EQ(r.status, 201) << r.body;
    auto done = WaitForPostStatus(user_, r.Json()["id"], "published", std::chrono::seconds(10));
    ASSERT_EQ(done["status"], "published");
    auto sandbox = client().Get("/api/v1/accounts/" + account_ + "/sandbox/posts", user_.access_token).Json()["items"];
    ASSERT_EQ(sandbox.size(), 1u);
    EXPECT_EQ(sandbox[0]["text"], "sandbox flavoured");
}

TEST_F(PostsApi, ListFiltersAndPaginatesWithACursor) {
    const std::string other = SandboxAccount(user_, nlohmann::json::object(), "second");
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) {
        auto r = Create({{"text", "p" + std::to_string(i)},
                         {"account_ids", {i % 2 == 0 ? account_ : other}},
                         {"scheduled_at", InSeconds(3600 * (i + 1))}});
        ASSERT_EQ(r.status, 201);
        ids.push_back(r.Json()["id"]);
    }
    ASSERT_EQ(Create({{"text", "draft"}, {"account_ids", {account_}}}).status, 201);

    std::vector<std::string> seen;
    std::string cursor;
    int pages = 0;
    do {
        auto r =
            client().Get("/api/v1/posts?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor), user_.access_token);
        ASSERT_EQ(r.status, 200) << r.body;
        const auto page = r.Json();
        for (const auto& p : page["items"]) seen.push_back(p["id"]);
        cursor = page["next_cursor"].is_null() ? "" : page["next_cursor"].get<std::string>();
        ++pages;
    } while (!cursor.empty() && pages < 10);
    EXPECT_EQ(seen.size(), 6u);
    EXPECT_TRUE(std::is_sorted(seen.rbegin(), seen.rend()));  // newest first
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 6u);

    EXPECT_EQ(client().Get("/api/v1/posts?status=draft", user_.access_token).Json()["items"].size(), 1u);
    EXPECT_EQ(client().Get("/api/v1/posts?status=scheduled", user_.access_token).Json()["items"].size(), 5u);
    EXPECT_EQ(client().Get("/api/v1/posts?account_id=" + other, user_.access_token).Json()["items"].size(), 2u);
    auto window = client().Get("/api/v1/posts?from=" + InSeconds(3600 * 2 - 60) + "&to=" + InSeconds(3600 * 4 - 60),
                               user_.access_token);
    ASSERT_EQ(window.status, 200) << window.body;
    EXPECT_EQ(window.Json()["items"].size(), 2u);
    EXPECT_EQ(client().Get("/api/v1/posts?status=sent", user_.access_token).status, 400);
    EXPECT_EQ(client().Get("/api/v1/posts?limit=0", user_.access_token).status, 400);
    EXPECT_EQ(client().Get("/api/v1/posts?cursor=xyz", user_.access_token).status, 400);
    EXPECT_EQ(client().Get("/api/v1/posts?sort=asc", user_.access_token).status, 400);
}

class PostsApiFastRetry : public PostsApi {
  protected:
    void Configure(core::Config& c) override { c.retry_base_seconds = 1; }
};

// A platform that refuses an account's grant holds that account, not just one post: its
// posts wait (paused, reconnect_required) instead of failing one by one, other accounts go
// on, and reconnecting the account sends them.
TEST_F(PostsApiFastRetry, ARefusedGrantHoldsTheAccountUntilItIsReconnected) {
    const std::string revoked = SandboxAccount(user_, {{"mode", "auth_expired"}});
    const std::string fine = SandboxAccount(user_);
    auto post = [&](const std::string& account) {
        auto r = Create({{"text", "x"}, {"account_ids", {account}}, {"scheduled_at", InSeconds(0)}});
        EXPECT_EQ(r.status, 201) << r.body;
        return r.Json().value("id", "");
    };
    const std::string first = post(revoked), second = post(revoked), other = post(fine);
    EXPECT_EQ(WaitForPostStatus(user_, other, "published", std::chrono::seconds(10))["status"], "published");

    auto held = [&] {
        const auto pauses = client().Get("/api/v1/queue/pauses", user_.access_token).Json();
        for (const auto& p : pauses["items"]) {
            if (p["account_id"] == revoked) return p.value("reason", "");
        }
        return std::string();
    };
    for (int i = 0; i < 200 && held().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(held(), "reconnect_required: the sandbox no longer accepts the account's token (mode auth_expired)");
    auto shown = client().Get("/api/v1/accounts/" + revoked, user_.access_token).Json();
    EXPECT_EQ(shown["reconnect_required"], "the sandbox no longer accepts the account's token (mode auth_expired)");
    EXPECT_TRUE(client().Get("/api/v1/accounts/" + fine, user_.access_token).Json()["reconnect_required"].is_null());
    // Past the retry delay (1 s here), nothing failed and nothing went: they wait.
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    for (const auto& id : {first, second}) {
        auto p = client().Get("/api/v1/posts/" + id, user_.access_token).Json();
        EXPECT_EQ(p["deliveries"][0]["status"], "scheduled") << p.dump();
    }
    auto waiting = client().Get("/api/v1/posts/" + first, user_.access_token).Json()["deliveries"][0];
    if (waiting["attempts"] == 1) {
        EXPECT_EQ(waiting["error"],
                  "waiting for the account to be reconnected: the sandbox no longer accepts the "
                  "account's token (mode auth_expired)");
    }

    auto missing =
        client().Put("/api/v1/accounts/" + revoked + "/credentials", nlohmann::json::object(), user_.access_token);
    EXPECT_EQ(missing.status, 400) << missing.body;
    // The new grant works: the sandbox is told so through the settings the call may also set.
    auto reconnected =
        client().Put("/api/v1/accounts/" + revoked + "/credentials",
                     {{"credentials", {{"token", "a-new-grant"}}}, {"settings", {{"mode", "ok"}}}}, user_.access_token);
    ASSERT_EQ(reconnected.status, 200) << reconnected.body;
    EXPECT_EQ(reconnected.body.find("a-new-grant"), std::string::npos);
    EXPECT_TRUE(held().empty());
    EXPECT_TRUE(reconnected.Json()["reconnect_required"].is_null());
    for (const auto& id : {first, second}) {
        auto done = WaitForPostStatus(user_, id, "published", std::chrono::seconds(10));
        EXPECT_EQ(done["status"], "published") << done.dump();
    }
    auto unknown = client().Put("/api/v1/accounts/01a20ce7f23f5ce4d1407945ff/credentials",
                                {{"credentials", {{"token", "x"}}}}, user_.access_token);
    EXPECT_EQ(unknown.status, 404);
}

TEST_F(PostsApiFastRetry, EachSandboxBehaviourEndsInTheRightState) {
    const std::string reject = SandboxAccount(user_, {{"mode", "reject"}, {"reject_reason", "links are not allowed"}});
    const std::string flaky = SandboxAccount(user_, {{"mode", "transient"}, {"fail_attempts", 1}});
    const std::string mute = SandboxAccount(user_, {{"mode", "timeout_after_accept"}, {"dedupe", "none"}});
    const std::string limited = SandboxAccount(user_, {{"mode", "rate_limit"}, {"retry_after_seconds", 3600}});
    auto post = [&](const std::string& account) {
        auto r = Create({{"text", "x"}, {"account_ids", {account}}, {"scheduled_at", InSeconds(0)}});
        EXPECT_EQ(r.status, 201) << r.body;
        return r.Json().value("id", "");
    };
    const std::string p_reject = post(reject), p_flaky = post(flaky), p_mute = post(mute), p_limited = post(limited);

    auto failed = WaitForPostStatus(user_, p_reject, "failed", std::chrono::seconds(10));
    ASSERT_EQ(failed["status"], "failed");
    EXPECT_EQ(failed["deliveries"][0]["error"], "links are not allowed");

    auto retried = WaitForPostStatus(user_, p_flaky, "published", std::chrono::seconds(15));
    ASSERT_EQ(retried["status"], "published") << retried.dump();
    EXPECT_EQ(retried["deliveries"][0]["attempts"], 2);

    auto unconfirmed = WaitForPostStatus(user_, p_mute, "unconfirmed", std::chrono::seconds(10));
    ASSERT_EQ(unconfirmed["status"], "unconfirmed");
    EXPECT_NE(unconfirmed["deliveries"][0]["error"].get<std::string>().find("may or may not"), std::string::npos);
    EXPECT_EQ(client().Get("/api/v1/accounts/" + mute + "/sandbox/posts", user_.access_token).Json()["items"].size(),
              1u);

    // Rate limited: waits, without using an attempt, exactly until the platform allows.
    nlohmann::json limited_post;
    for (int i = 0; i < 500; ++i) {
        limited_post = client().Get("/api/v1/posts/" + p_limited, user_.access_token).Json();
        if (!limited_post["deliveries"][0]["next_attempt_at"].is_null()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    auto d = limited_post["deliveries"][0];
    ASSERT_FALSE(d["next_attempt_at"].is_null()) << limited_post.dump();
    EXPECT_EQ(d["status"], "rate_limited");
    EXPECT_EQ(d["attempts"], 0);
    const auto wait = *domain::ParseRfc3339(d["next_attempt_at"].get<std::string>()) -
                      *domain::ParseRfc3339(d["updated_at"].get<std::string>());
    EXPECT_NEAR(std::chrono::duration_cast<std::chrono::seconds>(wait).count(), 3600, 2);
    EXPECT_NE(d["error"].get<std::string>().find("429"), std::string::npos);
}

TEST_F(PostsApi, APersonResolvesAnUnconfirmedDelivery) {
    const std::string mute = SandboxAccount(user_, {{"mode", "timeout_after_accept"}, {"dedupe", "none"}});
    auto r = Create({{"text", "did it post?"}, {"account_ids", {mute}}, {"scheduled_at", InSeconds(0)}});
    ASSERT_EQ(r.status, 201);
    const std::string id = r.Json()["id"];
    const std::string delivery = r.Json()["deliveries"][0]["id"];
    ASSERT_EQ(WaitForPostStatus(user_, id, "unconfirmed", std::chrono::seconds(10))["status"], "unconfirmed");
    const std::string base = "/api/v1/posts/" + id + "/deliveries/" + delivery;

    auto no_url = client().Post(base + "/mark-published", nlohmann::json::object(), user_.access_token);
    EXPECT_EQ(no_url.status, 400);
    EXPECT_EQ(no_url.Json()["error"]["details"]["field"], "url");
    auto bad_url = client().Post(base + "/mark-published", {{"url", "javascript:alert(1)"}}, user_.access_token);
    EXPECT_EQ(bad_url.Json()["error"]["details"]["rule"], "http_url");

    // Retry: it goes out again (this platform still never answers, so it ends unconfirmed again).
    auto retried = client().Post(base + "/retry", nlohmann::json::object(), user_.access_token);
    ASSERT_EQ(retried.status, 200) << retried.body;
    ASSERT_EQ(WaitForPostStatus(user_, id, "unconfirmed", std::chrono::seconds(10))["status"], "unconfirmed");
    EXPECT_EQ(client().Get("/api/v1/accounts/" + mute + "/sandbox/posts", user_.access_token).Json()["items"].size(),
              2u);  // the person asked for it: the platform that cannot dedupe got it twice

    auto marked = client().Post(base + "/mark-published", {{"url", "https://example.social/@me/1"}, {"remote_id", "1"}},
                                user_.access_token);
    ASSERT_EQ(marked.status, 200) << marked.body;
    EXPECT_EQ(marked.Json()["status"], "published");
    EXPECT_EQ(marked.Json()["deliveries"][0]["url"], "https://example.social/@me/1");
    auto again = client().Request("POST", base + "/retry", "", {{"Authorization", "Bearer " + user_.access_token}});
    EXPECT_EQ(again.status, 409);
    EXPECT_EQ(again.Json()["error"]["details"]["status"], "published");
    EXPECT_EQ(client()
                  .Request("POST", "/api/v1/posts/" + id + "/deliveries/nope/retry", "",
                           {{"Authorization", "Bearer " + user_.access_token}})
                  .status,
              404);
}

TEST_F(PostsApi, TheLastPageHasNoCursorAndBrokenEscapesAreRefused) {
    for (int i = 0; i < 2; ++i) ASSERT_EQ(Create({{"text", "p"}, {"account_ids", {account_}}}).status, 201);
    auto page = client().Get("/api/v1/posts?limit=2", user_.access_token).Json();
    EXPECT_EQ(page["items"].size(), 2u);
    EXPECT_TRUE(page["next_cursor"].is_null());
    auto bad = client().Get("/api/v1/posts?status=%zz", user_.access_token);
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(bad.Json()["error"]["details"]["rule"], "percent_encoding");
    auto far = Create({{"text", "p"},
                       {"account_ids", {account_}},
                       {"local_time", "2099-06-01T09:00"},
                       {"timezone", "Europe/Berlin"}});
    EXPECT_EQ(far.status, 400);
    EXPECT_EQ(far.Json()["error"]["details"]["rule"], "max_ahead");
}

}  // namespace
}  // namespace herald::testing
