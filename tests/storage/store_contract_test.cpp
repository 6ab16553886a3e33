// The storage contract (app::Store), written against the interface only so every backend runs the
// same cases: SQLite in a fresh temp file, and PostgreSQL in a fresh database of the server the
// suite shares (scripts/pg-test-cluster.sh).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "app/ports.hpp"
#include "core/ids.hpp"
#include "scratch_database.hpp"
#include "storage/store.hpp"

namespace herald::storage {
namespace {

using app::Store;
using core::ErrorCode;
using core::TimePoint;
using domain::DeliveryStatus;
using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// ---- backends -------------------------------------------------------------------------------

/// A new, empty database of one backend, named by a URL OpenStore understands. Destroying it
/// removes the database.
class ScratchDatabase {
  public:
    virtual ~ScratchDatabase() = default;
    virtual std::string Url() const = 0;
};

class SqliteScratch final : public ScratchDatabase {
  public:
    std::string Url() const override { return file_.url(); }

  private:
    test_support::ScratchSqliteFile file_;
};

class PostgresScratch final : public ScratchDatabase {
  public:
    std::string Url() const override { return db_.url(); }

  private:
    test_support::ScratchPgDatabase db_;
};

struct Backend {
    std::string name;
    /// nullptr when the backend is not available on this machine: its cases are skipped.
    std::function<std::unique_ptr<ScratchDatabase>()> make;
};

void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }

// ---- helpers --------------------------------------------------------------------------------

TimePoint Utc(int y, unsigned m, unsigned d, int hour = 0, int minute = 0) {
    return std::chrono::sys_days{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}} +
           std::chrono::hours{hour} + std::chrono::minutes{minute};
}

// Early enough that the store's own wall-clock stamps (AddMember) come later.
const TimePoint kT0 = Utc(2026, 1, 5, 12);

template <typename T>
::testing::AssertionResult Ok(const core::Result<T>& r) {
    if (r) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "error " << core::ToString(r.error().code) << ": " << r.error().message;
}

template <typename T>
::testing::AssertionResult FailsWith(const core::Result<T>& r, ErrorCode code) {
    if (r) return ::testing::AssertionFailure() << "succeeded, expected " << core::ToString(code);
    if (r.error().code == code) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "failed with " << core::ToString(r.error().code) << " ("
                                         << r.error().message << "), expected " << core::ToString(code);
}

struct Tenant {
    domain::User user;
    domain::Workspace workspace;
};

class StoreContract : public ::testing::TestWithParam<Backend> {
  protected:
    void SetUp() override {
        db_ = GetParam().make();
        if (!db_) GTEST_SKIP() << GetParam().name << " is not available here";
        auto opened = OpenStore(db_->Url(), StoreOptions{3});
        ASSERT_TRUE(Ok(opened));
        store_ = std::move(*opened);
    }

    Store& store() { return *store_; }

    Tenant AddTenant(const std::string& email, TimePoint at = kT0) {
        Tenant t{domain::User{core::NewId(at), email, "User " + email, at},
                 domain::Workspace{core::NewId(at), "Workspace of " + email, at}};
        EXPECT_TRUE(Ok(store().CreateUserWithWorkspace(t.user, "hash-of-" + email, t.workspace)));
        return t;
    }

    domain::Account AddAccount(const std::string& workspace_id, const std::string& name,
                               const std::string& sealed = "v1:sealed-credentials") {
        domain::Account a{core::NewId(kT0), workspace_id, "sandbox", name, R"({"mode":"ok"})", !sealed.empty(), kT0};
        EXPECT_TRUE(Ok(store().InsertAccount(a, sealed)));
        return a;
    }

    // A post with one delivery per account: scheduled when `at` is given, else a draft. Ids are
    // made at `id_time`, so posts built with increasing times list in that order.
    static domain::Post NewPost(const Tenant& t, const std::vector<std::string>& account_ids,
                                std::optional<TimePoint> at, TimePoint id_time = kT0) {
        domain::Post p;
        p.id = core::NewId(id_time);
        p.workspace_id = t.workspace.id;
        p.created_by = t.user.id;
        p.text = "hello from " + p.id;
        p.scheduled_at = at;
        p.status = at ? DeliveryStatus::kScheduled : DeliveryStatus::kDraft;
        p.created_at = id_time;
        p.updated_at = id_time;
        for (const auto& account_id : account_ids) {
            domain::Delivery d;
            d.id = core::NewId(id_time);
            d.post_id = p.id;
            d.account_id = account_id;
            d.status = p.status;
            d.updated_at = id_time;
            p.deliveries.push_back(d);
        }
        return p;
    }

    domain::Post AddPost(const Tenant& t, const std::vector<std::string>& account_ids, std::optional<TimePoint> at,
                         TimePoint id_time = kT0) {
        auto p = NewPost(t, account_ids, at, id_time);
        EXPECT_TRUE(Ok(store().CreatePost(p)));
        return p;
    }

    std::vector<app::ClaimedJob> Claim(TimePoint now, int limit = 10, core::Millis lease = 5min) {
        auto claimed = store().ClaimDueJobs(now, limit, now + lease);
        EXPECT_TRUE(Ok(claimed));
        return claimed ? *claimed : std::vector<app::ClaimedJob>{};
    }

    std::optional<TimePoint> NextDue() {
        auto next = store().NextDueAt();
        EXPECT_TRUE(Ok(next));
        return next ? *next : std::nullopt;
    }

    domain::Delivery OnlyDelivery(const std::string& workspace_id, const std::string& post_id) {
        auto post = store().GetPost(workspace_id, post_id);
        EXPECT_TRUE(Ok(post));
        if (!post || post->deliveries.size() != 1) {
            ADD_FAILURE() << "expected exactly one delivery";
            return {};
        }
        return post->deliveries.front();
    }

    std::unique_ptr<ScratchDatabase> db_;
    std::unique_ptr<Store> store_;  // declared last: closed before its database is removed
};

std::vector<std::string> Ids(const std::vector<domain::Post>& posts) {
    std::vector<std::string> out;
    for (const auto& p : posts) out.push_back(p.id);
    return out;
}

// ---- users, workspaces, members -------------------------------------------------------------

TEST_P(StoreContract, PingAnswers) { EXPECT_TRUE(Ok(store().Ping())); }

TEST_P(StoreContract, CreatesUserWithWorkspaceAsOwner) {
    const Tenant t = AddTenant("ana@example.com");

    auto found = store().FindUserByEmail("ana@example.com");
    ASSERT_TRUE(Ok(found));
    EXPECT_EQ(found->user.id, t.user.id);
    EXPECT_EQ(found->user.name, t.user.name);
    EXPECT_EQ(found->user.created_at, kT0);
    EXPECT_EQ(found->password_hash, "hash-of-ana@example.com");

    auto user = store().GetUser(t.user.id);
    ASSERT_TRUE(Ok(user));
    EXPECT_EQ(user->email, "ana@example.com");

    auto primary = store().PrimaryMembership(t.user.id);
    ASSERT_TRUE(Ok(primary));
    EXPECT_EQ(primary->workspace.id, t.workspace.id);
    EXPECT_EQ(primary->workspace.name, t.workspace.name);
    EXPECT_EQ(primary->role, domain::Role::kOwner);

    EXPECT_TRUE(FailsWith(store().FindUserByEmail("nobody@example.com"), ErrorCode::kNotFound));
    EXPECT_TRUE(FailsWith(store().GetUser("no-such-user"), ErrorCode::kNotFound));
    EXPECT_TRUE(FailsWith(store().PrimaryMembership("no-such-user"), ErrorCode::kNotFound));
}

TEST_P(StoreContract, DuplicateEmailIgnoringCaseIsAlreadyExistsOnField) {
    AddTenant("Ana@Example.com");
    const domain::User again{core::NewId(kT0), "ana@example.COM", "Another Ana", kT0};
    const domain::Workspace ws{core::NewId(kT0), "Second workspace", kT0};

    auto created = store().CreateUserWithWorkspace(again, "hash", ws);
    ASSERT_TRUE(FailsWith(created, ErrorCode::kAlreadyExists));
    EXPECT_EQ(created.error().details["field"], "email");

    // Nothing of the refused registration was written.
    EXPECT_TRUE(FailsWith(store().GetUser(again.id), ErrorCode::kNotFound));
    auto members = store().ListMembers(ws.id);
    ASSERT_TRUE(Ok(members));
    EXPECT_THAT(*members, IsEmpty());
}

TEST_P(StoreContract, MembershipsAndMembers) {
    const Tenant ana = AddTenant("ana@example.com");
    const Tenant bo = AddTenant("bo@example.com", kT0 + 1s);

    ASSERT_TRUE(Ok(store().AddMember(ana.workspace.id, bo.user.id, domain::Role::kEditor, kT0 + 2s)));

    auto bo_in_ana = store().GetMembership(bo.user.id, ana.workspace.id);
    ASSERT_TRUE(Ok(bo_in_ana));
    EXPECT_EQ(bo_in_ana->workspace.id, ana.workspace.id);
    EXPECT_EQ(bo_in_ana->role, domain::Role::kEditor);

    // Joining another workspace does not change which one is primary.
    auto bo_primary = store().PrimaryMembership(bo.user.id);
    ASSERT_TRUE(Ok(bo_primary));
    EXPECT_EQ(bo_primary->workspace.id, bo.workspace.id);
    EXPECT_EQ(bo_primary->role, domain::Role::kOwner);

    EXPECT_TRUE(FailsWith(store().GetMembership(ana.user.id, bo.workspace.id), ErrorCode::kNotFound));

    auto members = store().ListMembers(ana.workspace.id);
    ASSERT_TRUE(Ok(members));
    ASSERT_THAT(*members, SizeIs(2));
    EXPECT_EQ((*members)[0].user_id, ana.user.id);
    EXPECT_EQ((*members)[0].email, "ana@example.com");
    EXPECT_EQ((*members)[0].role, domain::Role::kOwner);
    EXPECT_EQ((*members)[1].user_id, bo.user.id);
    EXPECT_EQ((*members)[1].name, bo.user.name);
    EXPECT_EQ((*members)[1].role, domain::Role::kEditor);

    auto bo_members = store().ListMembers(bo.workspace.id);
    ASSERT_TRUE(Ok(bo_members));
    ASSERT_THAT(*bo_members, SizeIs(1));
    EXPECT_EQ((*bo_members)[0].user_id, bo.user.id);

    EXPECT_TRUE(FailsWith(store().AddMember(ana.workspace.id, bo.user.id, domain::Role::kAdmin, kT0 + 3s),
                          ErrorCode::kAlreadyExists));
    auto unchanged = store().GetMembership(bo.user.id, ana.workspace.id);
    ASSERT_TRUE(Ok(unchanged));
    EXPECT_EQ(unchanged->role, domain::Role::kEditor);
}

// ---- tokens ---------------------------------------------------------------------------------

TEST_P(StoreContract, RefreshTokenRotationAndReplay) {
    const Tenant t = AddTenant("ana@example.com");
    ASSERT_TRUE(Ok(store().InsertRefreshToken({"hash-1", t.user.id, t.workspace.id, "family-1", kT0 + 24h})));

    // The caller's identity fields in `next` are overwritten from the consumed token.
    auto second = store().RotateRefreshToken("hash-1", {"hash-2", "ignored", "ignored", "ignored", kT0 + 48h}, kT0);
    ASSERT_TRUE(Ok(second));
    EXPECT_EQ(second->token_hash, "hash-2");
    EXPECT_EQ(second->user_id, t.user.id);
    EXPECT_EQ(second->workspace_id, t.workspace.id);
    EXPECT_EQ(second->family_id, "family-1");
    EXPECT_EQ(second->expires_at, kT0 + 48h);

    // The new token works once...
    auto third = store().RotateRefreshToken("hash-2", {"hash-3", "", "", "", kT0 + 72h}, kT0 + 1min);
    ASSERT_TRUE(Ok(third));
    EXPECT_EQ(third->family_id, "family-1");

    // ...and replaying a consumed one revokes the whole family, the newest token included.
    EXPECT_TRUE(FailsWith(store().RotateRefreshToken("hash-1", {"hash-x", "", "", "", kT0 + 72h}, kT0 + 2min),
                          ErrorCode::kUnauthenticated));
    EXPECT_TRUE(FailsWith(store().RotateRefreshToken("hash-3", {"hash-4", "", "", "", kT0 + 72h}, kT0 + 3min),
                          ErrorCode::kUnauthenticated));
    // The refused rotations stored nothing usable.
    EXPECT_TRUE(FailsWith(store().RotateRefreshToken("hash-x", {"hash-5", "", "", "", kT0 + 72h}, kT0 + 4min),
                          ErrorCode::kUnauthenticated));
    EXPECT_TRUE(FailsWith(store().RotateRefreshToken("hash-4", {"hash-6", "", "", "", kT0 + 72h}, kT0 + 4min),
                          ErrorCode::kUnauthenticated));
}

TEST_P(StoreContract, ReplayDoesNotTouchOtherFamilies) {
    const Tenant t = AddTenant("ana@example.com");
    ASSERT_TRUE(Ok(store().InsertRefreshToken({"a-1", t.user.id, t.workspace.id, "family-a", kT0 + 24h})));
    ASSERT_TRUE(Ok(store().InsertRefreshToken({"b-1", t.user.id, t.workspace.id, "family-b", kT0 + 24h})));
    ASSERT_TRUE(Ok(store().RotateRefreshToken("a-1", {"a-2", "", "", "", kT0 + 24h}, kT0)));
    EXPECT_TRUE(
        FailsWith(store().RotateRefreshToken("a-1", {"a-3", "", "", "", kT0 + 24h}, kT0), ErrorCode::kUnauthenticated));

    auto other = store().RotateRefreshToken("b-1", {"b-2", "", "", "", kT0 + 24h}, kT0);
    ASSERT_TRUE(Ok(other));
    EXPECT_EQ(other->family_id, "family-b");
}

TEST_P(StoreContract, RefreshTokenExpiresAndCanBeRevoked) {
    const Tenant t = AddTenant("ana@example.com");
    ASSERT_TRUE(Ok(store().InsertRefreshToken({"old", t.user.id, t.workspace.id, "family-1", kT0 + 1h})));
    EXPECT_TRUE(FailsWith(store().RotateRefreshToken("old", {"new", "", "", "", kT0 + 3h}, kT0 + 2h),
                          ErrorCode::kUnauthenticated));
    EXPECT_TRUE(FailsWith(store().RotateRefreshToken("never-issued", {"new2", "", "", "", kT0 + 2h}, kT0),
                          ErrorCode::kUnauthenticated));

    ASSERT_TRUE(Ok(store().InsertRefreshToken({"live", t.user.id, t.workspace.id, "family-2", kT0 + 1h})));
    ASSERT_TRUE(Ok(store().RevokeRefreshFamily("live")));
    EXPECT_TRUE(FailsWith(store().RotateRefreshToken("live", {"new3", "", "", "", kT0 + 2h}, kT0),
                          ErrorCode::kUnauthenticated));
    EXPECT_TRUE(FailsWith(store().RevokeRefreshFamily("never-issued"), ErrorCode::kUnauthenticated));
}

