// Operating the queue through the API: pause and resume, cancel, dead jobs and requeue, bulk
// creation, Idempotency-Key, statistics, /metrics and the queue's live events.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "domain/time.hpp"
#include "server_fixture.hpp"

namespace herald::testing {
namespace {

std::string Now() {
    return domain::FormatRfc3339(std::chrono::time_point_cast<core::Millis>(std::chrono::system_clock::now()));
}

std::string InSeconds(int64_t s) {
    auto now = std::chrono::time_point_cast<core::Millis>(std::chrono::system_clock::now());
    return domain::FormatRfc3339(now + std::chrono::seconds(s));
}

class QueueApi : public ServerFixture {
  protected:
    void SetUp() override {
        ServerFixture::SetUp();
        user_ = Register();
    }
    std::string PostNow(const std::string& account, const std::string& text = "now") {
        auto r = client().Post("/api/v1/posts", {{"text", text}, {"account_ids", {account}}, {"scheduled_at", Now()}},
                               user_.access_token);
        EXPECT_EQ(r.status, 201) << r.body;
        return r.Json().value("id", "");
    }
    nlohmann::json Jobs(const std::string& query) {
        auto r = client().Get("/api/v1/queue/jobs" + query, user_.access_token);
        EXPECT_EQ(r.status, 200) << r.body;
        return r.Json()["items"];
    }
    nlohmann::json Stats() {
        auto r = client().Get("/api/v1/queue/stats", user_.access_token);
        EXPECT_EQ(r.status, 200) << r.body;
        return r.Json();
    }
    // The post stays in `status` for a while (it is held back, not merely slow).
    void ExpectStays(const std::string& post_id, const std::string& status) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(400);
        while (std::chrono::steady_clock::now() < deadline) {
            auto j = client().Get("/api/v1/posts/" + post_id, user_.access_token).Json();
            ASSERT_EQ(j["status"], status) << j.dump();
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    TestUser user_;
};

TEST_F(QueueApi, PausedAccountHoldsItsPostsWithTheirTimesUntilResumed) {
    const auto held = SandboxAccount(user_, nlohmann::json::object(), "held");
    const auto free = SandboxAccount(user_, nlohmann::json::object(), "free");
    auto pause =
        client().Post("/api/v1/queue/pause", {{"account_id", held}, {"reason", "client review"}}, user_.access_token);
    ASSERT_EQ(pause.status, 200) << pause.body;
    EXPECT_EQ(pause.Json()["scope"], "account");
    EXPECT_EQ(pause.Json()["reason"], "client review");

    const auto held_post = PostNow(held, "held");
    const auto free_post = PostNow(free, "free");
    EXPECT_EQ(WaitForPostStatus(user_, free_post, "published", std::chrono::seconds(10))["status"], "published");
    ExpectStays(held_post, "scheduled");

    auto paused = Jobs("?state=paused");
    ASSERT_EQ(paused.size(), 1u) << paused.dump();
    EXPECT_EQ(paused[0]["post_id"], held_post);
    EXPECT_EQ(paused[0]["account_id"], held);
    const auto post = client().Get("/api/v1/posts/" + held_post, user_.access_token).Json();
    EXPECT_EQ(paused[0]["due_at"], post["scheduled_at"]) << "a paused job keeps its due time";
    EXPECT_EQ(Stats()["jobs"]["paused"], 1);

    auto pauses = client().Get("/api/v1/queue/pauses", user_.access_token).Json()["items"];
    ASSERT_EQ(pauses.size(), 1u);
    EXPECT_EQ(pauses[0]["jobs_paused"], 1);

    auto resume = client().Post("/api/v1/queue/resume", {{"account_id", held}}, user_.access_token);
    ASSERT_EQ(resume.status, 200) << resume.body;
    EXPECT_EQ(resume.Json()["jobs_resumed"], 1);
    EXPECT_EQ(WaitForPostStatus(user_, held_post, "published", std::chrono::seconds(10))["status"], "published");
    EXPECT_EQ(client().Post("/api/v1/queue/resume", {{"account_id", held}}, user_.access_token).status, 404);
}

TEST_F(QueueApi, OverlappingPausesReleaseOnlyWhenTheLastOneIsLifted) {
    const auto account = SandboxAccount(user_);
    ASSERT_EQ(client().Post("/api/v1/queue/pause", {{"platform", "sandbox"}}, user_.access_token).status, 200);
    ASSERT_EQ(client().Post("/api/v1/queue/pause", nlohmann::json::object(), user_.access_token).status, 200);
    // Pausing again what is paused returns the same pause.
    auto again = client().Post("/api/v1/queue/pause", {{"platform", "sandbox"}}, user_.access_token);
    EXPECT_EQ(again.status, 200);
    EXPECT_EQ(client().Get("/api/v1/queue/pauses", user_.access_token).Json()["items"].size(), 2u);

    const auto post = PostNow(account);
    auto resume = client().Post("/api/v1/queue/resume", {{"platform", "sandbox"}}, user_.access_token);
    ASSERT_EQ(resume.status, 200) << resume.body;
    EXPECT_EQ(resume.Json()["jobs_resumed"], 0) << "the workspace pause still holds it";
    ExpectStays(post, "scheduled");
    ASSERT_EQ(client().Post("/api/v1/queue/resume", nlohmann::json::object(), user_.access_token).status, 200);
    EXPECT_EQ(WaitForPostStatus(user_, post, "published", std::chrono::seconds(10))["status"], "published");
}

TEST_F(QueueApi, PauseNamesWhatIsWrong) {
    auto r = client().Post("/api/v1/queue/pause", {{"account_id", "0123456789abcdef0123456789"}}, user_.access_token);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.Json()["error"]["details"]["field"], "account_id");
    r = client().Post("/api/v1/queue/pause", {{"platform", "myspace"}}, user_.access_token);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.Json()["error"]["details"]["rule"], "known_platform");
    r = client().Post("/api/v1/queue/pause", {{"colour", "red"}}, user_.access_token);
    EXPECT_EQ(r.status, 400);
    EXPECT_TRUE(client().Get("/api/v1/queue/pauses", user_.access_token).Json()["items"].empty());
}

TEST_F(QueueApi, RejectedPostsBecomeDeadJobsThatCanBeInspectedAndRequeued) {
    const auto account = SandboxAccount(user_, {{"mode", "reject"}, {"reject_reason", "banned word"}});
    const auto post = PostNow(account);
    EXPECT_EQ(WaitForPostStatus(user_, post, "failed", std::chrono::seconds(10))["status"], "failed");
    auto dead = Jobs("?state=dead");
    ASSERT_EQ(dead.size(), 1u) << dead.dump();
    const std::string job_id = dead[0]["id"];
    auto job = client().Get("/api/v1/queue/jobs/" + job_id, user_.access_token);
    ASSERT_EQ(job.status, 200);
    EXPECT_EQ(job.Json()["state"], "dead");
    EXPECT_EQ(job.Json()["kind"], "publish");
    EXPECT_NE(job.Json()["last_error"].get<std::string>().find("banned word"), std::string::npos) << job.body;
    EXPECT_EQ(Stats()["jobs"]["dead"], 1);

    WsClient ws;
    ASSERT_EQ(ws.Connect(port(), "/api/v1/events", {{"Authorization", "Bearer " + user_.access_token}}), 101);
    const auto before = client().Get("/api/v1/posts/" + post, user_.access_token).Json()["deliveries"][0];
    auto requeued =
        client().Post("/api/v1/queue/jobs/" + job_id + "/requeue", nlohmann::json::object(), user_.access_token);
    ASSERT_EQ(requeued.status, 200) << requeued.body;
    auto msg = ws.Read(std::chrono::seconds(5));
    ASSERT_TRUE(msg.has_value());
    EXPECT_EQ(nlohmann::json::parse(*msg)["type"], "job.requeued");
    // It ran again (the sandbox still rejects it) and died again, with a fresh attempt count.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    nlohmann::json after;
    while (std::chrono::steady_clock::now() < deadline) {
        after = client().Get("/api/v1/queue/jobs/" + job_id, user_.access_token).Json();
        if (after["state"] == "dead") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(after["state"], "dead");
    EXPECT_EQ(after["attempts"], 1);
    const auto delivery = client().Get("/api/v1/posts/" + post, user_.access_token).Json()["deliveries"][0];
    EXPECT_EQ(delivery["status"], "failed");
    // As instants: the text drops a zero fraction ("…21Z" is before "…21.024Z", not after).
    const auto updated = domain::ParseRfc3339(delivery["updated_at"].get<std::string>(), "updated_at");
    const auto earlier = domain::ParseRfc3339(before["updated_at"].get<std::string>(), "updated_at");
    ASSERT_TRUE(updated.has_value() && earlier.has_value());
    EXPECT_GT(*updated, *earlier);

    // Only dead jobs are requeued; a dead job can be discarded.
    auto cancel =
        client().Post("/api/v1/queue/jobs/" + job_id + "/cancel", nlohmann::json::object(), user_.access_token);
    ASSERT_EQ(cancel.status, 200) << cancel.body;
    EXPECT_EQ(cancel.Json()["outcome"], "cancelled");
    EXPECT_EQ(
        client().Post("/api/v1/queue/jobs/" + job_id + "/requeue", nlohmann::json::object(), user_.access_token).status,
        409);
    EXPECT_TRUE(Jobs("?state=dead").empty());
}

TEST_F(QueueApi, CancellingAPostRemovesItsJobsAndKeepsAHistory) {
    const auto account = SandboxAccount(user_);
    auto r = client().Post("/api/v1/posts",
                           {{"text", "later"}, {"account_ids", {account}}, {"scheduled_at", InSeconds(3600)}},
                           user_.access_token);
    ASSERT_EQ(r.status, 201);
    const std::string post = r.Json()["id"];
    ASSERT_EQ(Jobs("?state=pending").size(), 1u);
    auto cancel = client().Post("/api/v1/posts/" + post + "/cancel", nlohmann::json::object(), user_.access_token);
    ASSERT_EQ(cancel.status, 200) << cancel.body;
    EXPECT_EQ(cancel.Json()["status"], "cancelled");
    EXPECT_EQ(cancel.Json()["deliveries"][0]["status"], "cancelled");
    EXPECT_TRUE(Jobs("").empty());
    auto done = Jobs("?state=done");
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0]["outcome"], "cancelled");
    EXPECT_EQ(done[0]["post_id"], post);
    auto again = client().Post("/api/v1/posts/" + post + "/cancel", nlohmann::json::object(), user_.access_token);
    EXPECT_EQ(again.status, 409) << again.body;
}

