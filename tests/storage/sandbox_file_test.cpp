// The sandbox keeps its posts in a database file of its own, beside the main one.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "core/ids.hpp"
#include "domain/time.hpp"
#include "scratch_database.hpp"
#include "storage/store.hpp"

namespace herald::storage {
namespace {

using ::testing::SizeIs;

const core::TimePoint kT0 = *domain::ParseRfc3339("2026-03-02T10:00:00Z");

// Sets up a user, a workspace and a sandbox account; returns the account id.
std::string AddSandboxAccount(app::Store& store) {
    const domain::User user{core::NewId(kT0), "ana@example.com", "Ana", kT0};
    const domain::Workspace ws{core::NewId(kT0), "Ana's", kT0};
    EXPECT_TRUE(store.CreateUserWithWorkspace(user, "hash", ws).has_value());
    const domain::Account account{core::NewId(kT0), ws.id, "sandbox", "sb", "{}", false, kT0};
    EXPECT_TRUE(store.InsertAccount(account, "").has_value());
    return account.id;
}

TEST(SandboxFile, PostsLiveBesideTheMainFileAndSurviveAReopen) {
    test_support::ScratchSqliteFile file;
    std::string account;
    {
        auto store = OpenStore(file.url(), {});
        ASSERT_TRUE(store.has_value()) << store.error().message;
        account = AddSandboxAccount(**store);
        EXPECT_FALSE(std::filesystem::exists(file.path().string() + "-sandbox"));  // only once used
        ASSERT_TRUE((*store)->SandboxInsert({"r1", account, "hello", "k1", kT0}, true).has_value());
        EXPECT_TRUE(std::filesystem::exists(file.path().string() + "-sandbox"));
    }
    auto reopened = OpenStore(file.url(), {});
    ASSERT_TRUE(reopened.has_value());
    auto listed = (*reopened)->SandboxList(account);
    ASSERT_TRUE(listed.has_value());
    ASSERT_THAT(*listed, SizeIs(1));
    EXPECT_EQ((*listed)[0].remote_id, "r1");
    EXPECT_EQ((*listed)[0].created_at, kT0);
}

TEST(SandboxFile, PostsAnOlderVersionKeptInTheMainFileAreCopiedOnce) {
    test_support::ScratchSqliteFile file;
    std::string account;
    {
        auto store = OpenStore(file.url(), {});
        ASSERT_TRUE(store.has_value());
        account = AddSandboxAccount(**store);
    }
    {
        // What an older Herald left: the post in the main file's own table.
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(file.path().c_str(), &db), SQLITE_OK);
        const std::string sql =
            "INSERT INTO sandbox_posts(remote_id, account_id, text, idempotency_key, created_at) VALUES ('old', '" +
            account + "', 'from before', 'k-old', 1)";
        EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(db);
    }
    auto store = OpenStore(file.url(), {});
    ASSERT_TRUE(store.has_value());
    auto found = (*store)->SandboxFind(account, "k-old");
    ASSERT_TRUE(found.has_value());
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->remote_id, "old");
    EXPECT_EQ((*found)->text, "from before");
    // A repeat of that key is deduplicated against the copied post.
    auto repeat = (*store)->SandboxInsert({"new", account, "again", "k-old", kT0}, true);
    ASSERT_TRUE(repeat.has_value());
    EXPECT_EQ(repeat->remote_id, "old");
    auto listed = (*store)->SandboxList(account);
    ASSERT_TRUE(listed.has_value());
    EXPECT_THAT(*listed, SizeIs(1));
}

}  // namespace
}  // namespace herald::storage