TEST_P(StoreContract, ApiTokensInsertFindListRevoke) {
    const Tenant ana = AddTenant("ana@example.com");
    const Tenant bo = AddTenant("bo@example.com");
    const app::ApiTokenRecord first{core::NewId(kT0), "ci", "token-hash-1", ana.user.id,
                                    ana.workspace.id, kT0,  std::nullopt,   false};
    const app::ApiTokenRecord second{core::NewId(kT0 + 1s), "laptop", "token-hash-2", ana.user.id,
                                     ana.workspace.id,      kT0 + 1s, std::nullopt,   false};
    const app::ApiTokenRecord bos{core::NewId(kT0), "bo", "token-hash-3", bo.user.id,
                                  bo.workspace.id,  kT0,  std::nullopt,   false};
    ASSERT_TRUE(Ok(store().InsertApiToken(first)));
    ASSERT_TRUE(Ok(store().InsertApiToken(second)));
    ASSERT_TRUE(Ok(store().InsertApiToken(bos)));

    auto found = store().FindApiToken("token-hash-1");
    ASSERT_TRUE(Ok(found));
    EXPECT_EQ(found->id, first.id);
    EXPECT_EQ(found->name, "ci");
    EXPECT_EQ(found->user_id, ana.user.id);
    EXPECT_EQ(found->workspace_id, ana.workspace.id);
    EXPECT_EQ(found->created_at, kT0);
    EXPECT_FALSE(found->last_used_at.has_value());
    EXPECT_FALSE(found->revoked);
    EXPECT_TRUE(FailsWith(store().FindApiToken("unknown-hash"), ErrorCode::kUnauthenticated));

    auto listed = store().ListApiTokens(ana.workspace.id, ana.user.id);
    ASSERT_TRUE(Ok(listed));
    ASSERT_THAT(*listed, SizeIs(2));
    EXPECT_EQ((*listed)[0].id, first.id);
    EXPECT_EQ((*listed)[1].id, second.id);

    // Revoking is scoped to the owner's workspace and user.
    EXPECT_TRUE(FailsWith(store().RevokeApiToken(bo.workspace.id, bo.user.id, first.id), ErrorCode::kNotFound));
    EXPECT_TRUE(
        FailsWith(store().RevokeApiToken(ana.workspace.id, ana.user.id, "no-such-token"), ErrorCode::kNotFound));
    ASSERT_TRUE(Ok(store().RevokeApiToken(ana.workspace.id, ana.user.id, first.id)));

    auto revoked = store().FindApiToken("token-hash-1");
    ASSERT_TRUE(Ok(revoked));
    EXPECT_TRUE(revoked->revoked);
    auto still = store().FindApiToken("token-hash-2");
    ASSERT_TRUE(Ok(still));
    EXPECT_FALSE(still->revoked);

    app::ApiTokenRecord clash = second;
    clash.id = core::NewId(kT0 + 2s);
    EXPECT_TRUE(FailsWith(store().InsertApiToken(clash), ErrorCode::kAlreadyExists));
}

// ---- accounts -------------------------------------------------------------------------------

TEST_P(StoreContract, AccountsAreScopedToTheirWorkspace) {
    const Tenant ana = AddTenant("ana@example.com");
    const Tenant bo = AddTenant("bo@example.com");
    const auto with_creds = AddAccount(ana.workspace.id, "main");
    const auto without_creds = AddAccount(ana.workspace.id, "plain", "");
    const auto bos = AddAccount(bo.workspace.id, "bo's");

    auto got = store().GetAccount(ana.workspace.id, with_creds.id);
    ASSERT_TRUE(Ok(got));
    EXPECT_EQ(got->name, "main");
    EXPECT_EQ(got->platform, "sandbox");
    EXPECT_EQ(got->settings_json, R"({"mode":"ok"})");
    EXPECT_EQ(got->workspace_id, ana.workspace.id);
    EXPECT_EQ(got->created_at, kT0);
    EXPECT_TRUE(got->has_credentials);

    auto plain = store().GetAccount(ana.workspace.id, without_creds.id);
    ASSERT_TRUE(Ok(plain));
    EXPECT_FALSE(plain->has_credentials);

    EXPECT_TRUE(FailsWith(store().GetAccount(ana.workspace.id, bos.id), ErrorCode::kNotFound));
    EXPECT_TRUE(FailsWith(store().GetAccount(bo.workspace.id, with_creds.id), ErrorCode::kNotFound));

    auto listed = store().ListAccounts(ana.workspace.id);
    ASSERT_TRUE(Ok(listed));
    ASSERT_THAT(*listed, SizeIs(2));
    for (const auto& a : *listed) EXPECT_EQ(a.workspace_id, ana.workspace.id);
    auto bo_listed = store().ListAccounts(bo.workspace.id);
    ASSERT_TRUE(Ok(bo_listed));
    ASSERT_THAT(*bo_listed, SizeIs(1));
    EXPECT_EQ((*bo_listed)[0].id, bos.id);
}

// ---- posts ----------------------------------------------------------------------------------

TEST_P(StoreContract, CreatePostWritesDeliveriesAndAJobOnlyWhenScheduled) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto b = AddAccount(t.workspace.id, "b");

    const auto draft = AddPost(t, {a.id, b.id}, std::nullopt);
    EXPECT_EQ(NextDue(), std::nullopt);
    EXPECT_THAT(Claim(kT0 + 365 * 24h), IsEmpty());

    auto got = store().GetPost(t.workspace.id, draft.id);
    ASSERT_TRUE(Ok(got));
    EXPECT_EQ(got->status, DeliveryStatus::kDraft);
    EXPECT_FALSE(got->scheduled_at.has_value());
    ASSERT_THAT(got->deliveries, SizeIs(2));
    for (const auto& d : got->deliveries) EXPECT_EQ(d.status, DeliveryStatus::kDraft);

    auto scheduled = NewPost(t, {a.id, b.id}, kT0 + 1h, kT0 + 1s);
    scheduled.variants["sandbox"] = "short text";
    scheduled.local_time = "2026-01-05T13:00";
    scheduled.time_zone = "UTC";
    ASSERT_TRUE(Ok(store().CreatePost(scheduled)));
    EXPECT_EQ(NextDue(), kT0 + 1h);

    got = store().GetPost(t.workspace.id, scheduled.id);
    ASSERT_TRUE(Ok(got));
    EXPECT_EQ(got->workspace_id, t.workspace.id);
    EXPECT_EQ(got->created_by, t.user.id);
    EXPECT_EQ(got->text, scheduled.text);
    EXPECT_EQ(got->variants, scheduled.variants);
    EXPECT_EQ(got->scheduled_at, kT0 + 1h);
    EXPECT_EQ(got->local_time, "2026-01-05T13:00");
    EXPECT_EQ(got->time_zone, "UTC");
    EXPECT_EQ(got->status, DeliveryStatus::kScheduled);
    EXPECT_EQ(got->created_at, kT0 + 1s);
    ASSERT_THAT(got->deliveries, SizeIs(2));
    for (const auto& d : got->deliveries) {
        EXPECT_EQ(d.post_id, scheduled.id);
        EXPECT_EQ(d.status, DeliveryStatus::kScheduled);
        EXPECT_EQ(d.attempts, 0);
    }

    // One job per scheduled delivery, and none for the draft.
    EXPECT_THAT(Claim(kT0 + 1h - 1ms), IsEmpty());
    EXPECT_THAT(Claim(kT0 + 1h), SizeIs(2));
}

TEST_P(StoreContract, GetPostIsScopedToItsWorkspace) {
    const Tenant ana = AddTenant("ana@example.com");
    const Tenant bo = AddTenant("bo@example.com");
    const auto a = AddAccount(ana.workspace.id, "a");
    const auto post = AddPost(ana, {a.id}, kT0 + 1h);

    EXPECT_TRUE(Ok(store().GetPost(ana.workspace.id, post.id)));
    EXPECT_TRUE(FailsWith(store().GetPost(bo.workspace.id, post.id), ErrorCode::kNotFound));
    EXPECT_TRUE(FailsWith(store().GetPost(ana.workspace.id, "no-such-post"), ErrorCode::kNotFound));
    auto bo_list = store().ListPosts(bo.workspace.id, {});
    ASSERT_TRUE(Ok(bo_list));
    EXPECT_THAT(*bo_list, IsEmpty());
}

TEST_P(StoreContract, ListPostsFiltersAndPagesNewestFirst) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto b = AddAccount(t.workspace.id, "b");
    const auto p1 = AddPost(t, {a.id}, std::nullopt, kT0 + 1s);
    const auto p2 = AddPost(t, {a.id}, kT0 + 1h, kT0 + 2s);
    const auto p3 = AddPost(t, {b.id}, kT0 + 2h, kT0 + 3s);
    const auto p4 = AddPost(t, {a.id, b.id}, kT0 + 3h, kT0 + 4s);

    auto list = [&](app::PostFilter f) {
        auto r = store().ListPosts(t.workspace.id, f);
        EXPECT_TRUE(Ok(r));
        return r ? Ids(*r) : std::vector<std::string>{};
    };

    EXPECT_THAT(list({}), ElementsAre(p4.id, p3.id, p2.id, p1.id));

    app::PostFilter f;
    f.status = DeliveryStatus::kScheduled;
    EXPECT_THAT(list(f), ElementsAre(p4.id, p3.id, p2.id));
    f = {};
    f.status = DeliveryStatus::kDraft;
    EXPECT_THAT(list(f), ElementsAre(p1.id));
    f = {};
    f.status = DeliveryStatus::kPublished;
    EXPECT_THAT(list(f), IsEmpty());

    f = {};
    f.account_id = b.id;
    EXPECT_THAT(list(f), ElementsAre(p4.id, p3.id));
    f.account_id = a.id;
    EXPECT_THAT(list(f), ElementsAre(p4.id, p2.id, p1.id));

    f = {};
    f.from = kT0 + 2h;
    EXPECT_THAT(list(f), ElementsAre(p4.id, p3.id));
    f = {};
    f.to = kT0 + 2h;
    EXPECT_THAT(list(f), ElementsAre(p2.id));
    f = {};
    f.from = kT0 + 2h;
    f.to = kT0 + 3h;
    EXPECT_THAT(list(f), ElementsAre(p3.id));

    f = {};
    f.limit = 2;
    EXPECT_THAT(list(f), ElementsAre(p4.id, p3.id));
    f.after_id = p3.id;
    EXPECT_THAT(list(f), ElementsAre(p2.id, p1.id));
    f.after_id = p1.id;
    EXPECT_THAT(list(f), IsEmpty());

    // Filters combine, and listed posts carry their deliveries.
    f = {};
    f.account_id = a.id;
    f.status = DeliveryStatus::kScheduled;
    f.limit = 1;
    auto r = store().ListPosts(t.workspace.id, f);
    ASSERT_TRUE(Ok(r));
    ASSERT_THAT(*r, SizeIs(1));
    EXPECT_EQ((*r)[0].id, p4.id);
    EXPECT_THAT((*r)[0].deliveries, SizeIs(2));
}

TEST_P(StoreContract, UpdatePostReplacesTheJob) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto post = AddPost(t, {a.id}, kT0 + 1h);
    ASSERT_EQ(NextDue(), kT0 + 1h);

    auto updated = store().UpdatePost(t.workspace.id, post.id, [&](const domain::Post& current) {
        domain::Post next = current;
        next.text = "edited";
        next.scheduled_at = kT0 + 2h;
        next.updated_at = kT0 + 1min;
        return core::Result<domain::Post>(next);
    });
    ASSERT_TRUE(Ok(updated));
    EXPECT_EQ(updated->text, "edited");
    EXPECT_EQ(NextDue(), kT0 + 2h);

    auto got = store().GetPost(t.workspace.id, post.id);
    ASSERT_TRUE(Ok(got));
    EXPECT_EQ(got->text, "edited");
    EXPECT_EQ(got->scheduled_at, kT0 + 2h);
    EXPECT_EQ(got->updated_at, kT0 + 1min);

    // The old job is gone, not merely joined by a new one.
    EXPECT_THAT(Claim(kT0 + 1h), IsEmpty());
    auto claimed = Claim(kT0 + 3h);
    ASSERT_THAT(claimed, SizeIs(1));
    EXPECT_EQ(claimed[0].job.due_at, kT0 + 2h);
    EXPECT_EQ(claimed[0].text, "edited");
}

TEST_P(StoreContract, UpdatePostToDraftDropsTheJobAndRemovedDeliveries) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto b = AddAccount(t.workspace.id, "b");
    const auto post = AddPost(t, {a.id, b.id}, kT0 + 1h);

    auto updated = store().UpdatePost(t.workspace.id, post.id, [&](const domain::Post& current) {
        domain::Post next = current;
        next.scheduled_at.reset();
        next.status = DeliveryStatus::kDraft;
        next.deliveries.clear();
        for (auto d : current.deliveries) {
            if (d.account_id != a.id) continue;
            d.status = DeliveryStatus::kDraft;
            next.deliveries.push_back(d);
        }
        return core::Result<domain::Post>(next);
    });
    ASSERT_TRUE(Ok(updated));
    EXPECT_EQ(NextDue(), std::nullopt);
    auto d = OnlyDelivery(t.workspace.id, post.id);
    EXPECT_EQ(d.account_id, a.id);
    EXPECT_EQ(d.status, DeliveryStatus::kDraft);
}

TEST_P(StoreContract, UpdatePostEditErrorWritesNothing) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto post = AddPost(t, {a.id}, kT0 + 1h);

    bool called = false;
    auto updated = store().UpdatePost(t.workspace.id, post.id, [&](const domain::Post& current) {
        called = true;
        EXPECT_EQ(current.id, post.id);
        EXPECT_THAT(current.deliveries, SizeIs(1));
        return core::Result<domain::Post>(
            core::Fail(ErrorCode::kFailedPrecondition, "not now", {{"status", "publishing"}}));
    });
    EXPECT_TRUE(called);
    ASSERT_TRUE(FailsWith(updated, ErrorCode::kFailedPrecondition));
    EXPECT_EQ(updated.error().message, "not now");
    EXPECT_EQ(updated.error().details["status"], "publishing");

    auto got = store().GetPost(t.workspace.id, post.id);
    ASSERT_TRUE(Ok(got));
    EXPECT_EQ(got->text, post.text);
    EXPECT_EQ(got->scheduled_at, kT0 + 1h);
    EXPECT_EQ(NextDue(), kT0 + 1h);
    EXPECT_THAT(Claim(kT0 + 1h), SizeIs(1));

    bool other_called = false;
    EXPECT_TRUE(FailsWith(store().UpdatePost(t.workspace.id, "no-such-post",
                                             [&](const domain::Post& p) {
                                                 other_called = true;
                                                 return core::Result<domain::Post>(p);
                                             }),
                          ErrorCode::kNotFound));
    EXPECT_FALSE(other_called);
}

