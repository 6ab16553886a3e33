// The binary as a user runs it: flags, help, migrate, user add, SIGTERM.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <thread>

#include "domain/time.hpp"
#include "http_client.hpp"
#include "process.hpp"
#include "server_fixture.hpp"

namespace herald::testing {
namespace {

class Lifecycle : public ::testing::Test {
  protected:
    void SetUp() override { dir_ = MakeTempDir("herald-cli"); }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::filesystem::path dir_;
};

TEST_F(Lifecycle, HelpDescribesCommandsAndOptions) {
    auto top = RunHerald({"--help"});
    EXPECT_EQ(top.code, 0);
    for (const char* word : {"serve", "migrate", "user"}) EXPECT_NE(top.output.find(word), std::string::npos) << word;
    auto serve = RunHerald({"serve", "--help"});
    EXPECT_EQ(serve.code, 0);
    for (const char* flag : {"--listen", "--data-dir", "--database", "--secret-key", "--config", "--max-body-bytes",
                             "HERALD_LISTEN", "HERALD_DATA_DIR", "HERALD_DATABASE_URL", "HERALD_SECRET_KEY"}) {
        EXPECT_NE(serve.output.find(flag), std::string::npos) << flag;
    }
}

TEST_F(Lifecycle, BadConfigurationFailsWithAClearMessage) {
    std::ofstream(dir_ / "herald.json") << R"({"listen": "127.0.0.1:0", "colour": "blue"})";
    auto r = RunHerald({"serve", "--config", (dir_ / "herald.json").string(), "--data-dir", dir_.string()});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("unknown config key 'colour'"), std::string::npos) << r.output;
    auto port = RunHerald({"serve", "--listen", "127.0.0.1:http", "--data-dir", dir_.string()});
    EXPECT_EQ(port.code, 1);
    EXPECT_NE(port.output.find("listen"), std::string::npos) << port.output;
    auto pg = RunHerald({"migrate", "--data-dir", dir_.string(), "--database", "mysql://x"});
    EXPECT_EQ(pg.code, 1);
    EXPECT_NE(pg.output.find("sqlite:PATH"), std::string::npos) << pg.output;
}

TEST_F(Lifecycle, MigrateIsIdempotentAndUserAddCreatesALogin) {
    auto first = RunHerald({"migrate", "--data-dir", dir_.string()});
    ASSERT_EQ(first.code, 0) << first.output;
    EXPECT_NE(first.output.find("migrations applied: 10"), std::string::npos) << first.output;
    auto second = RunHerald({"migrate", "--data-dir", dir_.string()});
    EXPECT_NE(second.output.find("migrations applied: 0"), std::string::npos) << second.output;

    auto add = RunHerald({"user", "add", "--email", "ops@example.com", "--name", "Ops", "--data-dir", dir_.string()},
                         "a long password\n");
    ASSERT_EQ(add.code, 0) << add.output;
    EXPECT_NE(add.output.find("ops@example.com"), std::string::npos);
    EXPECT_EQ(add.output.find("a long password"), std::string::npos);
    auto again = RunHerald({"user", "add", "--email", "ops@example.com", "--name", "Ops", "--data-dir", dir_.string()},
                           "a long password\n");
    EXPECT_EQ(again.code, 1);
    EXPECT_NE(again.output.find("already exists"), std::string::npos) << again.output;
    auto weak =
        RunHerald({"user", "add", "--email", "x@example.com", "--name", "X", "--data-dir", dir_.string()}, "short\n");
    EXPECT_EQ(weak.code, 1);

    // The secret key file was created private.
    auto perms = std::filesystem::status(dir_ / "secret.key").permissions();
    EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
              std::filesystem::perms::none);

    auto serve = Spawn({HERALD_BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir_.string()});
    std::string banner;
    const uint16_t port = WaitForBanner(serve.out_fd, banner);
    ASSERT_NE(port, 0) << banner;
    EXPECT_NE(banner.find("/api/v1/auth/register"), std::string::npos) << banner;
    HttpClient client(port);
    auto login = client.Post("/api/v1/auth/login", {{"email", "ops@example.com"}, {"password", "a long password"}});
    EXPECT_EQ(login.status, 200) << login.body;
    kill(serve.pid, SIGTERM);
    EXPECT_EQ(Wait(serve.pid), 0);
    close(serve.out_fd);
}

