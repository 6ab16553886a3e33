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
#include "server_fixture.hpp"

namespace herald::testing {
namespace {

struct Child {
    pid_t pid = -1;
    int out_fd = -1;  ///< stdout and stderr, merged
};

Child Spawn(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    int out[2], in[2];
    EXPECT_EQ(pipe(out), 0);
    EXPECT_EQ(pipe(in), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(out[1], 2);
        close(out[0]);
        close(in[1]);
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(argv[0], argv.data());
        _exit(127);
    }
    close(out[1]);
    close(in[0]);
    if (!stdin_text.empty()) {
        EXPECT_EQ(write(in[1], stdin_text.data(), stdin_text.size()), static_cast<ssize_t>(stdin_text.size()));
    }
    close(in[1]);
    return Child{pid, out[0]};
}

std::string ReadAll(int fd) {
    std::string s;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
    close(fd);
    return s;
}

int Wait(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct RunResult {
    int code;
    std::string output;
};

RunResult RunHerald(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    std::vector<std::string> full = {HERALD_BINARY};
    full.insert(full.end(), args.begin(), args.end());
    auto c = Spawn(full, stdin_text);
    std::string out = ReadAll(c.out_fd);
    return RunResult{Wait(c.pid), out};
}

// Reads the child's output line by line until the serve banner names the URL; returns the port.
uint16_t WaitForBanner(int fd, std::string& seen) {
    char buf[1024];
    std::smatch m;
    static const std::regex url(R"(Herald is running at http://127\.0\.0\.1:(\d+))");
    while (true) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) return 0;
        seen.append(buf, static_cast<size_t>(n));
        if (std::regex_search(seen, m, url)) return static_cast<uint16_t>(std::stoi(m[1]));
    }
}

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
    EXPECT_NE(first.output.find("migrations applied: 1"), std::string::npos) << first.output;
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

TEST_F(Lifecycle, AKilledServerLeavesAnInFlightPublishUnconfirmedNotDuplicated) {
    auto serve = Spawn({HERALD_BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir_.string()});
    std::string log;
    const uint16_t port = WaitForBanner(serve.out_fd, log);
    ASSERT_NE(port, 0) << log;
    HttpClient client(port);
    auto reg = client.Post("/api/v1/auth/register",
                           {{"email", "k@example.com"}, {"password", "correct horse"}, {"name", "K"}});
    ASSERT_EQ(reg.status, 201);
    const std::string token = reg.Json()["access_token"];
    auto acct = client.Post("/api/v1/accounts",
                            {{"platform", "sandbox"}, {"name", "slow"}, {"settings", {{"delay_ms", 3000}}}}, token);
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
    ASSERT_EQ(status, "publishing");
    kill(serve.pid, SIGKILL);  // no chance to finish or record anything
    Wait(serve.pid);
    close(serve.out_fd);

    // The next start knows at once that the previous run died mid-call: it cannot know whether
    // the platform got the post, so it says so instead of sending it again.
    auto again = Spawn({HERALD_BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir_.string()});
    std::string log2;
    const uint16_t port2 = WaitForBanner(again.out_fd, log2);
    ASSERT_NE(port2, 0) << log2;
    HttpClient client2(port2);
    const std::string token2 =
        client2.Post("/api/v1/auth/login", {{"email", "k@example.com"}, {"password", "correct horse"}})
            .Json()["access_token"];
    auto p = client2.Get("/api/v1/posts/" + id, token2).Json();
    EXPECT_EQ(p["status"], "unconfirmed") << p.dump();
    EXPECT_NE(p["deliveries"][0]["error"].get<std::string>().find("cannot tell whether"), std::string::npos);
    EXPECT_LE(client2.Get("/api/v1/accounts/" + account + "/sandbox/posts", token2).Json()["items"].size(), 1u);
    kill(again.pid, SIGTERM);
    EXPECT_EQ(Wait(again.pid), 0);
    close(again.out_fd);
}

}  // namespace
}  // namespace herald::testing