TEST_P(StoreContract, DeletePostHonoursTheCheck) {
    const Tenant ana = AddTenant("ana@example.com");
    const Tenant bo = AddTenant("bo@example.com");
    const auto a = AddAccount(ana.workspace.id, "a");
    const auto post = AddPost(ana, {a.id}, kT0 + 1h);

    auto refused = store().DeletePost(ana.workspace.id, post.id, [](const domain::Post&) -> core::Status {
        return core::Fail(ErrorCode::kFailedPrecondition, "published already");
    });
    EXPECT_TRUE(FailsWith(refused, ErrorCode::kFailedPrecondition));
    EXPECT_TRUE(Ok(store().GetPost(ana.workspace.id, post.id)));
    EXPECT_EQ(NextDue(), kT0 + 1h);

    EXPECT_TRUE(
        FailsWith(store().DeletePost(bo.workspace.id, post.id, [](const domain::Post&) -> core::Status { return {}; }),
                  ErrorCode::kNotFound));
    EXPECT_TRUE(Ok(store().GetPost(ana.workspace.id, post.id)));

    std::string seen_id;
    ASSERT_TRUE(Ok(store().DeletePost(ana.workspace.id, post.id, [&](const domain::Post& p) -> core::Status {
        seen_id = p.id;
        return {};
    })));
    EXPECT_EQ(seen_id, post.id);
    EXPECT_TRUE(FailsWith(store().GetPost(ana.workspace.id, post.id), ErrorCode::kNotFound));
    EXPECT_EQ(NextDue(), std::nullopt);
    EXPECT_THAT(Claim(kT0 + 2h), IsEmpty());
}

// ---- the queue ------------------------------------------------------------------------------

TEST_P(StoreContract, ClaimTakesOnlyDueJobsUpToTheLimitAndNeverTwice) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a", "v1:secret-box");
    auto first = NewPost(t, {a.id}, kT0 + 1min, kT0 + 1s);
    first.variants["sandbox"] = "the sandbox variant";
    ASSERT_TRUE(Ok(store().CreatePost(first)));
    const auto second = AddPost(t, {a.id}, kT0 + 2min, kT0 + 2s);
    const auto later = AddPost(t, {a.id}, kT0 + 10min, kT0 + 3s);

    EXPECT_THAT(Claim(kT0), IsEmpty());

    const TimePoint now = kT0 + 5min;
    auto claimed = Claim(now, 1);
    ASSERT_THAT(claimed, SizeIs(1));
    const auto& c = claimed[0];
    EXPECT_EQ(c.job.delivery_id, first.deliveries[0].id);
    EXPECT_EQ(c.job.workspace_id, t.workspace.id);
    EXPECT_EQ(c.job.state, domain::JobState::kRunning);
    EXPECT_EQ(c.job.attempts, 1);
    EXPECT_EQ(c.job.max_attempts, 3);
    EXPECT_EQ(c.job.due_at, kT0 + 1min);
    EXPECT_EQ(c.job.lease_until, now + 5min);
    EXPECT_EQ(c.delivery.id, first.deliveries[0].id);
    EXPECT_EQ(c.delivery.status, DeliveryStatus::kQueued);
    EXPECT_EQ(c.delivery.attempts, 1);
    EXPECT_EQ(c.account.id, a.id);
    EXPECT_EQ(c.account.platform, "sandbox");
    EXPECT_EQ(c.sealed_credentials, "v1:secret-box");
    EXPECT_EQ(c.text, "the sandbox variant");

    auto got = store().GetPost(t.workspace.id, first.id);
    ASSERT_TRUE(Ok(got));
    EXPECT_EQ(got->status, DeliveryStatus::kQueued);
    ASSERT_THAT(got->deliveries, SizeIs(1));
    EXPECT_EQ(got->deliveries[0].status, DeliveryStatus::kQueued);

    auto again = Claim(now, 10);
    ASSERT_THAT(again, SizeIs(1));
    EXPECT_NE(again[0].job.id, c.job.id);
    EXPECT_EQ(again[0].job.delivery_id, second.deliveries[0].id);
    EXPECT_EQ(again[0].text, second.text);

    EXPECT_THAT(Claim(now, 10), IsEmpty());
    EXPECT_EQ(OnlyDelivery(t.workspace.id, later.id).status, DeliveryStatus::kScheduled);
}

TEST_P(StoreContract, ClaimMarksPublishingWhereTheCallerSaysSo) {
    const Tenant t = AddTenant("ana@example.com");
    const auto dedupes = AddAccount(t.workspace.id, "dedupes");
    const auto plain = AddAccount(t.workspace.id, "plain");
    const auto both = AddPost(t, {dedupes.id, plain.id}, kT0 + 1min, kT0 + 1s);
    const auto only_plain = AddPost(t, {plain.id}, kT0 + 1min, kT0 + 2s);
    const TimePoint now = kT0 + 2min;

    std::vector<std::string> asked;
    auto claimed = store().ClaimDueJobs(now, 10, now + 5min, [&](const domain::Account& account) {
        asked.push_back(account.name);
        return account.id == dedupes.id;
    });
    ASSERT_TRUE(Ok(claimed));
    ASSERT_THAT(*claimed, SizeIs(3));
    EXPECT_THAT(asked, SizeIs(3));
    std::string marked_job;
    for (const auto& c : *claimed) {
        if (c.account.id == dedupes.id) {
            marked_job = c.job.id;
            EXPECT_EQ(c.delivery.status, DeliveryStatus::kPublishing);
            ASSERT_TRUE(c.marked.has_value());
            EXPECT_EQ(c.marked->workspace_id, t.workspace.id);
            EXPECT_EQ(c.marked->post_id, both.id);
            // A post with one delivery publishing and one queued shows publishing.
            EXPECT_EQ(c.marked->post_status, DeliveryStatus::kPublishing);
            EXPECT_EQ(c.marked->delivery.status, DeliveryStatus::kPublishing);
            EXPECT_EQ(c.marked->delivery.attempts, 1);
            EXPECT_EQ(c.marked->delivery.updated_at, now);
        } else {
            EXPECT_EQ(c.delivery.status, DeliveryStatus::kQueued);
            EXPECT_FALSE(c.marked.has_value());
        }
    }
    auto stored = store().GetPost(t.workspace.id, both.id);
    ASSERT_TRUE(Ok(stored));
    EXPECT_EQ(stored->status, DeliveryStatus::kPublishing);
    for (const auto& d : stored->deliveries) {
        EXPECT_EQ(d.status, d.account_id == dedupes.id ? DeliveryStatus::kPublishing : DeliveryStatus::kQueued);
    }
    EXPECT_EQ(OnlyDelivery(t.workspace.id, only_plain.id).status, DeliveryStatus::kQueued);

    // Handed back unsent (shutdown), a marked delivery is scheduled again, like a queued one.
    auto released = store().ReleaseJob(marked_job, now + 1s);
    ASSERT_TRUE(Ok(released));
    EXPECT_EQ(released->delivery.status, DeliveryStatus::kScheduled);
    auto again = store().ClaimDueJobs(now + 2s, 10, now + 5min, [](const domain::Account&) { return true; });
    ASSERT_TRUE(Ok(again));
    ASSERT_THAT(*again, SizeIs(1));
    EXPECT_EQ((*again)[0].job.id, marked_job);
    EXPECT_FALSE((*again)[0].job.uncertain);
    EXPECT_TRUE((*again)[0].marked.has_value());

    // A marked claim whose worker died may have been sent: it comes back uncertain; the queued
    // ones were not sent and come back as they were.
    auto rescued = store().RescueExpiredLeases(now + 1h);
    ASSERT_TRUE(Ok(rescued));
    EXPECT_THAT(*rescued, SizeIs(3));
    auto retried = Claim(now + 1h);
    ASSERT_THAT(retried, SizeIs(3));
    for (const auto& c : retried) EXPECT_EQ(c.job.uncertain, c.job.id == marked_job) << c.account.name;
}

TEST_P(StoreContract, MarkPublishingMovesTheDeliveryOn) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto post = AddPost(t, {a.id}, kT0 + 1min);
    auto claimed = Claim(kT0 + 1min);
    ASSERT_THAT(claimed, SizeIs(1));

    auto marked = store().MarkPublishing(claimed[0].job.id, kT0 + 1min + 1s);
    ASSERT_TRUE(Ok(marked));
    ASSERT_TRUE(marked->has_value());
    const auto& change = **marked;
    EXPECT_EQ(change.workspace_id, t.workspace.id);
    EXPECT_EQ(change.post_id, post.id);
    EXPECT_EQ(change.post_status, DeliveryStatus::kPublishing);
    EXPECT_EQ(change.delivery.status, DeliveryStatus::kPublishing);
    EXPECT_EQ(change.delivery.updated_at, kT0 + 1min + 1s);
    EXPECT_EQ(OnlyDelivery(t.workspace.id, post.id).status, DeliveryStatus::kPublishing);

    auto unknown = store().MarkPublishing("no-such-job", kT0 + 2min);
    ASSERT_TRUE(Ok(unknown));
    EXPECT_FALSE(unknown->has_value());
}

TEST_P(StoreContract, MarkPublishingRefusesAClaimTheEditOvertook) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto post = AddPost(t, {a.id}, kT0 + 1min);
    auto claimed = Claim(kT0 + 1min);
    ASSERT_THAT(claimed, SizeIs(1));

    // A person reschedules the post while the worker holds its claim.
    ASSERT_TRUE(Ok(store().UpdatePost(t.workspace.id, post.id, [&](const domain::Post& current) {
        domain::Post next = current;
        next.scheduled_at = kT0 + 1h;
        next.status = DeliveryStatus::kScheduled;
        for (auto& d : next.deliveries) d.status = DeliveryStatus::kScheduled;
        return core::Result<domain::Post>(next);
    })));

    auto marked = store().MarkPublishing(claimed[0].job.id, kT0 + 1min + 1s);
    ASSERT_TRUE(Ok(marked));
    EXPECT_FALSE(marked->has_value());
    EXPECT_EQ(OnlyDelivery(t.workspace.id, post.id).status, DeliveryStatus::kScheduled);

    // The stale job is gone for good; only the edited post's own job remains.
    auto rescued = store().RescueExpiredLeases(kT0 + 30min);
    ASSERT_TRUE(Ok(rescued));
    EXPECT_THAT(*rescued, IsEmpty());
    EXPECT_EQ(NextDue(), kT0 + 1h);
    auto reclaimed = Claim(kT0 + 1h);
    ASSERT_THAT(reclaimed, SizeIs(1));
    EXPECT_NE(reclaimed[0].job.id, claimed[0].job.id);
    EXPECT_EQ(reclaimed[0].job.due_at, kT0 + 1h);
}

TEST_P(StoreContract, RecordOutcomePublished) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto post = AddPost(t, {a.id}, kT0 + 1min);
    auto claimed = Claim(kT0 + 1min);
    ASSERT_THAT(claimed, SizeIs(1));
    ASSERT_TRUE(Ok(store().MarkPublishing(claimed[0].job.id, kT0 + 1min)));

    const TimePoint done = kT0 + 1min + 2s;
    app::OutcomeRecord outcome{DeliveryStatus::kPublished};
    outcome.remote_id = "remote-1";
    outcome.url = "https://example.invalid/remote-1";
    auto change = store().RecordOutcome(claimed[0].job.id, outcome, done);
    ASSERT_TRUE(Ok(change));
    EXPECT_EQ(change->workspace_id, t.workspace.id);
    EXPECT_EQ(change->post_id, post.id);
    EXPECT_EQ(change->post_status, DeliveryStatus::kPublished);
    EXPECT_EQ(change->delivery.status, DeliveryStatus::kPublished);
    EXPECT_EQ(change->delivery.remote_id, "remote-1");
    EXPECT_EQ(change->delivery.url, "https://example.invalid/remote-1");
    EXPECT_EQ(change->delivery.published_at, done);

    auto got = store().GetPost(t.workspace.id, post.id);
    ASSERT_TRUE(Ok(got));
    EXPECT_EQ(got->status, DeliveryStatus::kPublished);
    ASSERT_THAT(got->deliveries, SizeIs(1));
    EXPECT_EQ(got->deliveries[0].remote_id, "remote-1");
    EXPECT_EQ(got->deliveries[0].published_at, done);

    // The job is finished: nothing to wake for, claim, or rescue.
    EXPECT_EQ(NextDue(), std::nullopt);
    EXPECT_THAT(Claim(kT0 + 24h), IsEmpty());
    auto rescued = store().RescueExpiredLeases(kT0 + 24h);
    ASSERT_TRUE(Ok(rescued));
    EXPECT_THAT(*rescued, IsEmpty());
    EXPECT_TRUE(FailsWith(store().RecordOutcome(claimed[0].job.id, outcome, done), ErrorCode::kNotFound));
}

TEST_P(StoreContract, RecordOutcomeRetryReschedulesTheSameJob) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto post = AddPost(t, {a.id}, kT0 + 1min);
    auto claimed = Claim(kT0 + 1min);
    ASSERT_THAT(claimed, SizeIs(1));
    ASSERT_TRUE(Ok(store().MarkPublishing(claimed[0].job.id, kT0 + 1min)));

    const TimePoint retry_at = kT0 + 11min;
    app::OutcomeRecord outcome{DeliveryStatus::kScheduled};
    outcome.error = "temporarily unavailable";
    outcome.next_attempt_at = retry_at;
    auto change = store().RecordOutcome(claimed[0].job.id, outcome, kT0 + 1min);
    ASSERT_TRUE(Ok(change));
    EXPECT_EQ(change->post_status, DeliveryStatus::kScheduled);
    EXPECT_EQ(change->delivery.status, DeliveryStatus::kScheduled);
    EXPECT_EQ(change->delivery.next_attempt_at, retry_at);
    EXPECT_EQ(change->delivery.error, "temporarily unavailable");
    EXPECT_FALSE(change->delivery.published_at.has_value());

    EXPECT_EQ(NextDue(), retry_at);
    EXPECT_THAT(Claim(retry_at - 1ms), IsEmpty());
    auto again = Claim(retry_at);
    ASSERT_THAT(again, SizeIs(1));
    EXPECT_EQ(again[0].job.id, claimed[0].job.id);
    EXPECT_EQ(again[0].job.attempts, 2);
    EXPECT_EQ(again[0].job.due_at, retry_at);
    EXPECT_EQ(again[0].delivery.status, DeliveryStatus::kQueued);
    EXPECT_EQ(again[0].delivery.attempts, 2);
}

TEST_P(StoreContract, RecordOutcomeFailedForGood) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto post = AddPost(t, {a.id}, kT0 + 1min);
    auto claimed = Claim(kT0 + 1min);
    ASSERT_THAT(claimed, SizeIs(1));
    ASSERT_TRUE(Ok(store().MarkPublishing(claimed[0].job.id, kT0 + 1min)));

    app::OutcomeRecord outcome{DeliveryStatus::kFailed};
    outcome.error = "the platform rejected the post";
    outcome.job_dead = true;
    auto change = store().RecordOutcome(claimed[0].job.id, outcome, kT0 + 2min);
    ASSERT_TRUE(Ok(change));
    EXPECT_EQ(change->post_status, DeliveryStatus::kFailed);
    EXPECT_EQ(change->delivery.status, DeliveryStatus::kFailed);
    EXPECT_EQ(change->delivery.error, "the platform rejected the post");
    EXPECT_FALSE(change->delivery.next_attempt_at.has_value());

    auto got = store().GetPost(t.workspace.id, post.id);
    ASSERT_TRUE(Ok(got));
    EXPECT_EQ(got->status, DeliveryStatus::kFailed);
    EXPECT_EQ(NextDue(), std::nullopt);
    EXPECT_THAT(Claim(kT0 + 24h), IsEmpty());
    auto age = store().OldestDueAge(kT0 + 24h);
    ASSERT_TRUE(Ok(age));
    EXPECT_EQ(*age, core::Millis(0));
}