TEST_F(Lifecycle, SigtermFinishesTheInFlightPublishAndExitsZero) {
    auto serve = Spawn({HERALD_BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir_.string()});
    std::string log;
    const uint16_t port = WaitForBanner(serve.out_fd, log);
    ASSERT_NE(port, 0) << log;
    HttpClient client(port);
    auto reg = client.Post("/api/v1/auth/register",
                           {{"email", "s@example.com"}, {"password", "correct horse"}, {"name", "S"}});
    ASSERT_EQ(reg.status, 201);
    const std::string token = reg.Json()["access_token"];
    auto acct = client.Post("/api/v1/accounts",
                            {{"platform", "sandbox"}, {"name", "slow"}, {"settings", {{"delay_ms", 1500}}}}, token);
    ASSERT_EQ(acct.status, 201);
    const std::string account = acct.Json()["id"];
    const auto now = std::chrono::time_point_cast<core::Millis>(std::chrono::system_clock::now());
    auto post = client.Post(
        "/api/v1/posts",
        {{"text", "slow one"}, {"account_ids", {account}}, {"scheduled_at", domain::FormatRfc3339(now)}}, token);
    ASSERT_EQ(post.status, 201);
    const std::string id = post.Json()["id"];
    // Wait until the platform call is under way, then ask the server to stop.
    std::string status;
    for (int i = 0; i < 250 && status != "publishing"; ++i) {
        status = client.Get("/api/v1/posts/" + id, token).Json().value("status", "");
        if (status != "publishing") std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(status, "publishing");
    kill(serve.pid, SIGTERM);
    EXPECT_EQ(Wait(serve.pid), 0);
    log += ReadAll(serve.out_fd);
    EXPECT_NE(log.find("event=shutting_down"), std::string::npos) << log;
    EXPECT_NE(log.find("status=published"), std::string::npos) << log;

    // After a restart the post is published, once.
    auto again = Spawn({HERALD_BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir_.string()});
    std::string log2;
    const uint16_t port2 = WaitForBanner(again.out_fd, log2);
    ASSERT_NE(port2, 0) << log2;
    HttpClient client2(port2);
    auto login = client2.Post("/api/v1/auth/login", {{"email", "s@example.com"}, {"password", "correct horse"}});
    const std::string token2 = login.Json()["access_token"];
    EXPECT_EQ(client2.Get("/api/v1/posts/" + id, token2).Json()["status"], "published");
    EXPECT_EQ(client2.Get("/api/v1/accounts/" + account + "/sandbox/posts", token2).Json()["items"].size(), 1u);
    kill(again.pid, SIGTERM);
    EXPECT_EQ(Wait(again.pid), 0);
    close(again.out_fd);
}

}  // namespace
}  // namespace herald::testing

namespace herald::testing {
namespace {

TEST_F(Lifecycle, ASecondServerOnTheSameDatabaseIsRefused) {
    auto first = Spawn({HERALD_BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir_.string()});
    std::string log;
    ASSERT_NE(WaitForBanner(first.out_fd, log), 0) << log;
    auto second = RunHerald({"serve", "--listen", "127.0.0.1:0", "--data-dir", dir_.string()});
    EXPECT_EQ(second.code, 1);
    EXPECT_NE(second.output.find("another herald server is already using this database"), std::string::npos)
        << second.output;
    kill(first.pid, SIGTERM);
    EXPECT_EQ(Wait(first.pid), 0);
    close(first.out_fd);
}

// Starts a server, begins a slow publish, SIGKILLs the server mid-call, starts it again and
// returns the post as the new server reports it, with how many copies the sandbox holds.
std::pair<nlohmann::json, size_t> KillMidPublishAndRestart(const std::filesystem::path& dir,
                                                           const std::string& dedupe) {
    auto serve = Spawn({HERALD_BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir.string()});
    std::string log;
    const uint16_t port = WaitForBanner(serve.out_fd, log);
    EXPECT_NE(port, 0) << log;
    HttpClient client(port);
    auto reg = client.Post("/api/v1/auth/register",
                           {{"email", "k@example.com"}, {"password", "correct horse"}, {"name", "K"}});
    EXPECT_EQ(reg.status, 201);
    const std::string token = reg.Json()["access_token"];
    auto acct = client.Post(
        "/api/v1/accounts",
        {{"platform", "sandbox"}, {"name", "slow"}, {"settings", {{"delay_ms", 1500}, {"dedupe", dedupe}}}}, token);
    const std::string account = acct.Json()["id"];
    const auto now = std::chrono::time_point_cast<core::Millis>(std::chrono::system_clock::now());
    auto post = client.Post(
        "/api/v1/posts",
        {{"text", "in flight"}, {"account_ids", {account}}, {"scheduled_at", domain::FormatRfc3339(now)}}, token);
    const std::string id = post.Json()["id"];
    std::string status;
    for (int i = 0; i < 250 && status != "publishing"; ++i) {
        status = client.Get("/api/v1/posts/" + id, token).Json().value("status", "");
        if (status != "publishing") std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(status, "publishing");
    kill(serve.pid, SIGKILL);  // no chance to finish or record anything
    Wait(serve.pid);
    close(serve.out_fd);

    auto again = Spawn({HERALD_BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir.string()});
    std::string log2;
    const uint16_t port2 = WaitForBanner(again.out_fd, log2);
    EXPECT_NE(port2, 0) << log2;
    HttpClient client2(port2);
    const std::string token2 =
        client2.Post("/api/v1/auth/login", {{"email", "k@example.com"}, {"password", "correct horse"}})
            .Json()["access_token"];
    // The restarted server settles the post by itself (resend, or unconfirmed) within seconds.
    nlohmann::json p;
    for (int i = 0; i < 500; ++i) {
        p = client2.Get("/api/v1/posts/" + id, token2).Json();
        if (p["status"] == "published" || p["status"] == "unconfirmed") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const size_t copies = client2.Get("/api/v1/accounts/" + account + "/sandbox/posts", token2).Json()["items"].size();
    kill(again.pid, SIGTERM);
    EXPECT_EQ(Wait(again.pid), 0);
    close(again.out_fd);
    return {p, copies};
}

TEST_F(Lifecycle, AKilledServerResendsSafelyToAPlatformThatDedupes) {
    auto [post, copies] = KillMidPublishAndRestart(dir_, "idempotent");
    EXPECT_EQ(post["status"], "published") << post.dump();
    EXPECT_EQ(copies, 1u);
}

TEST_F(Lifecycle, AKilledServerLeavesAnInFlightPublishUnconfirmedWhenItCannotCheck) {
    auto [post, copies] = KillMidPublishAndRestart(dir_, "none");
    EXPECT_EQ(post["status"], "unconfirmed") << post.dump();
    EXPECT_NE(post["deliveries"][0]["error"].get<std::string>().find("cannot tell whether"), std::string::npos);
    EXPECT_LE(copies, 1u);
}

}  // namespace
}  // namespace herald::testing