TEST_F(QueueApi, CancellingOneDeliveryLeavesTheOthers) {
    const auto a = SandboxAccount(user_, nlohmann::json::object(), "a");
    const auto b = SandboxAccount(user_, nlohmann::json::object(), "b");
    auto r =
        client().Post("/api/v1/posts", {{"text", "two"}, {"account_ids", {a, b}}, {"scheduled_at", InSeconds(3600)}},
                      user_.access_token);
    ASSERT_EQ(r.status, 201);
    const std::string post = r.Json()["id"];
    const std::string delivery_a = r.Json()["deliveries"][0]["account_id"] == a ? r.Json()["deliveries"][0]["id"]
                                                                                : r.Json()["deliveries"][1]["id"];
    auto cancel = client().Post("/api/v1/posts/" + post + "/deliveries/" + delivery_a + "/cancel",
                                nlohmann::json::object(), user_.access_token);
    ASSERT_EQ(cancel.status, 200) << cancel.body;
    EXPECT_EQ(cancel.Json()["status"], "scheduled");
    auto jobs = Jobs("");
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(jobs[0]["account_id"], b);
    EXPECT_EQ(client()
                  .Post("/api/v1/posts/" + post + "/deliveries/0123456789abcdef0123456789/cancel",
                        nlohmann::json::object(), user_.access_token)
                  .status,
              404);
}