// ---- rate limits -----------------------------------------------------------------------------

TEST_P(StoreContract, PermitsCountExactlyAreSharedBetweenConnectionsAndSurviveReopening) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const TimePoint at = kT0 + 1min;
    std::vector<domain::Post> posts;
    for (int i = 0; i < 3; ++i) posts.push_back(AddPost(t, {a.id}, at, kT0 + std::chrono::seconds(i)));
    auto claimed = Claim(at);
    ASSERT_THAT(claimed, SizeIs(3));
    const ratelimit::Limit two_an_hour{2, 0, core::Millis(0)};
    const auto ask = [&](const app::ClaimedJob& c) {
        return app::PermitRequest{c.job.id, a.id, ratelimit::PostOnly(two_an_hour)};
    };
    using Kind = app::PermitDecision::Kind;

    auto first = store().TakePermits({ask(claimed[0]), ask(claimed[1])}, at, 5min);
    ASSERT_TRUE(Ok(first));
    EXPECT_EQ((*first)[0].kind, Kind::kGranted);
    EXPECT_EQ((*first)[1].kind, Kind::kGranted);

    // Another connection (another process) sees both permits: the third waits an hour. While
    // in flight they count as happening now, so the hour runs from the moment of asking.
    auto other = OpenStore(db_->Url(), StoreOptions{3});
    ASSERT_TRUE(Ok(other));
    auto third = (*other)->TakePermits({ask(claimed[2])}, at + 1s, 5min);
    ASSERT_TRUE(Ok(third));
    ASSERT_EQ((*third)[0].kind, Kind::kDeferred);
    EXPECT_EQ((*third)[0].at, at + 1s + 1h);
    EXPECT_EQ((*third)[0].reason, "hourly cap of 2 posts reached");
    ASSERT_TRUE((*third)[0].change.has_value());
    EXPECT_EQ((*third)[0].change->delivery.status, DeliveryStatus::kRateLimited);
    EXPECT_EQ((*third)[0].change->post_status, DeliveryStatus::kRateLimited);
    const auto deferred = OnlyDelivery(t.workspace.id, claimed[2].delivery.post_id);
    EXPECT_EQ(deferred.status, DeliveryStatus::kRateLimited);
    EXPECT_EQ(deferred.next_attempt_at, at + 1s + 1h);
    EXPECT_EQ(deferred.attempts, 0);  // the claim's attempt was given back
    EXPECT_THAT(deferred.error.value_or(""), ::testing::HasSubstr("will publish at 2026-01-05T13:01:01Z"));
    // Asking again for a job that is no longer claimed gets nothing.
    auto gone = store().TakePermits({ask(claimed[2])}, at + 2s, 5min);
    ASSERT_TRUE(Ok(gone));
    EXPECT_EQ((*gone)[0].kind, Kind::kGone);

    // One was published, the other refused by the platform: only the first counts.
    app::OutcomeRecord published{DeliveryStatus::kPublished};
    app::OutcomeRecord refused{DeliveryStatus::kFailed};
    refused.error = "no";
    refused.job_dead = true;
    ASSERT_TRUE(Ok(
        store().RecordOutcomes({{claimed[0].job.id, published, true}, {claimed[1].job.id, refused, true}}, at + 10s)));

    // Reopened from the file, the log still holds the published one, at its recording time.
    store_.reset();
    other->reset();
    auto reopened = OpenStore(db_->Url(), StoreOptions{3});
    ASSERT_TRUE(Ok(reopened));
    store_ = std::move(*reopened);
    EXPECT_THAT(Claim(at + 1s + 1h - 1ms), IsEmpty());
    auto again = Claim(at + 1s + 1h);
    ASSERT_THAT(again, SizeIs(1));
    EXPECT_EQ(again[0].job.attempts, 1);
    EXPECT_EQ(again[0].delivery.status, DeliveryStatus::kQueued);
    // One more post: 2 in the hour with the published one (at + 10 s), so the next waits for it.
    const auto late = AddPost(t, {a.id}, at + 1s + 1h, kT0 + 10s);
    auto late_claim = Claim(at + 1s + 1h);
    ASSERT_THAT(late_claim, SizeIs(1));
    auto decisions = store().TakePermits({ask(again[0]), ask(late_claim[0])}, at + 1s + 1h, 5min);
    ASSERT_TRUE(Ok(decisions));
    EXPECT_EQ((*decisions)[0].kind, Kind::kGranted);
    ASSERT_EQ((*decisions)[1].kind, Kind::kDeferred);
    EXPECT_EQ((*decisions)[1].at, at + 10s + 1h);
    EXPECT_EQ(OnlyDelivery(t.workspace.id, late.id).status, DeliveryStatus::kRateLimited);
}

TEST_P(StoreContract, PlanInputsReadManyAccountsInOnePassAsEachAlone) {
    const Tenant t = AddTenant("ana@example.com");
    std::vector<std::string> ids;
    for (int i = 0; i < 40; ++i) {
        const auto a = AddAccount(t.workspace.id, "a" + std::to_string(i));
        ids.push_back(a.id);
        for (int k = 0; k < i % 4; ++k)
            AddPost(t, {a.id}, kT0 + std::chrono::minutes(k + 1), kT0 + std::chrono::seconds(k));
    }
    // One job holding a permit, one paused: the first is left out, the second flagged.
    auto claimed = Claim(kT0 + 1min, 1);
    ASSERT_THAT(claimed, SizeIs(1));
    ASSERT_TRUE(Ok(store().TakePermits(
        {app::PermitRequest{claimed[0].job.id, claimed[0].account.id, ratelimit::PostOnly(ratelimit::Limit{})}},
        kT0 + 1min, 5min)));
    ASSERT_TRUE(Ok(store().Pause({t.workspace.id, ids[3], std::nullopt}, std::nullopt, t.user.id, kT0)));
    const auto key = [](const app::AccountPlanInput& in) {
        std::vector<std::string> out;
        for (const auto& w : in.waiting) out.push_back(std::string(w.job_id) + (w.paused ? " paused" : ""));
        std::sort(out.begin(), out.end());
        return out;
    };
    auto all = store().LoadPlanInputs(ids, kT0 + 1min, 5min);
    ASSERT_TRUE(Ok(all));
    ASSERT_THAT(*all, SizeIs(40));
    size_t jobs = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
        auto one = store().LoadPlanInputs({ids[i]}, kT0 + 1min, 5min);
        ASSERT_TRUE(Ok(one));
        ASSERT_THAT(*one, SizeIs(1));
        EXPECT_EQ((*all)[i].account.id, ids[i]);
        EXPECT_EQ(key((*all)[i]), key(one->front())) << "account " << i;
        jobs += (*all)[i].waiting.size();
    }
    EXPECT_EQ(jobs, 10u * 6 - 1);  // 0+1+2+3 posts per four accounts, less the one holding a permit
    bool saw_paused = false;
    for (const auto& w : (*all)[3].waiting) saw_paused = saw_paused || w.paused;
    EXPECT_TRUE(saw_paused);
}

TEST_P(StoreContract, APermitInFlightCountsAsNowAndADeadWorkersAsItsLatestMoment) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const ratelimit::Limit gap{0, 0, core::Millis(10min)};
    using Kind = app::PermitDecision::Kind;
    const auto take = [&](const app::ClaimedJob& c, TimePoint now) {
        auto d = store().TakePermits({app::PermitRequest{c.job.id, a.id, ratelimit::PostOnly(gap)}}, now, 5min);
        EXPECT_TRUE(Ok(d));
        return d ? d->front() : app::PermitDecision{};
    };
    AddPost(t, {a.id}, kT0, kT0);
    AddPost(t, {a.id}, kT0 + 1min, kT0 + 1s);
    auto one = Claim(kT0);
    ASSERT_THAT(one, SizeIs(1));
    EXPECT_EQ(take(one[0], kT0).kind, Kind::kGranted);
    // While the first is in flight, the second measures its gap from now, not from the permit.
    auto two = Claim(kT0 + 1min);
    ASSERT_THAT(two, SizeIs(1));
    auto d = take(two[0], kT0 + 1min);
    ASSERT_EQ(d.kind, Kind::kDeferred);
    EXPECT_EQ(d.at, kT0 + 11min);
    EXPECT_EQ(d.reason, "at least 10 min must pass between posts");
    // The first's answer is recorded at +2 min: the gap runs from there.
    ASSERT_TRUE(Ok(
        store().RecordOutcomes({{one[0].job.id, app::OutcomeRecord{DeliveryStatus::kPublished}, true}}, kT0 + 2min)));
    two = Claim(kT0 + 11min);
    ASSERT_THAT(two, SizeIs(1));
    d = take(two[0], kT0 + 11min);
    ASSERT_EQ(d.kind, Kind::kDeferred);
    EXPECT_EQ(d.at, kT0 + 12min);
    two = Claim(kT0 + 12min);
    ASSERT_THAT(two, SizeIs(1));
    ASSERT_EQ(take(two[0], kT0 + 12min).kind, Kind::kGranted);
    // Its worker dies mid-call. Rescued after the lease, the retry counts the lost call as
    // made at the latest moment it could have been (permit + in-flight time, 5 min).
    auto rescued = store().RescueExpiredLeases(kT0 + 18min);
    ASSERT_TRUE(Ok(rescued));
    ASSERT_THAT(*rescued, SizeIs(1));
    auto retry = Claim(kT0 + 18min);
    ASSERT_THAT(retry, SizeIs(1));
    d = take(retry[0], kT0 + 18min);
    ASSERT_EQ(d.kind, Kind::kDeferred);
    EXPECT_EQ(d.at, kT0 + 17min + 10min);
}

TEST_P(StoreContract, APlatformsRetryAfterHoldsTheAccountWithoutUsingAnAttempt) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto first = AddPost(t, {a.id}, kT0, kT0);
    AddPost(t, {a.id}, kT0, kT0 + 1s);
    auto claimed = Claim(kT0);
    ASSERT_THAT(claimed, SizeIs(2));
    app::OutcomeRecord slow{DeliveryStatus::kRateLimited};
    slow.next_attempt_at = kT0 + 90s;
    slow.error = "HTTP 429; will publish at 2026-01-05T12:01:30Z";
    ASSERT_TRUE(Ok(store().RecordOutcomes({{claimed[0].job.id, slow, false}}, kT0 + 1s)));
    const auto held = OnlyDelivery(t.workspace.id, first.id);
    EXPECT_EQ(held.status, DeliveryStatus::kRateLimited);
    EXPECT_EQ(held.attempts, 0);
    EXPECT_EQ(held.next_attempt_at, kT0 + 90s);
    // The account's other job, with no caps of its own, meets the hold.
    auto d = store().TakePermits({app::PermitRequest{claimed[1].job.id, a.id, ratelimit::PostOnly(ratelimit::Limit{})}},
                                 kT0 + 2s, 5min);
    ASSERT_TRUE(Ok(d));
    ASSERT_EQ(d->front().kind, app::PermitDecision::Kind::kDeferred);
    EXPECT_EQ(d->front().at, kT0 + 90s);
    EXPECT_EQ(d->front().reason, "HTTP 429");
    EXPECT_THAT(Claim(kT0 + 90s - 1ms), IsEmpty());
    auto both = Claim(kT0 + 90s);
    ASSERT_THAT(both, SizeIs(2));
    for (const auto& c : both) EXPECT_EQ(c.job.attempts, 1);
}

TEST_P(StoreContract, ReleaseJobHandsAClaimBack) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto post = AddPost(t, {a.id}, kT0 + 1min);
    auto claimed = Claim(kT0 + 1min);
    ASSERT_THAT(claimed, SizeIs(1));

    auto change = store().ReleaseJob(claimed[0].job.id, kT0 + 2min);
    ASSERT_TRUE(Ok(change));
    EXPECT_EQ(change->workspace_id, t.workspace.id);
    EXPECT_EQ(change->post_status, DeliveryStatus::kScheduled);
    EXPECT_EQ(change->delivery.status, DeliveryStatus::kScheduled);
    EXPECT_EQ(OnlyDelivery(t.workspace.id, post.id).status, DeliveryStatus::kScheduled);

    // Pending again at its old due time, and the released attempt does not count.
    EXPECT_EQ(NextDue(), kT0 + 1min);
    auto again = Claim(kT0 + 2min);
    ASSERT_THAT(again, SizeIs(1));
    EXPECT_EQ(again[0].job.id, claimed[0].job.id);
    EXPECT_EQ(again[0].job.attempts, 1);

    EXPECT_TRUE(FailsWith(store().ReleaseJob("no-such-job", kT0 + 2min), ErrorCode::kNotFound));
}

TEST_P(StoreContract, RescueExpiredLeases) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto never_sent = AddPost(t, {a.id}, kT0 + 1min, kT0 + 1s);
    const auto in_flight = AddPost(t, {a.id}, kT0 + 1min, kT0 + 2s);

    const TimePoint claimed_at = kT0 + 1min;
    const TimePoint lease_until = claimed_at + 5min;
    auto claimed = Claim(claimed_at, 10, 5min);
    ASSERT_THAT(claimed, SizeIs(2));
    std::string in_flight_job, never_sent_job;
    for (const auto& c : claimed) {
        (c.delivery.post_id == in_flight.id ? in_flight_job : never_sent_job) = c.job.id;
    }
    ASSERT_FALSE(in_flight_job.empty());
    ASSERT_FALSE(never_sent_job.empty());
    auto marked = store().MarkPublishing(in_flight_job, claimed_at);
    ASSERT_TRUE(Ok(marked));
    ASSERT_TRUE(marked->has_value());

    // A lease still running is left alone.
    auto early = store().RescueExpiredLeases(lease_until - 1ms);
    ASSERT_TRUE(Ok(early));
    EXPECT_THAT(*early, IsEmpty());
    EXPECT_EQ(OnlyDelivery(t.workspace.id, in_flight.id).status, DeliveryStatus::kPublishing);

    const TimePoint later = lease_until + 1ms;
    auto rescued = store().RescueExpiredLeases(later);
    ASSERT_TRUE(Ok(rescued));
    ASSERT_THAT(*rescued, SizeIs(2));
    for (const auto& change : *rescued) {
        EXPECT_EQ(change.workspace_id, t.workspace.id);
        // Both come back scheduled; the one that may have been sent says so.
        EXPECT_EQ(change.delivery.status, DeliveryStatus::kScheduled);
        EXPECT_EQ(change.post_status, DeliveryStatus::kScheduled);
        if (change.post_id == in_flight.id) {
            ASSERT_TRUE(change.delivery.error.has_value());
            EXPECT_NE(change.delivery.error->find("checking"), std::string::npos);
        } else {
            EXPECT_EQ(change.post_id, never_sent.id);
        }
    }

    // Both can be claimed again at once; only the one that was in flight is marked uncertain,
    // so the dispatcher checks with the platform before sending it.
    auto again = Claim(later, 10);
    ASSERT_THAT(again, SizeIs(2));
    for (const auto& c : again) {
        if (c.job.id == in_flight_job) {
            EXPECT_TRUE(c.job.uncertain);
        } else {
            EXPECT_EQ(c.job.id, never_sent_job);
            EXPECT_FALSE(c.job.uncertain);
            EXPECT_EQ(c.job.attempts, 1);
        }
    }
    for (const auto& c : again) {
        ASSERT_TRUE(Ok(store().MarkPublishing(c.job.id, later)));
        ASSERT_TRUE(Ok(store().RecordOutcome(c.job.id, app::OutcomeRecord{DeliveryStatus::kPublished}, later)));
    }
    auto twice = store().RescueExpiredLeases(later + 24h);
    ASSERT_TRUE(Ok(twice));
    EXPECT_THAT(*twice, IsEmpty());
    EXPECT_THAT(Claim(later + 24h), IsEmpty());
    EXPECT_EQ(NextDue(), std::nullopt);
}

