// The operator's commands (herald import, herald queue, herald jobs) on the database of a
// running server, as an operator uses them: a second process beside `herald serve`.

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "domain/time.hpp"
#include "process.hpp"
#include "server_fixture.hpp"

namespace herald::testing {
namespace {

class CliOperate : public ServerFixture {
  protected:
    void SetUp() override {
        ServerFixture::SetUp();
        user_ = Register();
        account_ = SandboxAccount(user_);
    }
    RunResult Herald(std::vector<std::string> args) {
        args.push_back("--data-dir");
        args.push_back(data_dir_.string());
        return RunHerald(args);
    }
    std::filesystem::path Write(const std::string& name, const std::string& text) {
        auto path = data_dir_ / name;
        std::ofstream(path) << text;
        return path;
    }
    nlohmann::json Posts() { return client().Get("/api/v1/posts?limit=200", user_.access_token).Json()["items"]; }
    // Polls until every post is `status` (the server notices work made by another process
    // within its idle interval).
    bool AllPosts(const std::string& status, size_t count) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        while (std::chrono::steady_clock::now() < deadline) {
            auto posts = Posts();
            size_t n = 0;
            for (const auto& p : posts) n += p["status"] == status ? 1 : 0;
            if (posts.size() == count && n == count) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return false;
    }
    TestUser user_;
    std::string account_;
};

TEST_F(CliOperate, ImportCsvIsAllOrNothingAndTheServerPublishesIt) {
    auto bad = Write("bad.csv",
                     "text,account_ids,scheduled_at\n"
                     "\"Hello, world\"," +
                         account_ +
                         ",\n"
                         "\"" +
                         std::string(501, 'x') + "\"," + account_ +
                         ",\n"
                         "fine,nosuchaccount,\n");
    auto r = Herald({"import", bad.string(), "--as", user_.email});
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_NE(r.output.find("row 2:"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("row 3:"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("2 of 3 posts are invalid; nothing was imported"), std::string::npos) << r.output;
    EXPECT_TRUE(Posts().empty());

    std::string csv = "text,account_ids,scheduled_at,variant:sandbox\n";
    const auto now = std::chrono::time_point_cast<core::Millis>(std::chrono::system_clock::now());
    for (int i = 0; i < 40; ++i) {
        csv += "\"post " + std::to_string(i) + ", with a comma\"," + account_ + "," + domain::FormatRfc3339(now) +
               (i == 0 ? ",\"the sandbox's own \"\"words\"\"\"\n" : ",\n");
    }
    auto good = Write("good.csv", csv);
    auto dry = Herald({"import", good.string(), "--as", user_.email, "--dry-run"});
    EXPECT_EQ(dry.code, 0) << dry.output;
    EXPECT_TRUE(Posts().empty());
    auto ok = Herald({"import", good.string(), "--as", user_.email});
    ASSERT_EQ(ok.code, 0) << ok.output;
    EXPECT_NE(ok.output.find("imported 40 posts"), std::string::npos) << ok.output;
    EXPECT_NE(ok.output.find("checking 40/40"), std::string::npos) << ok.output;
    EXPECT_TRUE(AllPosts("published", 40));
    bool variant = false;
    for (const auto& p : Posts())
        variant = variant || p["variants"].value("sandbox", "") == "the sandbox's own \"words\"";
    EXPECT_TRUE(variant);
}

TEST_F(CliOperate, ImportJsonAndRejectUnknownFormats) {
    auto json = Write(
        "posts.json",
        nlohmann::json{
            {"posts", {{{"text", "a"}, {"account_ids", {account_}}}, {{"text", "b"}, {"account_ids", {account_}}}}}}
            .dump());
    auto r = Herald({"import", json.string(), "--as", user_.email});
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(Posts().size(), 2u);
    EXPECT_EQ(Posts()[0]["status"], "draft");
    auto txt = Write("posts.txt", "x");
    EXPECT_EQ(Herald({"import", txt.string(), "--as", user_.email}).code, 1);
    auto nobody = Herald({"import", json.string(), "--as", "nobody@example.com"});
    EXPECT_EQ(nobody.code, 1);
    EXPECT_NE(nobody.output.find("no user"), std::string::npos) << nobody.output;
}

TEST_F(CliOperate, InstallationPauseHoldsEveryWorkspaceUntilResumed) {
    auto pause = Herald({"queue", "pause", "--reason", "incident 12"});
    ASSERT_EQ(pause.code, 0) << pause.output;
    const auto now = std::chrono::time_point_cast<core::Millis>(std::chrono::system_clock::now());
    auto r = client().Post(
        "/api/v1/posts", {{"text", "held"}, {"account_ids", {account_}}, {"scheduled_at", domain::FormatRfc3339(now)}},
        user_.access_token);
    ASSERT_EQ(r.status, 201);
    // The workspace sees the operator's pause.
    auto pauses = client().Get("/api/v1/queue/pauses", user_.access_token).Json()["items"];
    ASSERT_EQ(pauses.size(), 1u);
    EXPECT_EQ(pauses[0]["scope"], "installation");
    EXPECT_EQ(pauses[0]["reason"], "incident 12");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(Posts()[0]["status"], "scheduled");

    auto listed = Herald({"queue", "pauses", "--json"});
    ASSERT_EQ(listed.code, 0);
    EXPECT_NE(listed.output.find("incident 12"), std::string::npos) << listed.output;
    auto jobs = Herald({"jobs", "list", "--state", "paused"});
    EXPECT_EQ(jobs.code, 0);
    EXPECT_NE(jobs.output.find("publish  paused"), std::string::npos) << jobs.output;
    EXPECT_EQ(Herald({"queue", "resume", "--platform", "x"}).code, 1) << "no such pause";
    auto resume = Herald({"queue", "resume"});
    ASSERT_EQ(resume.code, 0) << resume.output;
    EXPECT_NE(resume.output.find("resumed: 1 jobs"), std::string::npos) << resume.output;
    EXPECT_TRUE(AllPosts("published", 1));
    // Only the publish job: a periodic maintenance task may also have finished meanwhile.
    auto done = Herald({"jobs", "list", "--state", "done", "--kind", "publish", "--json"});
    ASSERT_EQ(done.code, 0);
    auto items = nlohmann::json::parse(done.output.substr(done.output.find('[')));
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0]["outcome"], "published");
    auto stats = Herald({"queue", "stats", "--workspace", user_.workspace_id, "--json"});
    EXPECT_EQ(stats.code, 0);
    EXPECT_NE(stats.output.find("\"finished_last_hour\":1"), std::string::npos) << stats.output;
}

}  // namespace
}  // namespace herald::testing
