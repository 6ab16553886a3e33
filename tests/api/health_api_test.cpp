#include <gtest/gtest.h>

#include "domain/time.hpp"
#include "server_fixture.hpp"

namespace herald::testing {
namespace {

class HealthApi : public ServerFixture {};

TEST_F(HealthApi, HealthzAndReadyzAnswerWithoutAToken) {
    auto h = client().Get("/healthz");
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(h.Json()["status"], "ok");
    auto r = client().Get("/readyz");
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = r.Json();
    EXPECT_EQ(j["status"], "ready");
    EXPECT_EQ(j["database"], "ok");
    EXPECT_EQ(j["scheduler"], "running");
    EXPECT_EQ(j["oldest_due_job_age_seconds"], 0.0);
}

// One worker and a platform that takes 2.5 s per post: due work piles up, and /readyz must say
// so instead of staying green while posts wait.
class BackloggedHealthApi : public ServerFixture {
  protected:
    void Configure(core::Config& c) override {
        c.workers = 1;
        c.worker_batch = 1;
        c.ready_max_lag_seconds = 1;
    }
};

TEST_F(BackloggedHealthApi, ReadyzTurnsUnreadyWhenDueWorkIsNotProcessed) {
    auto u = Register();
    const std::string account = SandboxAccount(u, {{"delay_ms", 2500}});
    const auto now = std::chrono::time_point_cast<core::Millis>(std::chrono::system_clock::now());
    // One at a time: the rest wait, due, in the table or claimed and not started.
    for (int i = 0; i < 4; ++i) {
        auto r = client().Post("/api/v1/posts",
                               {{"text", "p" + std::to_string(i)},
                                {"account_ids", {account}},
                                {"scheduled_at", domain::FormatRfc3339(now)}},
                               u.access_token);
        ASSERT_EQ(r.status, 201);
    }
    HttpResult r;
    for (int i = 0; i < 200; ++i) {
        r = client().Get("/readyz");
        if (r.status == 503) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(r.Json()["status"], "not_ready");
    EXPECT_GT(r.Json()["oldest_due_job_age_seconds"].get<double>(), 1.0);
    EXPECT_EQ(r.Json()["database"], "ok");
}

}  // namespace
}  // namespace herald::testing