TEST_P(StoreContract, RescueAllLeasesTakesBackUnexpiredOnesToo) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    AddPost(t, {a.id}, kT0 + 1min);
    auto claimed = Claim(kT0 + 1min, 10, 5min);
    ASSERT_THAT(claimed, SizeIs(1));
    ASSERT_TRUE(Ok(store().MarkPublishing(claimed[0].job.id, kT0 + 1min)));
    // Long before the lease ends: a new process that owns the store knows the old one is dead.
    EXPECT_THAT(*store().RescueExpiredLeases(kT0 + 2min), IsEmpty());
    auto all = store().RescueAllLeases(kT0 + 2min);
    ASSERT_TRUE(Ok(all));
    ASSERT_THAT(*all, SizeIs(1));
    auto again = Claim(kT0 + 2min, 10);
    ASSERT_THAT(again, SizeIs(1));
    EXPECT_TRUE(again[0].job.uncertain);
}

TEST_P(StoreContract, ResolveDeliveryRetriesOrRecordsAPersonsDecision) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto post = AddPost(t, {a.id}, kT0 + 1min);
    auto claimed = Claim(kT0 + 1min, 10);
    ASSERT_THAT(claimed, SizeIs(1));
    const std::string delivery = claimed[0].delivery.id;
    using Action = app::DeliveryResolution::Action;
    // Scheduled/queued work is not for a person to resolve.
    EXPECT_TRUE(FailsWith(store().ResolveDelivery(t.workspace.id, post.id, delivery, {Action::kRetry}, kT0 + 1min),
                          ErrorCode::kFailedPrecondition));
    ASSERT_TRUE(Ok(store().MarkPublishing(claimed[0].job.id, kT0 + 1min)));
    app::OutcomeRecord unknown{DeliveryStatus::kUnconfirmed};
    unknown.error = "no answer";
    unknown.job_dead = true;
    ASSERT_TRUE(Ok(store().RecordOutcome(claimed[0].job.id, unknown, kT0 + 1min)));
    EXPECT_THAT(Claim(kT0 + 2min), IsEmpty());

    // Another workspace cannot touch it.
    const Tenant other = AddTenant("bo@example.com");
    EXPECT_TRUE(FailsWith(store().ResolveDelivery(other.workspace.id, post.id, delivery, {Action::kRetry}, kT0 + 2min),
                          ErrorCode::kNotFound));
    EXPECT_TRUE(FailsWith(store().ResolveDelivery(t.workspace.id, post.id, "nope", {Action::kRetry}, kT0 + 2min),
                          ErrorCode::kNotFound));

    // Retry: scheduled again, a fresh job due now.
    auto retried = store().ResolveDelivery(t.workspace.id, post.id, delivery, {Action::kRetry}, kT0 + 2min);
    ASSERT_TRUE(Ok(retried));
    EXPECT_EQ(retried->status, DeliveryStatus::kScheduled);
    EXPECT_EQ(retried->deliveries[0].status, DeliveryStatus::kScheduled);
    EXPECT_EQ(retried->deliveries[0].attempts, 0);  // a person's retry starts afresh
    EXPECT_EQ(NextDue(), kT0 + 2min);
    auto again = Claim(kT0 + 2min, 10);
    ASSERT_THAT(again, SizeIs(1));
    EXPECT_EQ(again[0].job.attempts, 1);
    EXPECT_FALSE(again[0].job.uncertain);
    ASSERT_TRUE(Ok(store().MarkPublishing(again[0].job.id, kT0 + 2min)));
    ASSERT_TRUE(Ok(store().RecordOutcome(again[0].job.id, unknown, kT0 + 2min)));

    // Mark as published: the person's URL is recorded; a published one cannot be retried.
    app::DeliveryResolution mark{Action::kMarkPublished, "https://example.social/p/1", "p1"};
    auto marked = store().ResolveDelivery(t.workspace.id, post.id, delivery, mark, kT0 + 3min);
    ASSERT_TRUE(Ok(marked));
    EXPECT_EQ(marked->status, DeliveryStatus::kPublished);
    EXPECT_EQ(marked->deliveries[0].url, "https://example.social/p/1");
    EXPECT_EQ(marked->deliveries[0].remote_id, "p1");
    EXPECT_EQ(marked->deliveries[0].published_at, kT0 + 3min);
    EXPECT_TRUE(FailsWith(store().ResolveDelivery(t.workspace.id, post.id, delivery, {Action::kRetry}, kT0 + 4min),
                          ErrorCode::kFailedPrecondition));
    EXPECT_EQ(NextDue(), std::nullopt);
}

TEST_P(StoreContract, NextDueAtIncludesLeaseEnds) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    AddPost(t, {a.id}, kT0 + 1min);
    ASSERT_THAT(Claim(kT0 + 1min, 10, 5min), SizeIs(1));
    // Nothing is pending, but the scheduler sleeps until NextDueAt and must wake when the lease
    // runs out to rescue the job.
    EXPECT_EQ(NextDue(), kT0 + 6min);
}

TEST_P(StoreContract, OldestDueAge) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    AddPost(t, {a.id}, kT0 + 1min, kT0 + 1s);
    AddPost(t, {a.id}, kT0 + 3min, kT0 + 2s);

    auto age = [&](TimePoint now) {
        auto r = store().OldestDueAge(now);
        EXPECT_TRUE(Ok(r));
        return r ? *r : core::Millis(-1);
    };
    EXPECT_EQ(age(kT0), core::Millis(0));
    EXPECT_EQ(age(kT0 + 1min), core::Millis(0));
    EXPECT_EQ(age(kT0 + 5min), core::Millis(4min));

    // Claimed but not yet sent still waits (a worker may be stuck behind others)...
    auto first = Claim(kT0 + 5min, 1);
    ASSERT_THAT(first, SizeIs(1));
    EXPECT_EQ(age(kT0 + 5min), core::Millis(4min));
    // ...being sent does not: only the other one still waits.
    ASSERT_TRUE(Ok(store().MarkPublishing(first[0].job.id, kT0 + 5min)));
    EXPECT_EQ(age(kT0 + 5min), core::Millis(2min));
    auto second = Claim(kT0 + 5min, 1);
    ASSERT_THAT(second, SizeIs(1));
    ASSERT_TRUE(Ok(store().MarkPublishing(second[0].job.id, kT0 + 5min)));
    EXPECT_EQ(age(kT0 + 5min), core::Millis(0));
}

// ---- sandbox --------------------------------------------------------------------------------

TEST_P(StoreContract, SandboxInsertDeduplicatesOnlyWhenAsked) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto b = AddAccount(t.workspace.id, "b");

    auto first = store().SandboxInsert({"remote-1", a.id, "hello", "key-1", kT0}, true);
    ASSERT_TRUE(Ok(first));
    EXPECT_EQ(first->remote_id, "remote-1");
    EXPECT_EQ(first->text, "hello");
    EXPECT_EQ(first->created_at, kT0);

    // The same key again returns what is stored, not the new attempt.
    auto repeat = store().SandboxInsert({"remote-2", a.id, "hello again", "key-1", kT0 + 1min}, true);
    ASSERT_TRUE(Ok(repeat));
    EXPECT_EQ(repeat->remote_id, "remote-1");
    EXPECT_EQ(repeat->text, "hello");
    EXPECT_EQ(repeat->created_at, kT0);

    auto other_key = store().SandboxInsert({"remote-3", a.id, "second post", "key-2", kT0 + 2min}, true);
    ASSERT_TRUE(Ok(other_key));
    EXPECT_EQ(other_key->remote_id, "remote-3");
    auto other_account = store().SandboxInsert({"remote-4", b.id, "hello", "key-1", kT0 + 3min}, true);
    ASSERT_TRUE(Ok(other_account));
    EXPECT_EQ(other_account->remote_id, "remote-4");

    auto listed = store().SandboxList(a.id);
    ASSERT_TRUE(Ok(listed));
    ASSERT_THAT(*listed, SizeIs(2));
    EXPECT_EQ((*listed)[0].remote_id, "remote-1");
    EXPECT_EQ((*listed)[0].idempotency_key, "key-1");
    EXPECT_EQ((*listed)[1].remote_id, "remote-3");

    // A platform that does not deduplicate keeps both; a lookup finds the first.
    auto dup = store().SandboxInsert({"remote-5", b.id, "hello", "key-1", kT0 + 4min}, false);
    ASSERT_TRUE(Ok(dup));
    EXPECT_EQ(dup->remote_id, "remote-5");
    auto listed_b = store().SandboxList(b.id);
    ASSERT_TRUE(Ok(listed_b));
    ASSERT_THAT(*listed_b, SizeIs(2));
    auto found = store().SandboxFind(b.id, "key-1");
    ASSERT_TRUE(Ok(found));
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->remote_id, "remote-4");
    auto missing = store().SandboxFind(b.id, "key-9");
    ASSERT_TRUE(Ok(missing));
    EXPECT_FALSE(missing->has_value());
}

// ---- tasks: jobs of other kinds than publish ------------------------------------------------

app::NewTask Task(const std::string& id, TimePoint due, int priority = domain::kDefaultPriority, int max_attempts = 3,
                  domain::JobKind kind = domain::JobKind::kCleanup) {
    app::NewTask t;
    t.id = id;
    t.kind = kind;
    t.payload = R"({"why":"test"})";
    t.priority = priority;
    t.max_attempts = max_attempts;
    t.due_at = due;
    return t;
}

TEST_P(StoreContract, SandboxInsertBatchDeduplicatesAgainstStoredPostsAndWithinTheBatch) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    ASSERT_TRUE(Ok(store().SandboxInsert({"stored", a.id, "earlier", "key-old", kT0}, true)));

    auto out = store().SandboxInsertBatch({{"r1", a.id, "repeat of stored", "key-old", kT0 + 1s},
                                           {"r2", a.id, "new", "key-new", kT0 + 2s},
                                           {"r3", a.id, "repeat in batch", "key-new", kT0 + 3s},
                                           {"r4", a.id, "no dedupe", "key-new", kT0 + 4s},
                                           {"r5", a.id, "no dedupe either", "key-new", kT0 + 5s}},
                                          {true, true, true, false, false});
    ASSERT_TRUE(Ok(out));
    ASSERT_THAT(*out, SizeIs(5));
    EXPECT_EQ((*out)[0].remote_id, "stored");
    EXPECT_EQ((*out)[0].text, "earlier");
    EXPECT_EQ((*out)[1].remote_id, "r2");
    EXPECT_EQ((*out)[2].remote_id, "r2");  // the first copy in the batch wins
    EXPECT_EQ((*out)[2].text, "new");
    EXPECT_EQ((*out)[3].remote_id, "r4");  // a platform without dedupe stores every copy
    EXPECT_EQ((*out)[4].remote_id, "r5");

    auto listed = store().SandboxList(a.id);
    ASSERT_TRUE(Ok(listed));
    std::vector<std::string> ids;
    for (const auto& p : *listed) ids.push_back(p.remote_id);
    EXPECT_THAT(ids, ::testing::UnorderedElementsAre("stored", "r2", "r4", "r5"));
}

std::optional<app::JobRecord> JobIn(Store& store, const std::string& id) {
    auto found = store.FindJob(id);
    EXPECT_TRUE(Ok(found));
    return found ? *found : std::nullopt;
}

TEST_P(StoreContract, ClaimReturnsTasksBesidePublishJobsAndPublishJobsAsBefore) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a", "v1:secret-box");
    const auto post = AddPost(t, {a.id}, kT0 + 1min);
    ASSERT_TRUE(Ok(store().EnqueueTask(Task("task-1", kT0 + 2min, 9), kT0)));
    EXPECT_EQ(NextDue(), kT0 + 1min);

    const TimePoint now = kT0 + 5min;
    auto claimed = Claim(now, 10, 5min);
    ASSERT_THAT(claimed, SizeIs(2));
    // Priority 9 before 5, whatever the due times.
    const auto& task = claimed[0];
    EXPECT_FALSE(task.is_publish());
    EXPECT_EQ(task.job.id, "task-1");
    EXPECT_EQ(task.job.kind, domain::JobKind::kCleanup);
    EXPECT_EQ(task.job.payload, R"({"why":"test"})");
    EXPECT_EQ(task.job.state, domain::JobState::kRunning);
    EXPECT_EQ(task.job.attempts, 1);
    EXPECT_EQ(task.job.max_attempts, 3);
    EXPECT_EQ(task.job.priority, 9);
    EXPECT_EQ(task.job.lease_until, now + 5min);
    EXPECT_TRUE(task.job.delivery_id.empty());
    EXPECT_TRUE(task.delivery.id.empty());
    EXPECT_TRUE(task.account.id.empty());

    const auto& publish = claimed[1];
    EXPECT_TRUE(publish.is_publish());
    EXPECT_EQ(publish.job.delivery_id, post.deliveries[0].id);
    EXPECT_EQ(publish.delivery.status, DeliveryStatus::kQueued);
    EXPECT_EQ(publish.account.id, a.id);
    EXPECT_EQ(publish.sealed_credentials, "v1:secret-box");
    EXPECT_EQ(publish.text, post.text);
    EXPECT_EQ(OnlyDelivery(t.workspace.id, post.id).status, DeliveryStatus::kQueued);

    // The publishing steps refuse a task instead of looking for a delivery it does not have.
    auto marked = store().MarkPublishingBatch({"task-1", publish.job.id}, now);
    ASSERT_TRUE(Ok(marked));
    ASSERT_THAT(*marked, SizeIs(2));
    EXPECT_FALSE((*marked)[0].has_value());
    ASSERT_TRUE((*marked)[1].has_value());
    EXPECT_EQ((*marked)[1]->delivery.status, DeliveryStatus::kPublishing);
    EXPECT_TRUE(FailsWith(store().RecordOutcome("task-1", app::OutcomeRecord{DeliveryStatus::kPublished}, now),
                          ErrorCode::kNotFound));
    auto task_record = JobIn(store(), "task-1");
    ASSERT_TRUE(task_record.has_value());
    EXPECT_EQ(task_record->job.state, domain::JobState::kRunning);

    EXPECT_THAT(Claim(now, 10), IsEmpty());
}

