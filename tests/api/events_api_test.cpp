#include <gtest/gtest.h>

#include "domain/time.hpp"
#include "server_fixture.hpp"

namespace herald::testing {
namespace {

class EventsApi : public ServerFixture {};

// Reads messages until one satisfies `match` or `timeout` passes; returns every message read.
std::vector<nlohmann::json> ReadUntil(WsClient& ws, const std::function<bool(const nlohmann::json&)>& match,
                                      std::chrono::milliseconds timeout) {
    std::vector<nlohmann::json> seen;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        auto msg = ws.Read(left);
        if (!msg) break;
        seen.push_back(nlohmann::json::parse(*msg));
        if (match(seen.back())) break;
    }
    return seen;
}

TEST_F(EventsApi, RefusesConnectionsWithoutAValidToken) {
    WsClient none;
    EXPECT_EQ(none.Connect(port(), "/api/v1/events"), 401);
    WsClient bad;
    EXPECT_EQ(bad.Connect(port(), "/api/v1/events?access_token=nope"), 401);
    auto u = Register();
    WsClient elsewhere;
    EXPECT_EQ(elsewhere.Connect(port(), "/api/v1/other", {{"Authorization", "Bearer " + u.access_token}}), 404);
}

TEST_F(EventsApi, StreamsTheWorkspacesPostAndDeliveryChangesLive) {
    auto a = Register("A");
    auto b = Register("B");
    const std::string account = SandboxAccount(a);
    WsClient ws_a;
    ASSERT_EQ(ws_a.Connect(port(), "/api/v1/events", {{"Authorization", "Bearer " + a.access_token}}), 101);
    WsClient ws_b;  // browsers pass the token in the query
    ASSERT_EQ(ws_b.Connect(port(), "/api/v1/events?access_token=" + b.access_token), 101);

    const auto now = std::chrono::time_point_cast<core::Millis>(std::chrono::system_clock::now());
    auto r = client().Post("/api/v1/posts",
                           {{"text", "live"}, {"account_ids", {account}}, {"scheduled_at", domain::FormatRfc3339(now)}},
                           a.access_token);
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string post_id = r.Json()["id"];

    auto events = ReadUntil(
        ws_a,
        [](const nlohmann::json& e) {
            return e["type"] == "delivery.updated" && e["data"]["delivery"]["status"] == "published";
        },
        std::chrono::seconds(10));
    std::vector<std::string> trail;
    for (const auto& e : events) {
        trail.push_back(e["type"].get<std::string>() + (e["type"] == "delivery.updated"
                                                            ? ":" + e["data"]["delivery"]["status"].get<std::string>()
                                                            : ""));
    }
    const std::vector<std::string> expected = {"post.created", "delivery.updated:publishing",
                                               "delivery.updated:published"};
    EXPECT_EQ(trail, expected);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.front()["data"]["id"], post_id);
    EXPECT_EQ(events.back()["data"]["post_id"], post_id);
    EXPECT_EQ(events.back()["data"]["post_status"], "published");

    // Workspace B saw none of it.
    EXPECT_FALSE(ws_b.Read(std::chrono::milliseconds(300)).has_value());
}

}  // namespace
}  // namespace herald::testing
