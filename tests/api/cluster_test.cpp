// Two real herald processes on one PostgreSQL database: node A serves the API only
// (`herald serve --workers 0`), node B only publishes (`herald worker`). A post created through A must be woken up on B
// by LISTEN/NOTIFY, published by B, and its status change must reach a WebSocket client of A through the cluster bus.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
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

// PostgreSQL itself goes away mid-run (fast shutdown), stays down a few seconds and comes back.
// Meanwhile every node reports unready; afterwards they resume on their own, and every post ends
// settled, none twice on the sandbox, none lost.
TEST(Cluster, ADatabaseRestartMidRunLosesNothingSendsNothingTwiceAndNodesAreUnreadyMeanwhile) {
    test_support::OwnPgServer pg;  // its own server: the shared one must stay up for other tests
    ::setenv("HERALD_SECRET_KEY", "4f1c2a7e9b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8", 1);
    ::setenv("HERALD_LEASE_SECONDS", "4", 1);
    const auto dir = MakeTempDir("herald-pg-restart");
    Node api_node(NodeArgs("serve", pg.url(), dir / "api", 0));
    ASSERT_NE(api_node.port(), 0) << api_node.output();
    std::vector<std::unique_ptr<Node>> workers;
    for (int i = 0; i < 2; ++i) {
        workers.push_back(std::make_unique<Node>(NodeArgs("worker", pg.url(), dir / ("w" + std::to_string(i)), 2)));
        ASSERT_NE(workers.back()->port(), 0) << workers.back()->output();
    }
    HttpClient a(api_node.port());
    auto reg = a.Post("/api/v1/auth/register",
                      {{"email", "restart@example.com"}, {"password", "correct horse"}, {"name", "Restart"}});
    ASSERT_EQ(reg.status, 201) << reg.body;
    const std::string token = reg.Json().value("access_token", "");
    std::map<std::string, std::string> mode_of;  // account id → dedupe mode
    for (const char* dedupe : {"idempotent", "lookup", "none"}) {
        auto r = a.Post("/api/v1/accounts",
                        {{"platform", "sandbox"},
                         {"name", dedupe},
                         {"settings", {{"delay_ms", 50}, {"answer_delay_ms", 50}, {"dedupe", dedupe}}}},
                        token);
        ASSERT_EQ(r.status, 201) << r.body;
        mode_of[r.Json()["id"]] = dedupe;
    }
    // 1,500 posts due over the next 8 s, through the bulk endpoint.
    constexpr int kPosts = 1500;
    const auto start = std::chrono::time_point_cast<core::Millis>(std::chrono::system_clock::now());
    nlohmann::json posts = nlohmann::json::array();
    for (int n = 0; n < kPosts; ++n) {
        auto it = mode_of.begin();
        std::advance(it, n % 3);
        posts.push_back({{"text", "restart post " + std::to_string(n)},
                         {"account_ids", {it->first}},
                         {"scheduled_at", domain::FormatRfc3339(start + milliseconds(1000 + (n * 8000) / kPosts))}});
    }
    auto bulk = a.Post("/api/v1/posts/bulk", {{"posts", posts}}, token);
    ASSERT_EQ(bulk.status, 201) << bulk.body.substr(0, 500);

    // Mid-run, the database goes away.
    std::this_thread::sleep_for(milliseconds(3000));
    pg.Down();
    const auto down_at = std::chrono::steady_clock::now();
    bool api_unready = false, worker_unready = false;
    while (std::chrono::steady_clock::now() - down_at < std::chrono::seconds(4)) {
        api_unready = api_unready || a.TryRequest("GET", "/readyz", "", {}, milliseconds(2000)).status == 503;
        worker_unready =
            worker_unready ||
            HttpClient(workers[0]->port()).TryRequest("GET", "/readyz", "", {}, milliseconds(2000)).status == 503;
        std::this_thread::sleep_for(milliseconds(200));
    }
    EXPECT_TRUE(api_unready) << "the API node never said it was not ready while the database was down";
    EXPECT_TRUE(worker_unready) << "a worker node never said it was not ready while the database was down";
    pg.Up();

    // They come back on their own and finish the work.
    bool ready_again = false;
    for (int t = 0; t < 150 && !ready_again; ++t) {
        ready_again =
            a.TryRequest("GET", "/readyz", "", {}, milliseconds(2000)).status == 200 &&
            HttpClient(workers[0]->port()).TryRequest("GET", "/readyz", "", {}, milliseconds(2000)).status == 200;
        if (!ready_again) std::this_thread::sleep_for(milliseconds(200));
    }
    EXPECT_TRUE(ready_again) << "nodes did not become ready again within 30 s of the database's return";
    std::map<std::string, nlohmann::json> all;  // post id → post
    for (int t = 0; t < 240; ++t) {
        all.clear();
        std::string cursor;
        bool settled = true;
        for (int page = 0; page < 100; ++page) {
            auto r = a.Get("/api/v1/posts?limit=200" + (cursor.empty() ? "" : "&cursor=" + cursor), token);
            ASSERT_EQ(r.status, 200) << r.body;
            auto j = r.Json();
            for (auto& p : j["items"]) {
                const std::string st = p["deliveries"][0]["status"];
                settled = settled && (st == "published" || st == "failed" || st == "unconfirmed");
                all[p["id"]] = p;
            }
            if (j["next_cursor"].is_null()) break;
            cursor = j["next_cursor"];
        }
        if (settled && all.size() == static_cast<size_t>(kPosts)) break;
        std::this_thread::sleep_for(milliseconds(250));
    }
    ASSERT_EQ(all.size(), static_cast<size_t>(kPosts));
    std::map<std::string, int> by_status;
    std::map<std::string, std::map<std::string, int>> in_sandbox;  // account → key → copies
    for (const auto& [account, mode] : mode_of) {
        auto r = a.Get("/api/v1/accounts/" + account + "/sandbox/posts", token);
        ASSERT_EQ(r.status, 200) << r.body;
        const auto items = r.Json()["items"];  // a copy: the parsed body is a temporary
        for (const auto& sp : items) in_sandbox[account][sp["idempotency_key"].get<std::string>()]++;
    }
    for (const auto& [id, p] : all) {
        const auto& d = p["deliveries"][0];
        const std::string st = d["status"], account = d["account_id"], did = d["id"];
        by_status[mode_of[account] + ":" + st]++;
        EXPECT_TRUE(st == "published" || st == "failed" || st == "unconfirmed") << id << " is " << st;
        if (st == "unconfirmed") {
            EXPECT_EQ(mode_of[account], "none") << id << ": " << d.dump();
        }
        const int copies = in_sandbox[account].count(did) ? in_sandbox[account][did] : 0;
        EXPECT_LE(copies, 1) << "the sandbox holds " << did << " " << copies << " times";
        if (st == "published") {
            EXPECT_EQ(copies, 1) << did << " published but not in the sandbox";
        }
    }
    std::string summary;
    for (const auto& [k, n] : by_status) summary += " " + k + "=" + std::to_string(n);
    std::cout << "pg-restart: posts=" << all.size() << summary << "\n";
    ::unsetenv("HERALD_SECRET_KEY");
    ::unsetenv("HERALD_LEASE_SECONDS");
    std::filesystem::remove_all(dir);
}

TEST(Cluster, ANodeOnPostgresRefusesToStartWithoutAnExplicitSecretKey) {
    test_support::ScratchPgDatabase db;
    ::unsetenv("HERALD_SECRET_KEY");
    const auto dir = MakeTempDir("herald-no-key");
    auto run = RunHerald({"serve", "--listen", "127.0.0.1:0", "--data-dir", dir.string(), "--database", db.url()});
    EXPECT_NE(run.code, 0) << run.output;
    EXPECT_NE(run.output.find("secret key explicitly"), std::string::npos) << run.output;
    EXPECT_FALSE(std::filesystem::exists(dir / "secret.key")) << "a node-local key was made anyway";
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace herald::testing