TEST_F(QueueApi, BulkCreateIsAllOrNothingWithAnErrorPerItem) {
    const auto account = SandboxAccount(user_);
    nlohmann::json posts = nlohmann::json::array();
    posts.push_back({{"text", "fine"}, {"account_ids", {account}}, {"scheduled_at", InSeconds(3600)}});
    posts.push_back({{"text", std::string(501, 'x')}, {"account_ids", {account}}});
    posts.push_back({{"text", "fine"}, {"account_ids", {account}}, {"colour", "red"}});
    posts.push_back({{"text", "fine"}, {"account_ids", {"0123456789abcdef0123456789"}}});
    auto bad = client().Post("/api/v1/posts/bulk", {{"posts", posts}}, user_.access_token);
    ASSERT_EQ(bad.status, 400) << bad.body;
    const auto errors = bad.Json()["errors"];
    ASSERT_EQ(errors.size(), 3u) << bad.body;
    EXPECT_EQ(errors[0]["index"], 1);
    EXPECT_EQ(errors[0]["details"]["field"], "text");
    EXPECT_EQ(errors[1]["index"], 2);
    EXPECT_EQ(errors[2]["index"], 3);
    EXPECT_TRUE(client().Get("/api/v1/posts", user_.access_token).Json()["items"].empty()) << "nothing created";

    nlohmann::json many = nlohmann::json::array();
    for (int i = 0; i < 3000; ++i) {
        many.push_back({{"text", "bulk " + std::to_string(i)},
                        {"account_ids", {account}},
                        {"local_time", "2030-01-01T09:00"},
                        {"timezone", "Europe/Paris"}});
    }
    auto ok = client().Post("/api/v1/posts/bulk", {{"posts", many}}, user_.access_token);
    ASSERT_EQ(ok.status, 201) << ok.body.substr(0, 500);
    EXPECT_EQ(ok.Json()["count"], 3000);
    EXPECT_EQ(ok.Json()["items"][2999]["text"], "bulk 2999");
    EXPECT_EQ(Stats()["jobs"]["pending"], 3000);

    EXPECT_EQ(client().Post("/api/v1/posts/bulk", {{"posts", nlohmann::json::array()}}, user_.access_token).status,
              400);
    EXPECT_EQ(client().Post("/api/v1/posts/bulk", {{"items", many}}, user_.access_token).status, 400);
}