TEST_P(StoreContract, EnqueueTaskOncePerIdAndNeverAPublishJob) {
    ASSERT_TRUE(Ok(store().EnqueueTask(Task("import-1", kT0, 5, 3, domain::JobKind::kImport), kT0)));
    auto again = store().EnqueueTask(Task("import-1", kT0 + 1h, 5, 3, domain::JobKind::kImport), kT0);
    ASSERT_TRUE(Ok(again));
    EXPECT_FALSE(*again);
    auto record = JobIn(store(), "import-1");
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->job.kind, domain::JobKind::kImport);
    EXPECT_EQ(record->job.state, domain::JobState::kPending);
    EXPECT_EQ(record->job.due_at, kT0);

    // Finished, it is still known by its id: the same id is not queued a second time.
    auto claimed = Claim(kT0);
    ASSERT_THAT(claimed, SizeIs(1));
    ASSERT_TRUE(Ok(store().CompleteTask("import-1", 1, app::TaskOutcome{}, kT0 + 1s)));
    auto after = store().EnqueueTask(Task("import-1", kT0, 5, 3, domain::JobKind::kImport), kT0 + 2s);
    ASSERT_TRUE(Ok(after));
    EXPECT_FALSE(*after);
    EXPECT_THAT(Claim(kT0 + 1h), IsEmpty());

    EXPECT_TRUE(FailsWith(store().EnqueueTask(Task("p", kT0, 5, 3, domain::JobKind::kPublish), kT0),
                          ErrorCode::kInvalidArgument));
    EXPECT_TRUE(FailsWith(store().EnqueueTask(Task("bad", kT0, 11), kT0), ErrorCode::kInvalidArgument));
    EXPECT_FALSE(JobIn(store(), "p").has_value());
}

TEST_P(StoreContract, CompleteTaskRecordsDoneRetryAndDead) {
    using Kind = app::TaskOutcome::Kind;
    ASSERT_TRUE(Ok(store().EnqueueTask(Task("flaky", kT0), kT0)));
    ASSERT_TRUE(Ok(store().EnqueueTask(Task("doomed", kT0), kT0)));
    ASSERT_TRUE(Ok(store().EnqueueTask(Task("fine", kT0), kT0)));
    ASSERT_THAT(Claim(kT0), SizeIs(3));

    auto retried = store().CompleteTask("flaky", 1, app::TaskOutcome{Kind::kRetry, "busy", kT0 + 10min}, kT0 + 1s);
    ASSERT_TRUE(Ok(retried));
    EXPECT_TRUE(*retried);
    auto dead = store().CompleteTask("doomed", 1, app::TaskOutcome{Kind::kDead, "cannot ever work", {}}, kT0 + 1s);
    ASSERT_TRUE(Ok(dead));
    EXPECT_TRUE(*dead);
    auto done = store().CompleteTask("fine", 1, app::TaskOutcome{}, kT0 + 2s);
    ASSERT_TRUE(Ok(done));
    EXPECT_TRUE(*done);

    auto flaky = JobIn(store(), "flaky");
    ASSERT_TRUE(flaky.has_value());
    EXPECT_EQ(flaky->job.state, domain::JobState::kPending);
    EXPECT_EQ(flaky->job.due_at, kT0 + 10min);
    EXPECT_EQ(flaky->last_error, "busy");
    auto doomed = JobIn(store(), "doomed");
    ASSERT_TRUE(doomed.has_value());
    EXPECT_EQ(doomed->job.state, domain::JobState::kDead);
    EXPECT_EQ(doomed->last_error, "cannot ever work");
    auto fine = JobIn(store(), "fine");
    ASSERT_TRUE(fine.has_value());
    EXPECT_EQ(fine->job.state, domain::JobState::kDone);
    EXPECT_EQ(fine->outcome, "done");
    EXPECT_EQ(fine->updated_at, kT0 + 2s);

    // Only the retry comes back, at its time, as attempt 2.
    EXPECT_EQ(NextDue(), kT0 + 10min);
    EXPECT_THAT(Claim(kT0 + 10min - 1ms), IsEmpty());
    auto again = Claim(kT0 + 10min);
    ASSERT_THAT(again, SizeIs(1));
    EXPECT_EQ(again[0].job.id, "flaky");
    EXPECT_EQ(again[0].job.attempts, 2);

    // A worker that lost its claim (attempt 1 was taken over as attempt 2) records nothing.
    auto stale = store().CompleteTask("flaky", 1, app::TaskOutcome{}, kT0 + 11min);
    ASSERT_TRUE(Ok(stale));
    EXPECT_FALSE(*stale);
    EXPECT_EQ(JobIn(store(), "flaky")->job.state, domain::JobState::kRunning);
    auto missing = store().CompleteTask("no-such-job", 1, app::TaskOutcome{}, kT0);
    ASSERT_TRUE(Ok(missing));
    EXPECT_FALSE(*missing);
}

TEST_P(StoreContract, TaskLeasesRunOutLikeAnyOtherAndEndDeadAfterMaxAttempts) {
    ASSERT_TRUE(Ok(store().EnqueueTask(Task("crashy", kT0, 5, 2), kT0)));
    ASSERT_THAT(Claim(kT0, 10, 5min), SizeIs(1));

    // A task's rescue has no delivery to report: nothing comes back as a delivery change.
    auto rescued = store().RescueExpiredLeases(kT0 + 5min + 1ms);
    ASSERT_TRUE(Ok(rescued));
    EXPECT_THAT(*rescued, IsEmpty());
    auto record = JobIn(store(), "crashy");
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->job.state, domain::JobState::kPending);
    EXPECT_EQ(record->job.attempts, 1);  // the cut-short attempt counts
    ASSERT_TRUE(record->last_error.has_value());

    auto second = Claim(kT0 + 6min, 10, 5min);
    ASSERT_THAT(second, SizeIs(1));
    EXPECT_EQ(second[0].job.attempts, 2);
    auto all = store().RescueAllLeases(kT0 + 7min);
    ASSERT_TRUE(Ok(all));
    EXPECT_THAT(*all, IsEmpty());
    record = JobIn(store(), "crashy");
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->job.state, domain::JobState::kDead);
    EXPECT_THAT(*record->last_error, ::testing::HasSubstr("stopped before it finished"));
    EXPECT_THAT(Claim(kT0 + 24h), IsEmpty());

    // Handing back a claimed, never started task (shutdown) makes it pending, attempt not spent.
    ASSERT_TRUE(Ok(store().EnqueueTask(Task("handed-back", kT0 + 1h), kT0)));
    ASSERT_THAT(Claim(kT0 + 1h), SizeIs(1));
    auto released = store().ReleaseJob("handed-back", kT0 + 1h);
    ASSERT_TRUE(Ok(released));
    EXPECT_TRUE(released->delivery.id.empty());
    auto back = Claim(kT0 + 1h);
    ASSERT_THAT(back, SizeIs(1));
    EXPECT_EQ(back[0].job.attempts, 1);
}

// ---- periodic schedules ---------------------------------------------------------------------

domain::PeriodicSchedule Schedule(const std::string& name, const std::string& cron, const std::string& zone = "UTC") {
    domain::PeriodicSchedule s;
    s.name = name;
    s.kind = domain::JobKind::kCleanup;
    s.cron = cron;
    s.time_zone = zone;
    s.priority = 4;
    s.max_attempts = 2;
    return s;
}

std::optional<domain::PeriodicSchedule> PeriodicNamed(Store& store, const std::string& name) {
    auto all = store.ListPeriodic();
    EXPECT_TRUE(Ok(all));
    if (!all) return std::nullopt;
    for (const auto& s : *all) {
        if (s.name == name) return s;
    }
    return std::nullopt;
}

TEST_P(StoreContract, UpsertPeriodicKeepsWhatAnOperatorChanged) {
    auto first = store().UpsertPeriodic(Schedule("cleanup", "0 2 * * *"), kT0 + 1h, kT0);
    ASSERT_TRUE(Ok(first));
    EXPECT_EQ(first->cron, "0 2 * * *");
    EXPECT_EQ(first->next_run_at, kT0 + 1h);
    EXPECT_FALSE(first->last_run_at.has_value());
    EXPECT_TRUE(first->enabled);

    // An operator moves it to 03:30 Berlin time and turns it off; the change clears the next run
    // so that it is planned from the new cron.
    app::PeriodicUpdate update{"cleanup", "30 3 * * *", "Europe/Berlin", false};
    auto changed = store().UpdatePeriodic(update, kT0 + 1min);
    ASSERT_TRUE(Ok(changed));
    EXPECT_EQ(changed->cron, "30 3 * * *");
    EXPECT_EQ(changed->time_zone, "Europe/Berlin");
    EXPECT_FALSE(changed->enabled);
    EXPECT_FALSE(changed->next_run_at.has_value());

    // The next start registers the built-in again: the operator's choices stay, what the code
    // owns (priority, attempts) follows the code.
    auto code = Schedule("cleanup", "0 2 * * *");
    code.priority = 7;
    code.max_attempts = 5;
    auto again = store().UpsertPeriodic(code, kT0 + 2h, kT0 + 2min);
    ASSERT_TRUE(Ok(again));
    EXPECT_EQ(again->cron, "30 3 * * *");
    EXPECT_EQ(again->time_zone, "Europe/Berlin");
    EXPECT_FALSE(again->enabled);
    EXPECT_FALSE(again->next_run_at.has_value());
    EXPECT_EQ(again->priority, 7);
    EXPECT_EQ(again->max_attempts, 5);

    EXPECT_TRUE(FailsWith(store().UpdatePeriodic({"cleanup", "0 25 * * *", {}, {}}, kT0), ErrorCode::kInvalidArgument));
    EXPECT_TRUE(
        FailsWith(store().UpdatePeriodic({"cleanup", {}, "Mars/Olympus", {}}, kT0), ErrorCode::kInvalidArgument));
    EXPECT_TRUE(FailsWith(store().UpdatePeriodic({"nope", {}, {}, true}, kT0), ErrorCode::kNotFound));
    auto publish = Schedule("publish", "* * * * *");
    publish.kind = domain::JobKind::kPublish;
    EXPECT_TRUE(FailsWith(store().UpsertPeriodic(publish, kT0, kT0), ErrorCode::kInvalidArgument));
    EXPECT_EQ(PeriodicNamed(store(), "cleanup")->cron, "30 3 * * *");
}

TEST_P(StoreContract, ClaimPeriodicTickIsACompareAndSetAndQueuesEachTickOnce) {
    ASSERT_TRUE(Ok(store().UpsertPeriodic(Schedule("sweep", "*/15 * * * *"), kT0 + 15min, kT0)));
    const TimePoint tick = kT0 + 15min;
    const app::PeriodicTick claim{"sweep", tick, tick + 15min, tick};

    auto won = store().ClaimPeriodicTick(claim, tick);
    ASSERT_TRUE(Ok(won));
    EXPECT_TRUE(*won);
    // A second process that read the same next_run_at loses the compare-and-set.
    auto lost = store().ClaimPeriodicTick(claim, tick + 1ms);
    ASSERT_TRUE(Ok(lost));
    EXPECT_FALSE(*lost);
    auto s = PeriodicNamed(store(), "sweep");
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->next_run_at, tick + 15min);
    EXPECT_EQ(s->last_run_at, tick);

    const std::string id = domain::PeriodicJobId("sweep", tick);
    auto job = JobIn(store(), id);
    ASSERT_TRUE(job.has_value());
    EXPECT_EQ(job->job.kind, domain::JobKind::kCleanup);
    EXPECT_EQ(job->job.priority, 4);
    EXPECT_EQ(job->job.max_attempts, 2);
    EXPECT_EQ(job->job.due_at, tick);

    // Even if next_run_at is wound back by hand onto a tick that was queued, the database takes
    // that tick's job once: while it waits (primary key)...
    auto rewind = [&](TimePoint from) {
        auto r = store().ClaimPeriodicTick({"sweep", from, tick, std::nullopt}, tick);
        ASSERT_TRUE(Ok(r));
        ASSERT_TRUE(*r);
    };
    rewind(tick + 15min);
    auto dup = store().ClaimPeriodicTick(claim, tick + 2ms);
    ASSERT_TRUE(Ok(dup));
    EXPECT_FALSE(*dup);
    EXPECT_EQ(PeriodicNamed(store(), "sweep")->next_run_at, tick + 15min);  // moved on all the same
    auto claimed = Claim(tick + 1min);
    ASSERT_THAT(claimed, SizeIs(1));
    EXPECT_EQ(claimed[0].job.id, id);
    // ...and after it finished (history).
    ASSERT_TRUE(Ok(store().CompleteTask(id, 1, app::TaskOutcome{}, tick + 2min)));
    rewind(tick + 15min);
    auto dup_after = store().ClaimPeriodicTick(claim, tick + 3min);
    ASSERT_TRUE(Ok(dup_after));
    EXPECT_FALSE(*dup_after);
    EXPECT_THAT(Claim(tick + 1h), IsEmpty());

    // A disabled schedule is not moved on.
    ASSERT_TRUE(Ok(store().UpdatePeriodic({"sweep", {}, {}, false}, tick)));
    auto disabled = store().ClaimPeriodicTick({"sweep", std::nullopt, tick + 30min, std::nullopt}, tick);
    ASSERT_TRUE(Ok(disabled));
    EXPECT_FALSE(*disabled);
}

TEST_P(StoreContract, TwoStoresRacingForEveryTickQueueAndRunItOnce) {
    // Two stores on one database stand for two processes. For each tick both try the
    // compare-and-set at the same moment with what they read, then both claim due jobs: exactly
    // one of them queues the tick, and exactly one runs it.
    auto opened = OpenStore(db_->Url(), StoreOptions{3});
    ASSERT_TRUE(Ok(opened));
    std::unique_ptr<Store> other = std::move(*opened);
    std::array<Store*, 2> stores = {&store(), other.get()};
    ASSERT_TRUE(Ok(store().UpsertPeriodic(Schedule("race", "*/5 * * * *"), kT0 + 5min, kT0)));

    constexpr int kTicks = 60;
    for (int i = 1; i <= kTicks; ++i) {
        const TimePoint tick = kT0 + 5min * i;
        auto read = PeriodicNamed(*stores[i % 2], "race");
        ASSERT_TRUE(read.has_value());
        ASSERT_EQ(read->next_run_at, tick);
        const app::PeriodicTick claim{"race", read->next_run_at, tick + 5min, tick};

        std::atomic<int> ready{0};
        std::array<int, 2> queued{0, 0};
        std::array<std::vector<app::ClaimedJob>, 2> ran;
        auto contender = [&](int k) {
            ready.fetch_add(1);
            while (ready.load() < 2) {
            }
            auto r = stores[k]->ClaimPeriodicTick(claim, tick);
            queued[k] = r && *r ? 1 : 0;
            ready.fetch_add(1);
            while (ready.load() < 4) {
            }
            auto c = stores[k]->ClaimDueJobs(tick, 10, tick + 1min);
            if (c) ran[k] = std::move(*c);
        };
        std::thread a(contender, 0), b(contender, 1);
        a.join();
        b.join();

        ASSERT_EQ(queued[0] + queued[1], 1) << "tick " << i;
        ASSERT_EQ(ran[0].size() + ran[1].size(), 1u) << "tick " << i;
        const auto& job = ran[0].empty() ? ran[1][0] : ran[0][0];
        EXPECT_EQ(job.job.id, domain::PeriodicJobId("race", tick));
        ASSERT_TRUE(Ok(stores[ran[0].empty() ? 1 : 0]->CompleteTask(job.job.id, 1, app::TaskOutcome{}, tick + 1s)));
    }
    auto s = PeriodicNamed(store(), "race");
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->next_run_at, kT0 + 5min * (kTicks + 1));
    EXPECT_EQ(s->last_run_at, kT0 + 5min * kTicks);
    for (int i = 1; i <= kTicks; ++i) {
        auto record = JobIn(store(), domain::PeriodicJobId("race", kT0 + 5min * i));
        ASSERT_TRUE(record.has_value());
        EXPECT_EQ(record->job.state, domain::JobState::kDone);
        EXPECT_EQ(record->job.attempts, 1);
    }
}

