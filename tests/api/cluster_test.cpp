// Two real herald processes on one PostgreSQL database: node A serves the API only
// (`herald serve --workers 0`), node B only publishes (`herald worker`). A post created through A must be woken up on B
// by LISTEN/NOTIFY, published by B, and its status change must reach a WebSocket client of A through the cluster bus.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "domain/time.hpp"
#include "http_client.hpp"
#include "process.hpp"
#include "scratch_database.hpp"
#include "server_fixture.hpp"

namespace herald::testing {
namespace {

using std::chrono::milliseconds;

// A herald serve child with its output drained in the background (kept for failure messages).
class Node {
  public:
    explicit Node(const std::vector<std::string>& args) {
        child_ = Spawn(args);
        port_ = WaitForBanner(child_.out_fd, seen_);
        reader_ = std::thread([this] {
            char buf[4096];
            for (;;) {
                const auto n = ::read(child_.out_fd, buf, sizeof buf);
                if (n <= 0) break;
                std::lock_guard lock(mu_);
                seen_.append(buf, static_cast<size_t>(n));
            }
        });
    }
    ~Node() {
        ::kill(child_.pid, SIGTERM);
        if (!WaitFor(child_.pid, milliseconds(10000))) {
            ::kill(child_.pid, SIGKILL);
            Wait(child_.pid);
        }
        if (reader_.joinable()) reader_.join();
    }
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;
    uint16_t port() const { return port_; }
    std::string output() {
        std::lock_guard lock(mu_);
        return seen_;
    }

  private:
    Child child_;
    uint16_t port_ = 0;
    std::mutex mu_;
    std::string seen_;
    std::thread reader_;
};

std::vector<std::string> NodeArgs(const std::string& command, const std::string& url, const std::filesystem::path& dir,
                                  int workers) {
    return {HERALD_BINARY, command,      "--listen", "127.0.0.1:0", "--data-dir",
            dir.string(),  "--database", url,        "--workers",   std::to_string(workers)};
}

TEST(Cluster, AWorkerOnOneNodePublishesWhatAnotherAcceptedAndItsClientsSeeItLive) {
    test_support::ScratchPgDatabase db;
    // Both nodes sign and check tokens with one key, as a real cluster's nodes must.
    ::setenv("HERALD_SECRET_KEY", "4f1c2a7e9b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8", 1);
    const auto dir_a = MakeTempDir("herald-node-a");
    const auto dir_b = MakeTempDir("herald-node-b");
    Node api_node(NodeArgs("serve", db.url(), dir_a, 0));
    ASSERT_NE(api_node.port(), 0) << api_node.output();
    Node worker_node(NodeArgs("worker", db.url(), dir_b, 1));
    ASSERT_NE(worker_node.port(), 0) << worker_node.output();
    HttpClient a(api_node.port());

    // The API node is ready without a scheduler of its own; the worker node runs one.
    auto ready_a = a.Get("/readyz");
    EXPECT_EQ(ready_a.status, 200) << ready_a.body;
    EXPECT_EQ(ready_a.Json()["scheduler"], "none");
    HttpClient b(worker_node.port());
    auto ready_b = b.Get("/readyz");
    EXPECT_EQ(ready_b.Json()["scheduler"], "running") << ready_b.body;
    // A worker node serves health checks and metrics, and no public API.
    EXPECT_EQ(b.Get("/metrics").status, 200);
    auto refused = b.Post("/api/v1/auth/register", {{"email", "x@example.com"}, {"password", "correct horse"}});
    EXPECT_EQ(refused.status, 404) << refused.body;
    EXPECT_NE(refused.body.find("herald serve"), std::string::npos) << refused.body;

    auto reg = a.Post("/api/v1/auth/register",
                      {{"email", "cluster@example.com"}, {"password", "correct horse"}, {"name", "Cluster"}});
    ASSERT_EQ(reg.status, 201) << reg.body;
    const std::string token = reg.Json().value("access_token", "");
    auto acc = a.Post("/api/v1/accounts", {{"platform", "sandbox"}, {"name", "sandbox"}}, token);
    ASSERT_EQ(acc.status, 201) << acc.body;
    const std::string account = acc.Json().value("id", "");

    WsClient ws;
    ASSERT_EQ(ws.Connect(api_node.port(), "/api/v1/events?access_token=" + token), 101);
    // Node A tells the others which topics it has listeners for every 2 s; until B has read
    // that, B has no reason to send events. Wait for one full round.
    std::this_thread::sleep_for(milliseconds(4500));

    const auto now = std::chrono::time_point_cast<core::Millis>(std::chrono::system_clock::now());
    auto r = a.Post(
        "/api/v1/posts",
        {{"text", "across nodes"}, {"account_ids", {account}}, {"scheduled_at", domain::FormatRfc3339(now)}}, token);
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string post_id = r.Json()["id"];

    bool published = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!published && std::chrono::steady_clock::now() < deadline) {
        auto text = ws.Read(milliseconds(500));
        if (!text) continue;
        auto e = nlohmann::json::parse(*text);
        published = e["type"] == "delivery.updated" && e["data"]["post_id"] == post_id &&
                    e["data"]["delivery"]["status"] == "published";
    }
    EXPECT_TRUE(published) << "node A's client never saw the publish made on node B\nA:\n"
                           << api_node.output() << "\nB:\n"
                           << worker_node.output();
    // And B did it: A runs no workers, so only B's log shows the attempt.
    EXPECT_NE(worker_node.output().find("event=publish_attempt"), std::string::npos);
    EXPECT_EQ(api_node.output().find("event=publish_attempt"), std::string::npos);

    auto post = a.Get("/api/v1/posts/" + post_id, token);
    EXPECT_EQ(post.Json()["status"], "published") << post.body;
    ::unsetenv("HERALD_SECRET_KEY");
    std::filesystem::remove_all(dir_a);
    std::filesystem::remove_all(dir_b);
}

}  // namespace
}  // namespace herald::testing