TEST_F(QueueApi, OnlySignedInRequestsMayBringLargeBulkBodies) {
    const std::string big = R"({"posts": [{"text": ")" + std::string(2 << 20, 'x') + R"("}]})";
    auto anonymous = client().Request("POST", "/api/v1/posts/bulk", big, {{"Content-Type", "application/json"}});
    EXPECT_EQ(anonymous.status, 413) << "the body was not read for a caller without a token";
    auto signed_in =
        client().Request("POST", "/api/v1/posts/bulk", big,
                         {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + user_.access_token}});
    EXPECT_EQ(signed_in.status, 400) << signed_in.body.substr(0, 300);  // read, then refused per item
}

TEST_F(QueueApi, IdempotencyKeyReplaysTheFirstAnswerAndCreatesNothingNew) {
    const auto account = SandboxAccount(user_);
    const nlohmann::json body = {{"text", "once"}, {"account_ids", {account}}, {"scheduled_at", InSeconds(3600)}};
    const std::map<std::string, std::string> headers = {{"Authorization", "Bearer " + user_.access_token},
                                                        {"Content-Type", "application/json"},
                                                        {"Idempotency-Key", "order-42"}};
    auto first = client().Request("POST", "/api/v1/posts", body.dump(), headers);
    ASSERT_EQ(first.status, 201) << first.body;
    auto second = client().Request("POST", "/api/v1/posts", body.dump(), headers);
    EXPECT_EQ(second.status, 201);
    EXPECT_EQ(second.body, first.body);
    EXPECT_EQ(second.headers["idempotent-replayed"], "true");
    EXPECT_EQ(client().Get("/api/v1/posts", user_.access_token).Json()["items"].size(), 1u);

    nlohmann::json other = body;
    other["text"] = "different";
    auto reused = client().Request("POST", "/api/v1/posts", other.dump(), headers);
    EXPECT_EQ(reused.status, 409);
    EXPECT_EQ(reused.Json()["error"]["details"]["rule"], "idempotency_key_reuse");
    auto blank = headers;
    blank["Idempotency-Key"] = std::string(300, 'k');
    EXPECT_EQ(client().Request("POST", "/api/v1/posts", body.dump(), blank).status, 400);

    // Copies racing each other: exactly one creates, the others replay or are told to wait.
    auto racing = headers;
    racing["Idempotency-Key"] = "race-1";
    std::atomic<int> created{0}, other_answers{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&] {
            auto r = client().Request("POST", "/api/v1/posts", body.dump(), racing);
            if (r.status == 201 && r.headers.count("idempotent-replayed") == 0) {
                ++created;
            } else if (r.status == 201 || r.status == 409) {
                ++other_answers;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(created.load(), 1);
    EXPECT_EQ(other_answers.load(), 7);
    EXPECT_EQ(client().Get("/api/v1/posts", user_.access_token).Json()["items"].size(), 2u);
}

TEST_F(QueueApi, StatsAndMetricsCountWhatHappened) {
    const auto account = SandboxAccount(user_);
    const auto post = PostNow(account);
    ASSERT_EQ(WaitForPostStatus(user_, post, "published", std::chrono::seconds(10))["status"], "published");
    auto stats = Stats();
    EXPECT_EQ(stats["finished_last_hour"], 1);
    EXPECT_EQ(stats["success_rate_last_hour"], 1.0);
    EXPECT_EQ(stats["jobs"]["pending"], 0);

    auto metrics = client().Get("/metrics");
    ASSERT_EQ(metrics.status, 200);
    EXPECT_NE(metrics.headers["content-type"].find("text/plain"), std::string::npos);
    EXPECT_NE(metrics.body.find("herald_publish_outcomes_total{platform=\"sandbox\",status=\"published\"} 1"),
              std::string::npos)
        << metrics.body;
    EXPECT_NE(metrics.body.find("herald_publish_lag_seconds_count 1"), std::string::npos) << metrics.body;
    EXPECT_NE(metrics.body.find("herald_queue_jobs{state=\"pending\"} 0"), std::string::npos) << metrics.body;
}

}  // namespace
}  // namespace herald::testing