// ---- maintenance ----------------------------------------------------------------------------

TEST_P(StoreContract, PurgesOnlyHistoryAndDeadTasksPastTheCutoff) {
    using Kind = app::TaskOutcome::Kind;
    // Tasks finished at known times: three before the cutoff, two after.
    const TimePoint cutoff = kT0 + 10h;
    const std::vector<std::pair<std::string, TimePoint>> finished = {
        {"old-1", kT0 + 1h}, {"old-2", kT0 + 2h}, {"old-3", cutoff - 1ms}, {"new-1", cutoff}, {"new-2", cutoff + 1h}};
    for (const auto& [id, at] : finished) {
        ASSERT_TRUE(Ok(store().EnqueueTask(Task(id, kT0), kT0)));
        ASSERT_THAT(Claim(kT0), SizeIs(1));
        ASSERT_TRUE(Ok(store().CompleteTask(id, 1, app::TaskOutcome{}, at)));
    }
    // Dead ones: a task before and after the cutoff, and a dead publish job before it.
    for (const auto& [id, at] :
         std::vector<std::pair<std::string, TimePoint>>{{"dead-old", kT0 + 1h}, {"dead-new", cutoff + 1h}}) {
        ASSERT_TRUE(Ok(store().EnqueueTask(Task(id, kT0), kT0)));
        ASSERT_THAT(Claim(kT0), SizeIs(1));
        ASSERT_TRUE(Ok(store().CompleteTask(id, 1, app::TaskOutcome{Kind::kDead, "no", {}}, at)));
    }
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto post = AddPost(t, {a.id}, kT0);
    auto publish = Claim(kT0);
    ASSERT_THAT(publish, SizeIs(1));
    app::OutcomeRecord rejected{DeliveryStatus::kFailed};
    rejected.error = "rejected";
    rejected.job_dead = true;
    ASSERT_TRUE(Ok(store().RecordOutcome(publish[0].job.id, rejected, kT0 + 1h)));

    // Chunks of two: the last chunk comes back short, which is how a caller knows to stop.
    auto first = store().PurgeHistory(cutoff, 2);
    ASSERT_TRUE(Ok(first));
    EXPECT_EQ(*first, 2);
    auto second = store().PurgeHistory(cutoff, 2);
    ASSERT_TRUE(Ok(second));
    EXPECT_EQ(*second, 1);
    auto none = store().PurgeHistory(cutoff, 2);
    ASSERT_TRUE(Ok(none));
    EXPECT_EQ(*none, 0);
    for (const auto& [id, at] : finished) {
        EXPECT_EQ(JobIn(store(), id).has_value(), at >= cutoff) << id;
    }

    auto dead = store().PurgeDeadTasks(cutoff, 100);
    ASSERT_TRUE(Ok(dead));
    EXPECT_EQ(*dead, 1);
    EXPECT_FALSE(JobIn(store(), "dead-old").has_value());
    EXPECT_TRUE(JobIn(store(), "dead-new").has_value());
    // A dead publish job stays: its delivery shows why until a person retries it.
    auto kept = JobIn(store(), publish[0].job.id);
    ASSERT_TRUE(kept.has_value());
    EXPECT_EQ(kept->job.state, domain::JobState::kDead);
    EXPECT_EQ(OnlyDelivery(t.workspace.id, post.id).status, DeliveryStatus::kFailed);
}

TEST_P(StoreContract, PurgeRefreshTokensOnlyWhereNoTokenOfTheFamilyCanBeUsed) {
    const Tenant t = AddTenant("ana@example.com");
    // Family "over": rotated once, and every token has expired by now.
    ASSERT_TRUE(Ok(store().InsertRefreshToken({"over-1", t.user.id, t.workspace.id, "over", kT0 + 1h})));
    ASSERT_TRUE(Ok(store().RotateRefreshToken("over-1", {"over-2", "", "", "", kT0 + 2h}, kT0)));
    // Family "live": its first token is consumed and expired, the second still valid.
    ASSERT_TRUE(Ok(store().InsertRefreshToken({"live-1", t.user.id, t.workspace.id, "live", kT0 + 1h})));
    ASSERT_TRUE(Ok(store().RotateRefreshToken("live-1", {"live-2", "", "", "", kT0 + 30h}, kT0)));
    // Family "revoked": not expired, but signed out.
    ASSERT_TRUE(Ok(store().InsertRefreshToken({"revoked-1", t.user.id, t.workspace.id, "revoked", kT0 + 30h})));
    ASSERT_TRUE(Ok(store().RevokeRefreshFamily("revoked-1")));

    const TimePoint now = kT0 + 3h;
    auto purged = store().PurgeRefreshTokens(now, 100);
    ASSERT_TRUE(Ok(purged));
    EXPECT_EQ(*purged, 3);
    auto again = store().PurgeRefreshTokens(now, 100);
    ASSERT_TRUE(Ok(again));
    EXPECT_EQ(*again, 0);

    // The live family keeps its consumed token: replaying it still signs the family out.
    auto replay = store().RotateRefreshToken("live-1", {"live-x", "", "", "", kT0 + 30h}, now);
    ASSERT_FALSE(replay.has_value());
    EXPECT_THAT(replay.error().message, ::testing::HasSubstr("already used"));
    EXPECT_TRUE(FailsWith(store().RotateRefreshToken("live-2", {"live-y", "", "", "", kT0 + 30h}, now),
                          ErrorCode::kUnauthenticated));
    // The purged ones are simply unknown now.
    auto gone = store().RotateRefreshToken("over-2", {"over-x", "", "", "", kT0 + 30h}, now);
    ASSERT_FALSE(gone.has_value());
    EXPECT_THAT(gone.error().message, ::testing::HasSubstr("not valid"));
}

TEST_P(StoreContract, FindStalledWorkReportsWithoutChangingAnything) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto stuck = AddPost(t, {a.id}, kT0 + 1min, kT0 + 2s);
    const auto busy = AddPost(t, {a.id}, kT0 + 1min, kT0 + 3s);

    // Two publish jobs are claimed at kT0 + 1min and sent: one worker dies (its lease ends at
    // kT0 + 2min), the other keeps renewing. Two more jobs, due earlier, are never claimed.
    auto claimed = store().ClaimDueJobs(kT0 + 1min, 2, kT0 + 2min);
    ASSERT_TRUE(Ok(claimed));
    ASSERT_THAT(*claimed, SizeIs(2));
    std::string stuck_job, busy_job;
    for (const auto& c : *claimed) {
        ASSERT_TRUE(c.is_publish());
        ASSERT_TRUE(Ok(store().MarkPublishing(c.job.id, kT0 + 1min)));
        if (c.delivery.post_id == stuck.id) stuck_job = c.job.id;
        if (c.delivery.post_id == busy.id) busy_job = c.job.id;
    }
    ASSERT_FALSE(stuck_job.empty());
    ASSERT_FALSE(busy_job.empty());
    ASSERT_TRUE(Ok(store().ExtendLeases({busy_job}, kT0 + 1h)));
    const auto waiting = AddPost(t, {a.id}, kT0, kT0 + 1s);
    ASSERT_TRUE(Ok(store().EnqueueTask(Task("late-task", kT0 + 30s), kT0)));

    const TimePoint now = kT0 + 10min;
    auto found = store().FindStalledWork(now, 60s, 10);
    ASSERT_TRUE(Ok(found));
    ASSERT_THAT(found->overdue_jobs, SizeIs(2));
    EXPECT_EQ(found->overdue_jobs[0].delivery_id, waiting.deliveries[0].id);
    EXPECT_EQ(found->overdue_jobs[0].due_at, kT0);
    EXPECT_EQ(found->overdue_jobs[0].kind, domain::JobKind::kPublish);
    EXPECT_EQ(found->overdue_jobs[1].job_id, "late-task");
    EXPECT_EQ(found->overdue_jobs[1].kind, domain::JobKind::kCleanup);
    ASSERT_THAT(found->stuck_deliveries, SizeIs(1));
    const auto& d = found->stuck_deliveries[0];
    EXPECT_EQ(d.delivery_id, stuck.deliveries[0].id);
    EXPECT_EQ(d.post_id, stuck.id);
    EXPECT_EQ(d.publishing_since, kT0 + 1min);
    EXPECT_EQ(d.job_id, stuck_job);
    EXPECT_EQ(d.job_state, domain::JobState::kRunning);
    EXPECT_EQ(d.lease_until, kT0 + 2min);

    // Within the lag nothing is stalled yet; the limit bounds each list.
    auto early = store().FindStalledWork(kT0 + 2min + 30s, 60s, 10);
    ASSERT_TRUE(Ok(early));
    EXPECT_THAT(early->stuck_deliveries, IsEmpty());
    auto limited = store().FindStalledWork(now, 60s, 1);
    ASSERT_TRUE(Ok(limited));
    EXPECT_THAT(limited->overdue_jobs, SizeIs(1));

    // Reading changed nothing: the rescue path still finds the dead worker's job to take back.
    EXPECT_EQ(OnlyDelivery(t.workspace.id, stuck.id).status, DeliveryStatus::kPublishing);
    EXPECT_EQ(JobIn(store(), stuck_job)->job.state, domain::JobState::kRunning);
    auto rescued = store().RescueExpiredLeases(now);
    ASSERT_TRUE(Ok(rescued));
    ASSERT_THAT(*rescued, SizeIs(1));
    EXPECT_EQ((*rescued)[0].delivery.id, stuck.deliveries[0].id);
}

// ---- migrations -----------------------------------------------------------------------------

TEST_P(StoreContract, PostStatusInSqlMatchesTheDomainRule) {
    // The store summarises a post's deliveries in SQL, a batch at a time; it must agree with
    // domain::SummarizeStatus for every state the other delivery can be in.
    const Tenant t = AddTenant("sum@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto b = AddAccount(t.workspace.id, "b");
    const std::vector<DeliveryStatus> others = {DeliveryStatus::kDraft,      DeliveryStatus::kQueued,
                                                DeliveryStatus::kPublishing, DeliveryStatus::kPublished,
                                                DeliveryStatus::kFailed,     DeliveryStatus::kNeedsApproval,
                                                DeliveryStatus::kCancelled,  DeliveryStatus::kUnconfirmed};
    TimePoint now = kT0;
    for (const auto other : others) {
        now += 1min;
        auto post = NewPost(t, {a.id, b.id}, now);
        post.deliveries[1].status = other;  // no job: only the first delivery is worked on
        ASSERT_TRUE(Ok(store().CreatePost(post)));
        auto claimed = Claim(now + 1s, 1);
        ASSERT_THAT(claimed, SizeIs(1));
        auto check = [&](DeliveryStatus first, const char* step) {
            auto got = store().GetPost(t.workspace.id, post.id);
            ASSERT_TRUE(Ok(got));
            EXPECT_EQ(got->status, domain::SummarizeStatus({first, other}, true))
                << step << " with the other delivery " << domain::ToString(other);
        };
        check(DeliveryStatus::kQueued, "claimed");
        auto marked = store().MarkPublishing(claimed[0].job.id, now + 1s);
        ASSERT_TRUE(Ok(marked));
        ASSERT_TRUE(marked->has_value());
        EXPECT_EQ((*marked)->post_status, domain::SummarizeStatus({DeliveryStatus::kPublishing, other}, true));
        check(DeliveryStatus::kPublishing, "publishing");
        const auto outcome = other == DeliveryStatus::kFailed ? DeliveryStatus::kPublished : DeliveryStatus::kFailed;
        auto recorded =
            store().RecordOutcome(claimed[0].job.id, app::OutcomeRecord{outcome, {}, {}, "why", {}, false}, now + 2s);
        ASSERT_TRUE(Ok(recorded));
        EXPECT_EQ(recorded->post_status, domain::SummarizeStatus({outcome, other}, true));
        check(outcome, "recorded");
    }
}

TEST_P(StoreContract, PausesHoldJobsWhereverTheyBecomePendingAndResumeKeepsDueTimes) {
    const Tenant t = AddTenant("pause@example.com");
    const Tenant other = AddTenant("other@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto b = AddAccount(t.workspace.id, "b");
    const auto c = AddAccount(other.workspace.id, "c");
    const app::PauseScope account_a{t.workspace.id, a.id, std::nullopt};
    auto pause = store().Pause(account_a, std::string("review"), t.user.id, kT0);
    ASSERT_TRUE(Ok(pause));
    EXPECT_EQ(pause->jobs_paused, 0);

    const auto pa = AddPost(t, {a.id}, kT0 + 1min);
    const auto pb = AddPost(t, {b.id}, kT0 + 1min);
    const auto pc = AddPost(other, {c.id}, kT0 + 1min);
    // A new job for a paused account is paused at once; the others are claimable.
    auto claimed = Claim(kT0 + 2min);
    ASSERT_THAT(claimed, SizeIs(2));
    for (const auto& job : claimed) EXPECT_NE(job.delivery.account_id, a.id);
    app::JobFilter paused;
    paused.state = "paused";
    auto held = store().ListJobs(paused);
    ASSERT_TRUE(Ok(held));
    ASSERT_THAT(*held, SizeIs(1));
    EXPECT_EQ(held->front().post_id, pa.id);
    EXPECT_EQ(held->front().due_at, kT0 + 1min);

    // Pausing again returns the same pause; a second, wider pause also covers the job.
    auto again = store().Pause(account_a, std::nullopt, t.user.id, kT0 + 3min);
    ASSERT_TRUE(Ok(again));
    EXPECT_EQ(again->id, pause->id);
    EXPECT_EQ(again->jobs_paused, 1);
    ASSERT_TRUE(Ok(store().Pause({t.workspace.id, std::nullopt, "sandbox"}, std::nullopt, t.user.id, kT0)));
    auto resumed = store().Resume(account_a, kT0 + 4min);
    ASSERT_TRUE(Ok(resumed));
    EXPECT_EQ(*resumed, 0) << "the platform pause still holds it";
    EXPECT_THAT(Claim(kT0 + 5min), IsEmpty());
    // A retry of a running job of a paused scope goes back paused, not pending.
    const auto& in_t = claimed[0].job.workspace_id == t.workspace.id ? claimed[0] : claimed[1];
    ASSERT_EQ(in_t.job.workspace_id, t.workspace.id);
    auto retry = store().RecordOutcome(
        in_t.job.id, app::OutcomeRecord{DeliveryStatus::kScheduled, {}, {}, "later", kT0 + 6min, false}, kT0 + 5min);
    ASSERT_TRUE(Ok(retry));
    auto pauses = store().ListPauses(t.workspace.id);
    ASSERT_TRUE(Ok(pauses));
    EXPECT_THAT(*pauses, SizeIs(1));
    auto listed = store().ListJobs(paused);
    ASSERT_TRUE(Ok(listed));
    EXPECT_THAT(*listed, SizeIs(2));

    auto lifted = store().Resume({t.workspace.id, std::nullopt, "sandbox"}, kT0 + 7min);
    ASSERT_TRUE(Ok(lifted));
    EXPECT_EQ(*lifted, 2);
    auto after = Claim(kT0 + 7min);
    ASSERT_THAT(after, SizeIs(2));
    EXPECT_EQ(after.front().job.due_at, kT0 + 1min) << "oldest first, with its own due time";
    EXPECT_TRUE(FailsWith(store().Resume(account_a, kT0 + 8min), ErrorCode::kNotFound));
    (void)pb;
    (void)pc;
}

TEST_P(StoreContract, CancelAndRequeueFollowTheDeliveryRules) {
    const Tenant t = AddTenant("cancel@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto future = AddPost(t, {a.id}, kT0 + 1h);
    auto cancelled = store().CancelDeliveries(t.workspace.id, future.id, std::nullopt, kT0);
    ASSERT_TRUE(Ok(cancelled));
    EXPECT_EQ(cancelled->status, DeliveryStatus::kCancelled);
    EXPECT_THAT(Claim(kT0 + 2h), IsEmpty());
    EXPECT_TRUE(FailsWith(store().CancelDeliveries(t.workspace.id, future.id, std::nullopt, kT0),
                          ErrorCode::kFailedPrecondition));

    // Claimed but not sent yet: cancelling wins, and the worker then sends nothing.
    const auto claimed_post = AddPost(t, {a.id}, kT0 + 30s);
    auto waiting = Claim(kT0 + 30s);
    ASSERT_THAT(waiting, SizeIs(1));
    auto gone = store().CancelJob(t.workspace.id, waiting[0].job.id, kT0 + 31s);
    ASSERT_TRUE(Ok(gone));
    EXPECT_EQ(gone->outcome, "cancelled");
    EXPECT_EQ(OnlyDelivery(t.workspace.id, claimed_post.id).status, DeliveryStatus::kCancelled);
    auto stale = store().MarkPublishing(waiting[0].job.id, kT0 + 32s);
    ASSERT_TRUE(Ok(stale));
    EXPECT_FALSE(stale->has_value());

    // A job being sent cannot be cancelled, nor its post.
    const auto now_post = AddPost(t, {a.id}, kT0 + 1min);
    auto claimed = Claim(kT0 + 1min);
    ASSERT_THAT(claimed, SizeIs(1));
    ASSERT_TRUE(Ok(store().MarkPublishing(claimed[0].job.id, kT0 + 1min)));
    EXPECT_TRUE(
        FailsWith(store().CancelJob(std::nullopt, claimed[0].job.id, kT0 + 1min), ErrorCode::kFailedPrecondition));
    EXPECT_TRUE(FailsWith(store().CancelDeliveries(t.workspace.id, now_post.id, std::nullopt, kT0 + 1min),
                          ErrorCode::kFailedPrecondition));
    EXPECT_TRUE(
        FailsWith(store().RequeueJob(std::nullopt, claimed[0].job.id, kT0 + 1min), ErrorCode::kFailedPrecondition));
    // Failed for good: dead, then requeued with a fresh start, due now.
    ASSERT_TRUE(Ok(store().RecordOutcome(
        claimed[0].job.id, app::OutcomeRecord{DeliveryStatus::kFailed, {}, {}, "refused", {}, true}, kT0 + 2min)));
    auto dead = store().GetJob(t.workspace.id, claimed[0].job.id);
    ASSERT_TRUE(Ok(dead));
    EXPECT_EQ(dead->state, "dead");
    EXPECT_EQ(dead->last_error, "refused");
    EXPECT_TRUE(FailsWith(store().GetJob(std::string("another-workspace"), claimed[0].job.id), ErrorCode::kNotFound));
    auto requeued = store().RequeueJob(t.workspace.id, claimed[0].job.id, kT0 + 3min);
    ASSERT_TRUE(Ok(requeued));
    EXPECT_EQ(requeued->state, "pending");
    EXPECT_EQ(requeued->attempts, 0);
    EXPECT_EQ(requeued->due_at, kT0 + 3min);
    EXPECT_EQ(OnlyDelivery(t.workspace.id, now_post.id).status, DeliveryStatus::kScheduled);
    auto again = Claim(kT0 + 3min);
    ASSERT_THAT(again, SizeIs(1));
    EXPECT_EQ(again[0].job.id, claimed[0].job.id);
}

TEST_P(StoreContract, IdempotencyKeysReserveOnceAndReplay) {
    const Tenant t = AddTenant("idem@example.com");
    const app::IdempotencyRecord req{"POST", "/api/v1/posts", "hash-1", 0, "", kT0};
    auto first = store().ReserveIdempotencyKey(t.workspace.id, t.user.id, "k1", req);
    ASSERT_TRUE(Ok(first));
    EXPECT_FALSE(first->has_value());
    auto racing = store().ReserveIdempotencyKey(t.workspace.id, t.user.id, "k1", req);
    ASSERT_TRUE(Ok(racing));
    ASSERT_TRUE(racing->has_value());
    EXPECT_EQ((*racing)->status, 0) << "still running";
    ASSERT_TRUE(Ok(store().FinishIdempotencyKey(t.workspace.id, t.user.id, "k1", 201, "{\"id\":1}")));
    auto replay = store().ReserveIdempotencyKey(t.workspace.id, t.user.id, "k1", req);
    ASSERT_TRUE(Ok(replay));
    ASSERT_TRUE(replay->has_value());
    EXPECT_EQ((*replay)->status, 201);
    EXPECT_EQ((*replay)->response, "{\"id\":1}");
    EXPECT_EQ((*replay)->body_hash, "hash-1");
    // Dropped on a failure: the key can be used again.
    ASSERT_TRUE(Ok(store().ReserveIdempotencyKey(t.workspace.id, t.user.id, "k2", req)));
    ASSERT_TRUE(Ok(store().FinishIdempotencyKey(t.workspace.id, t.user.id, "k2", 0, "")));
    auto fresh = store().ReserveIdempotencyKey(t.workspace.id, t.user.id, "k2", req);
    ASSERT_TRUE(Ok(fresh));
    EXPECT_FALSE(fresh->has_value());
    auto purged = store().PurgeIdempotencyKeys(kT0 + 1s);
    ASSERT_TRUE(Ok(purged));
    EXPECT_EQ(*purged, 2);
}

TEST_P(StoreContract, ReopeningAppliesNoMigrationAndKeepsData) {
    const Tenant t = AddTenant("ana@example.com");
    const auto a = AddAccount(t.workspace.id, "a");
    const auto post = AddPost(t, {a.id}, kT0 + 1h);
    store_.reset();

    auto applied = Migrate(db_->Url());
    ASSERT_TRUE(Ok(applied));
    EXPECT_EQ(*applied, 0);

    auto reopened = OpenStore(db_->Url(), StoreOptions{});
    ASSERT_TRUE(Ok(reopened));
    store_ = std::move(*reopened);
    auto got = store().GetPost(t.workspace.id, post.id);
    ASSERT_TRUE(Ok(got));
    EXPECT_EQ(got->text, post.text);
    EXPECT_EQ(NextDue(), kT0 + 1h);
    EXPECT_TRUE(Ok(store().FindUserByEmail("ana@example.com")));

    auto again = Migrate(db_->Url());
    ASSERT_TRUE(Ok(again));
    EXPECT_EQ(*again, 0);
}

TEST_P(StoreContract, MigratingAnEmptyDatabaseAppliesEverythingOnce) {
    auto fresh = GetParam().make();
    ASSERT_NE(fresh, nullptr);
    auto first = Migrate(fresh->Url());
    ASSERT_TRUE(Ok(first));
    EXPECT_GE(*first, 1);
    auto second = Migrate(fresh->Url());
    ASSERT_TRUE(Ok(second));
    EXPECT_EQ(*second, 0);

    auto opened = OpenStore(fresh->Url(), StoreOptions{});
    ASSERT_TRUE(Ok(opened));
    EXPECT_TRUE(Ok((*opened)->Ping()));
}

// ---- backends -------------------------------------------------------------------------------

const Backend kSqlite{"sqlite", [] { return std::unique_ptr<ScratchDatabase>(new SqliteScratch()); }};

const Backend kPostgres{"postgres", [] { return std::unique_ptr<ScratchDatabase>(new PostgresScratch()); }};

// ---- media ----------------------------------------------------------------------------------

domain::MediaItem MediaOf(const std::string& workspace_id, const std::string& user_id, const std::string& id,
                          const std::string& sha, domain::MediaFormat format) {
    domain::MediaItem m;
    m.id = id;
    m.workspace_id = workspace_id;
    m.created_by = user_id;
    m.format = format;
    m.kind = domain::KindOf(format);
    m.bytes = 12345;
    m.sha256 = sha;
    m.storage_key = workspace_id + "/2026/11/" + sha + "." + std::string(domain::Extension(format));
    m.original_name = "café.jpg";
    m.alt_text = "a test card";
    m.width = 1920;
    m.height = 1080;
    if (m.kind == domain::MediaKind::kVideo) {
        m.duration_ms = 61500;
        m.frame_rate = 29.97;
        m.video_codec = "h264";
        m.audio_codec = "aac";
    } else {
        m.thumbnail_key = workspace_id + "/2026/11/" + sha + ".thumb.jpg";
    }
    m.created_at = kT0;
    return m;
}

TEST_P(StoreContract, MediaRoundTripsListsSharesFilesAndStaysInItsWorkspace) {
    const Tenant t = AddTenant("media@example.com");
    const Tenant other = AddTenant("other-media@example.com");
    const std::string sha_a(64, 'a'), sha_b(64, 'b');
    const auto image =
        MediaOf(t.workspace.id, t.user.id, "0000000000010000000000000a", sha_a, domain::MediaFormat::kJpeg);
    const auto video =
        MediaOf(t.workspace.id, t.user.id, "0000000000020000000000000b", sha_b, domain::MediaFormat::kMp4);
    auto copy = MediaOf(t.workspace.id, t.user.id, "0000000000030000000000000c", sha_a, domain::MediaFormat::kJpeg);
    ASSERT_TRUE(Ok(store().InsertMedia({image, video})));
    ASSERT_TRUE(Ok(store().InsertMedia({copy})));

    auto got = store().GetMedia(t.workspace.id, video.id);
    ASSERT_TRUE(Ok(got));
    EXPECT_EQ(got->kind, domain::MediaKind::kVideo);
    EXPECT_EQ(got->format, domain::MediaFormat::kMp4);
    EXPECT_EQ(got->bytes, 12345u);
    EXPECT_EQ(got->original_name, "café.jpg");
    EXPECT_EQ(got->width, 1920u);
    EXPECT_EQ(got->duration_ms, 61500);
    ASSERT_TRUE(got->frame_rate);
    EXPECT_NEAR(*got->frame_rate, 29.97, 0.0005);
    EXPECT_EQ(got->video_codec, "h264");
    EXPECT_FALSE(got->thumbnail_key);
    EXPECT_EQ(got->created_at, kT0);

    // Newest first, by kind, paged by id.
    app::MediaFilter all{t.workspace.id, std::nullopt, std::nullopt, 10};
    auto list = store().ListMedia(all);
    ASSERT_TRUE(Ok(list));
    ASSERT_EQ(list->size(), 3u);
    EXPECT_EQ((*list)[0].id, copy.id);
    EXPECT_EQ((*list)[2].id, image.id);
    auto images = store().ListMedia({t.workspace.id, domain::MediaKind::kImage, std::nullopt, 10});
    ASSERT_TRUE(Ok(images));
    EXPECT_EQ(images->size(), 2u);
    auto older = store().ListMedia({t.workspace.id, std::nullopt, video.id, 10});
    ASSERT_TRUE(Ok(older));
    ASSERT_EQ(older->size(), 1u);
    EXPECT_EQ((*older)[0].id, image.id);

    // The first item with those bytes is the one to share.
    auto same = store().FindMediaBySha(t.workspace.id, sha_a);
    ASSERT_TRUE(Ok(same));
    ASSERT_TRUE(*same);
    EXPECT_EQ((*same)->id, image.id);
    auto none = store().FindMediaBySha(other.workspace.id, sha_a);
    ASSERT_TRUE(Ok(none));
    EXPECT_FALSE(*none);

    auto alt = store().SetMediaAltText(t.workspace.id, image.id, "a new description");
    ASSERT_TRUE(Ok(alt));
    EXPECT_EQ(alt->alt_text, "a new description");

    // Another workspace finds nothing and deletes nothing.
    EXPECT_TRUE(FailsWith(store().GetMedia(other.workspace.id, image.id), ErrorCode::kNotFound));
    EXPECT_TRUE(FailsWith(store().SetMediaAltText(other.workspace.id, image.id, "x"), ErrorCode::kNotFound));
    EXPECT_TRUE(FailsWith(store().DeleteMedia(other.workspace.id, image.id), ErrorCode::kNotFound));
    auto theirs = store().ListMedia({other.workspace.id, std::nullopt, std::nullopt, 10});
    ASSERT_TRUE(Ok(theirs));
    EXPECT_TRUE(theirs->empty());

    // Deleting says how many items still use the stored file.
    auto left = store().DeleteMedia(t.workspace.id, image.id);
    ASSERT_TRUE(Ok(left));
    EXPECT_EQ(*left, 1);
    left = store().DeleteMedia(t.workspace.id, copy.id);
    ASSERT_TRUE(Ok(left));
    EXPECT_EQ(*left, 0);
    EXPECT_TRUE(FailsWith(store().DeleteMedia(t.workspace.id, copy.id), ErrorCode::kNotFound));
}

TEST_P(StoreContract, MediaInsertIsAllOrNothing) {
    const Tenant t = AddTenant("media-atomic@example.com");
    const auto a = MediaOf(t.workspace.id, t.user.id, "0000000000010000000000000a", std::string(64, 'a'),
                           domain::MediaFormat::kPng);
    ASSERT_TRUE(Ok(store().InsertMedia({a})));
    const auto b = MediaOf(t.workspace.id, t.user.id, "0000000000020000000000000b", std::string(64, 'b'),
                           domain::MediaFormat::kPng);
    EXPECT_FALSE(Ok(store().InsertMedia({b, a})));  // a's id is taken: b must not stay either
    EXPECT_TRUE(FailsWith(store().GetMedia(t.workspace.id, b.id), ErrorCode::kNotFound));
}

INSTANTIATE_TEST_SUITE_P(StoreOn, StoreContract, ::testing::Values(kSqlite, kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

}  // namespace
}  // namespace herald::storage
