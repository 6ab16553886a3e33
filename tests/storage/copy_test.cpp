// `herald migrate --from sqlite:… --to postgres://…` (storage/copy.hpp): an installation built
// through the real SQLite store is copied into a fresh PostgreSQL database and read back
// through the PostgreSQL store; and every refusal leaves the destination as it was.

#include "storage/copy.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "core/ids.hpp"
#include "domain/time.hpp"
#include "scratch_database.hpp"
#include "storage/postgres/pg.hpp"
#include "storage/store.hpp"

namespace herald::storage {
namespace {

using core::TimePoint;
using domain::DeliveryStatus;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

const TimePoint kT0 = *domain::ParseRfc3339("2026-03-02T10:00:00Z");

std::string Ms(TimePoint t) { return std::to_string(core::ToUnixMillis(t)); }
std::string Ms(const std::optional<TimePoint>& t) { return t ? Ms(*t) : "-"; }
std::string Opt(const std::optional<std::string>& s) { return s ? "[" + *s + "]" : "-"; }

// What an installation holds, as the store's API returns it: equal text for equal content.
struct Installation {
    std::vector<domain::User> users;
    std::vector<std::string> workspaces;
    std::vector<std::string> accounts;
    std::vector<std::pair<std::string, std::string>> posts;  // workspace, post
    std::vector<std::string> api_token_hashes;
};

std::string Render(app::Store& s, const Installation& in, TimePoint now) {
    std::ostringstream out;
    for (const auto& u : in.users) {
        auto r = s.FindUserByEmail(u.email);
        out << "user "
            << (r ? r->user.id + " " + r->user.name + " " + r->password_hash + " " + Ms(r->user.created_at) : "missing")
            << "\n";
    }
    for (const auto& w : in.workspaces) {
        auto members = s.ListMembers(w);
        if (members) {
            for (const auto& m : *members) out << "member " << w << " " << m.user_id << " " << ToString(m.role) << "\n";
        }
        auto limits = s.GetWorkspaceLimits(w);
        out << "limits " << w << " " << limits.value_or("?") << "\n";
        auto accounts = s.ListAccounts(w);
        if (accounts) {
            for (const auto& a : *accounts) {
                out << "account " << a.id << " " << a.platform << " " << a.name << " " << a.settings_json << " "
                    << a.has_credentials << " " << Ms(a.created_at) << "\n";
                out << "schedule " << a.id << " " << Opt(s.GetPostingSchedule(w, a.id).value_or(std::nullopt)) << "\n";
            }
        }
        auto pauses = s.ListPauses(w);
        if (pauses) {
            for (const auto& p : *pauses) {
                out << "pause " << p.id << " " << Opt(p.scope.workspace_id) << Opt(p.scope.account_id)
                    << Opt(p.scope.platform) << " " << Opt(p.reason) << " " << p.jobs_paused << "\n";
            }
        }
        auto stats = s.GetQueueStats(w, now);
        if (stats) {
            out << "stats " << w << " pending=" << stats->pending << " due=" << stats->due
                << " paused=" << stats->paused << " running=" << stats->running << " dead=" << stats->dead
                << " oldest=" << stats->oldest_due_age.count() << " ok_hour=" << stats->succeeded_last_hour
                << " failed_hour=" << stats->failed_last_hour << "\n";
        }
    }
    for (const auto& [w, id] : in.posts) {
        auto p = s.GetPost(w, id);
        if (!p) {
            out << "post " << id << " missing\n";
            continue;
        }
        out << "post " << p->id << " [" << p->text << "] " << ToString(p->status) << " " << Ms(p->scheduled_at) << " "
            << Opt(p->local_time) << Opt(p->time_zone) << " " << Opt(p->first_comment) << " " << Ms(p->created_at)
            << " " << Ms(p->updated_at);
        for (const auto& t : p->thread) out << " thread[" << t << "]";
        for (const auto& [k, v] : p->variants) out << " variant[" << k << "=" << v << "]";
        out << "\n";
        for (const auto& d : p->deliveries) {
            out << "  delivery " << d.id << " " << d.account_id << " " << ToString(d.status) << " " << d.attempts << " "
                << Opt(d.remote_id) << Opt(d.url) << Opt(d.error) << " " << Ms(d.next_attempt_at) << " "
                << Ms(d.published_at) << " " << Ms(d.updated_at) << "\n";
        }
    }
    for (const char* state : {"pending", "paused", "running", "dead", "done"}) {
        app::JobFilter f;
        f.state = state;
        f.limit = 1000;
        auto jobs = s.ListJobs(f);
        if (!jobs) {
            out << "jobs " << state << " error " << jobs.error().message << "\n";
            continue;
        }
        for (const auto& j : *jobs) {
            out << "job " << j.id << " " << j.kind << " " << j.state << " " << Opt(j.outcome) << " "
                << Opt(j.delivery_id) << " " << j.priority << " " << j.attempts << "/" << j.max_attempts << " "
                << Ms(j.due_at) << " " << Ms(j.lease_until) << " " << Opt(j.last_error) << " " << j.uncertain << " "
                << Ms(j.created_at) << " " << Ms(j.updated_at) << "\n";
        }
    }
    for (const auto& a : in.accounts) {
        auto listed = s.SandboxList(a);
        if (listed) {
            for (const auto& sp : *listed) {
                out << "sandbox " << sp.remote_id << " " << sp.account_id << " [" << sp.text << "] "
                    << sp.idempotency_key << " " << Ms(sp.created_at) << " " << sp.kind << " " << Opt(sp.parent)
                    << "\n";
            }
        }
    }
    for (const auto& h : in.api_token_hashes) {
        auto t = s.FindApiToken(h);
        out << "api_token " << (t ? t->id + " " + t->name + " " + Ms(t->created_at) : "missing") << "\n";
    }
    auto periodic = s.ListPeriodic();
    if (periodic) {
        for (const auto& p : *periodic) {
            out << "periodic " << p.name << " " << p.cron << " " << p.time_zone << " " << p.enabled << " "
                << Ms(p.next_run_at) << " " << Ms(p.last_run_at) << "\n";
        }
    }
    return out.str();
}

domain::Post NewPost(const domain::User& u, const std::string& workspace, const std::vector<std::string>& accounts,
                     std::optional<TimePoint> at, TimePoint id_time, std::string text) {
    domain::Post p;
    p.id = core::NewId(id_time);
    p.workspace_id = workspace;
    p.created_by = u.id;
    p.text = std::move(text);
    p.scheduled_at = at;
    p.status = at ? DeliveryStatus::kScheduled : DeliveryStatus::kDraft;
    p.created_at = id_time;
    p.updated_at = id_time;
    for (const auto& a : accounts) {
        domain::Delivery d;
        d.id = core::NewId(id_time);
        d.post_id = p.id;
        d.account_id = a;
        d.status = p.status;
        d.updated_at = id_time;
        p.deliveries.push_back(d);
    }
    return p;
}

// Builds a small installation that touches every table, through the store's API.
Installation Populate(app::Store& s) {
    Installation in;
    const domain::User ana{core::NewId(kT0), "ana@example.com", "Ana \"the\" Admin", kT0};
    const domain::Workspace ws{core::NewId(kT0), "Ana's\tworkspace", kT0};
    EXPECT_TRUE(s.CreateUserWithWorkspace(ana, "argon2-hash-ana", ws).has_value());
    const domain::User bo{core::NewId(kT0 + 1s), "Bo@Example.com", "Bo", kT0 + 1s};
    const domain::Workspace ws2{core::NewId(kT0 + 1s), "Bo's", kT0 + 1s};
    EXPECT_TRUE(s.CreateUserWithWorkspace(bo, "argon2-hash-bo", ws2).has_value());
    EXPECT_TRUE(s.AddMember(ws.id, bo.id, domain::Role::kEditor, kT0 + 2s).has_value());
    in.users = {ana, bo};
    in.workspaces = {ws.id, ws2.id};

    EXPECT_TRUE(s.InsertRefreshToken({"refresh-hash-1", ana.id, ws.id, "family-1", kT0 + 24h}).has_value());
    app::ApiTokenRecord token{core::NewId(kT0), "ci", "api-hash-1", ana.id, ws.id, kT0, std::nullopt, false};
    EXPECT_TRUE(s.InsertApiToken(token).has_value());
    in.api_token_hashes = {"api-hash-1"};

    const domain::Account a{core::NewId(kT0), ws.id, "sandbox", "main", R"({"mode":"ok"})", true, kT0};
    const domain::Account b{core::NewId(kT0 + 1ms), ws.id, "sandbox", "paused one", "{}", false, kT0};
    const domain::Account c{core::NewId(kT0 + 2ms), ws2.id, "sandbox", "bo's", "{}", true, kT0};
    EXPECT_TRUE(s.InsertAccount(a, "v1:sealed-a").has_value());
    EXPECT_TRUE(s.InsertAccount(b, "").has_value());
    EXPECT_TRUE(s.InsertAccount(c, "v1:sealed-c").has_value());
    in.accounts = {a.id, b.id, c.id};
    EXPECT_TRUE(
        s.SetPostingSchedule(ws.id, a.id, R"({"timezone":"UTC","slots":[{"days":["mon"],"times":["09:00"]}]})", kT0)
            .has_value());

    // Text that every escaping rule of the checksum sees: tab, newline, CR, backslash, the
    // other control characters COPY writes as letters, a literal \N, and non-ASCII.
    const std::string tricky = "tab\there\nnew line\r\\ back\\slash \\N \b\f\v ünïcødé 🚀";
    std::vector<domain::Post> posts;
    for (int i = 0; i < 12; ++i) {
        const TimePoint id_time = kT0 + std::chrono::seconds(10 + i);
        auto p = NewPost(ana, ws.id, i % 3 == 0 ? std::vector<std::string>{a.id, b.id} : std::vector<std::string>{a.id},
                         i < 10 ? std::optional<TimePoint>(kT0 + std::chrono::minutes(i)) : std::nullopt, id_time,
                         i == 0 ? tricky : "post " + std::to_string(i));
        if (i == 1) {
            p.thread = {"reply one", "reply\ttwo"};
            p.first_comment = "first!";
        }
        if (i == 2) p.first_comment = "";  // empty, not NULL
        if (i == 3) {
            p.variants["sandbox"] = "variant\\text";
            p.local_time = "2026-03-02T11:03";
            p.time_zone = "Europe/Berlin";
        }
        posts.push_back(p);
    }
    posts.push_back(NewPost(bo, ws2.id, {c.id}, kT0 + 1h, kT0 + 30s, "bo's post"));
    EXPECT_TRUE(s.CreatePosts(posts).has_value());
    for (const auto& p : posts) in.posts.emplace_back(p.workspace_id, p.id);

    // Account b is paused: its jobs wait in state paused.
    EXPECT_TRUE(
        s.Pause({ws.id, b.id, std::nullopt}, std::string("checking\nthe account"), ana.id, kT0 + 1min).has_value());
    // Some jobs run: published (history, rate_log), failed for good (dead), retried.
    auto claimed = s.ClaimDueJobs(kT0 + 5min, 5, kT0 + 10min);
    EXPECT_TRUE(claimed.has_value());
    if (claimed && claimed->size() == 5) {
        std::vector<app::PermitRequest> asks;
        for (const auto& cj : *claimed) {
            asks.push_back(app::PermitRequest{cj.job.id, cj.account.id, ratelimit::PostOnly(ratelimit::Limit{})});
        }
        EXPECT_TRUE(s.TakePermits(asks, kT0 + 5min, 5min).has_value());
        app::OutcomeRecord published{DeliveryStatus::kPublished};
        published.remote_id = "remote-1";
        published.url = "https://sandbox.example/p/1";
        app::OutcomeRecord dead{DeliveryStatus::kFailed};
        dead.error = "refused: \"bad\" text";
        dead.job_dead = true;
        app::OutcomeRecord retry{DeliveryStatus::kScheduled};
        retry.error = "timeout";
        retry.next_attempt_at = kT0 + 20min;
        app::OutcomeRecord uncertain{DeliveryStatus::kScheduled};
        uncertain.error = "connection reset";
        uncertain.next_attempt_at = kT0 + 21min;
        uncertain.uncertain = true;
        EXPECT_TRUE(s.RecordOutcomes({{(*claimed)[0].job.id, published, true},
                                      {(*claimed)[1].job.id, dead, true},
                                      {(*claimed)[2].job.id, retry, true},
                                      {(*claimed)[3].job.id, uncertain, true}},
                                     kT0 + 6min)
                        .has_value());
        // [4] stays running, leased.
    } else {
        ADD_FAILURE() << "expected 5 claimed jobs";
    }

    app::IdempotencyRecord req{"POST", "/api/v1/posts", "body-hash", 0, "", kT0};
    EXPECT_TRUE(s.ReserveIdempotencyKey(ws.id, ana.id, "idem-1", req).has_value());
    EXPECT_TRUE(s.FinishIdempotencyKey(ws.id, ana.id, "idem-1", 201, R"({"id":"x"})").has_value());
    EXPECT_TRUE(s.ReserveIdempotencyKey(ws.id, ana.id, "idem-2", req).has_value());  // still running

    domain::PeriodicSchedule cleanup;
    cleanup.name = "cleanup";
    cleanup.kind = domain::JobKind::kCleanup;
    cleanup.cron = "0 3 * * *";
    EXPECT_TRUE(s.UpsertPeriodic(cleanup, kT0 + 17h, kT0).has_value());
    app::NewTask task;
    task.id = "task-1";
    task.kind = domain::JobKind::kCleanup;
    task.payload = R"({"why":"test"})";
    task.due_at = kT0 + 2h;
    EXPECT_TRUE(s.EnqueueTask(task, kT0).has_value());

    EXPECT_TRUE(s.SandboxInsert({"sb-1", a.id, "published\ttext", "key-1", kT0 + 6min}, true).has_value());
    EXPECT_TRUE(s.SandboxInsert({"sb-2", a.id, "a reply", "key-1/r1", kT0 + 6min, "reply", "sb-1"}, true).has_value());
    EXPECT_TRUE(s.SandboxInsert({"sb-3", c.id, "dup", "key-9", kT0 + 7min}, false).has_value());
    EXPECT_TRUE(s.SandboxInsert({"sb-4", c.id, "dup", "key-9", kT0 + 8min}, false).has_value());
    return in;
}

// Rows of one table, read with SQL on the PostgreSQL side.
int64_t PgCount(const std::string& url, const std::string& table) {
    auto c = postgres::PgConn::Open(url);
    if (!c) {
        ADD_FAILURE() << c.error().message;
        return -1;
    }
    const std::string sql = "SELECT count(*) FROM " + table;
    auto r = (*c)->Exec(postgres::PgSql{"count", sql.c_str()});
    return r.Int(0, 0);
}

int64_t SqliteCount(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_stmt* s = nullptr;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
        n = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

void SqliteExec(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
}

const std::vector<std::string> kAllTables = {
    "oauth_states",     "users",         "workspaces", "members",    "refresh_tokens", "api_tokens",
    "accounts",         "posts",         "deliveries", "jobs",       "job_history",    "pauses",
    "idempotency_keys", "periodic_jobs", "rate_log",   "rate_holds", "rate_quotas",    "posting_schedules",
    "sandbox_posts",    "media",
};

class CopyStoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        try {
            pg_ = std::make_unique<test_support::ScratchPgDatabase>();
        } catch (const std::exception& e) {
            GTEST_SKIP() << "no PostgreSQL server: " << e.what();
        }
    }

    // The source, populated, and closed (as a stopped server leaves it).
    Installation MakeSource(TimePoint* now = nullptr) {
        auto store = OpenStore(sqlite_.url(), StoreOptions{3});
        EXPECT_TRUE(store.has_value()) << store.error().message;
        auto in = Populate(**store);
        if (now) *now = kT0 + 7min;
        return in;
    }

    std::string SourceRender(const Installation& in, TimePoint now) {
        auto store = OpenStore(sqlite_.url(), StoreOptions{3});
        EXPECT_TRUE(store.has_value());
        return Render(**store, in, now);
    }

    test_support::ScratchSqliteFile sqlite_;
    std::unique_ptr<test_support::ScratchPgDatabase> pg_;
};

TEST_F(CopyStoreTest, CopiesEveryTableAndThePostgresStoreReadsTheSameInstallation) {
    TimePoint now;
    const Installation in = MakeSource(&now);
    const std::string before = SourceRender(in, now);

    std::vector<CopyProgress> events;
    auto report = CopyStore(sqlite_.url(), pg_->url(), [&](const CopyProgress& p) { events.push_back(p); });
    ASSERT_TRUE(report.has_value()) << report.error().message;

    // Every table, referenced ones first; counts as SQLite holds them.
    std::map<std::string, int64_t> rows;
    std::vector<std::string> order;
    for (const auto& t : report->tables) {
        rows[t.table] = t.rows;
        order.push_back(t.table);
        EXPECT_EQ(t.checksum.size(), 64u) << t.table;
    }
    EXPECT_THAT(order, ::testing::UnorderedElementsAreArray(kAllTables));
    const auto pos = [&](const std::string& t) { return std::find(order.begin(), order.end(), t) - order.begin(); };
    EXPECT_LT(pos("workspaces"), pos("accounts"));
    EXPECT_LT(pos("posts"), pos("deliveries"));
    EXPECT_LT(pos("deliveries"), pos("jobs"));
    EXPECT_LT(pos("jobs"), pos("pauses"));  // so the pause trigger leaves the copied states alone
    EXPECT_EQ(rows["users"], 2);
    EXPECT_EQ(rows["members"], 3);
    EXPECT_EQ(rows["accounts"], 3);
    EXPECT_EQ(rows["posts"], 13);
    EXPECT_EQ(rows["deliveries"], 17);
    EXPECT_EQ(rows["sandbox_posts"], 4);
    EXPECT_EQ(rows["pauses"], 1);
    EXPECT_EQ(rows["idempotency_keys"], 2);
    EXPECT_EQ(rows["posting_schedules"], 1);
    EXPECT_EQ(rows["periodic_jobs"], 1);
    EXPECT_EQ(rows["job_history"], 1);
    EXPECT_GE(rows["rate_log"], 1);
    const std::string src = sqlite_.path().string();
    for (const auto& t : kAllTables) {
        if (t == "sandbox_posts") continue;
        EXPECT_EQ(rows[t], SqliteCount(src, "SELECT count(*) FROM " + t)) << t;
        EXPECT_EQ(rows[t], PgCount(pg_->url(), t)) << t;
    }
    EXPECT_EQ(PgCount(pg_->url(), "sandbox_posts"), 4);
    int64_t total = 0;
    for (const auto& [t, n] : rows) total += n;
    EXPECT_EQ(report->rows, total);

    // Progress: each table finished once per phase, with all its rows.
    for (const auto& t : report->tables) {
        for (auto phase : {CopyProgress::Phase::kCopy, CopyProgress::Phase::kVerify}) {
            int finished = 0;
            for (const auto& e : events) {
                if (e.table == t.table && e.phase == phase && e.finished) {
                    ++finished;
                    EXPECT_EQ(e.rows_done, t.rows) << t.table;
                    EXPECT_EQ(e.rows_total, t.rows) << t.table;
                }
            }
            EXPECT_EQ(finished, 1) << t.table;
        }
    }

    // The PostgreSQL store returns the same installation through the API.
    auto pg = OpenStore(pg_->url(), StoreOptions{3});
    ASSERT_TRUE(pg.has_value()) << pg.error().message;
    const std::string after = Render(**pg, in, now);
    EXPECT_EQ(after, before);
    EXPECT_THAT(after, HasSubstr("tab\there\nnew line\r\\ back\\slash \\N"));
    EXPECT_THAT(after, HasSubstr(" paused "));
    EXPECT_THAT(after, HasSubstr(" done [published]"));
    EXPECT_THAT(after, HasSubstr(" dead "));
    EXPECT_THAT(after, HasSubstr(" running "));

    // rate_log kept its ids and its identity moved past them: new permits get new ids.
    auto claimed = (*pg)->ClaimDueJobs(kT0 + 9min, 10, kT0 + 20min);
    ASSERT_TRUE(claimed.has_value()) << claimed.error().message;
    ASSERT_FALSE(claimed->empty());
    const int64_t log_rows = PgCount(pg_->url(), "rate_log");
    std::vector<app::PermitRequest> asks;
    for (const auto& cj : *claimed) {
        asks.push_back(app::PermitRequest{cj.job.id, cj.account.id, ratelimit::PostOnly(ratelimit::Limit{})});
    }
    auto permits = (*pg)->TakePermits(asks, kT0 + 9min, 5min);
    ASSERT_TRUE(permits.has_value()) << permits.error().message;
    EXPECT_EQ(PgCount(pg_->url(), "rate_log"), log_rows + static_cast<int64_t>(claimed->size()));
}

TEST_F(CopyStoreTest, AcceptsTheSqliteSlashSlashFormAndAFreshSourceWithoutSandboxFile) {
    {
        auto store = OpenStore(sqlite_.url(), StoreOptions{3});
        ASSERT_TRUE(store.has_value());
    }
    auto report = CopyStore("sqlite://" + sqlite_.path().string(), pg_->url(), {});
    ASSERT_TRUE(report.has_value()) << report.error().message;
    EXPECT_EQ(report->rows, 0);
    EXPECT_EQ(report->tables.size(), kAllTables.size());
    EXPECT_FALSE(std::filesystem::exists(sqlite_.path().string() + "-sandbox"));
}

TEST_F(CopyStoreTest, AnOlderSchemaIsMigratedFirst) {
    // A database left at schema version 6 (before threads and media): the copy brings it to
    // the newest.
    MakeSource();
    const std::string src = sqlite_.path().string();
    SqliteExec(
        src,
        "DELETE FROM schema_migrations WHERE version >= 7; DROP TABLE oauth_states; DROP INDEX accounts_refresh_due; "
        "ALTER TABLE accounts DROP COLUMN credentials_refresh_at; DROP TABLE media; ALTER TABLE posts DROP COLUMN "
        "media; "
        "ALTER TABLE posts DROP COLUMN thread; ALTER TABLE posts DROP COLUMN first_comment; "
        "ALTER TABLE jobs DROP COLUMN replies; ALTER TABLE jobs DROP COLUMN comments;");
    auto report = CopyStore(sqlite_.url(), pg_->url(), {});
    ASSERT_TRUE(report.has_value()) << report.error().message;
    EXPECT_EQ(report->source_migrations, 4);
    EXPECT_GE(report->destination_migrations, 1);
    EXPECT_EQ(PgCount(pg_->url(), "posts"), 13);
}

TEST_F(CopyStoreTest, RefusesADestinationThatHoldsDataAndChangesNothing) {
    MakeSource();
    {
        auto pg = OpenStore(pg_->url(), StoreOptions{3});
        ASSERT_TRUE(pg.has_value());
        const domain::User u{core::NewId(kT0), "already@example.com", "Already", kT0};
        const domain::Workspace w{core::NewId(kT0), "There", kT0};
        ASSERT_TRUE((*pg)->CreateUserWithWorkspace(u, "h", w).has_value());
    }
    auto report = CopyStore(sqlite_.url(), pg_->url(), {});
    ASSERT_FALSE(report.has_value());
    EXPECT_EQ(report.error().code, core::ErrorCode::kFailedPrecondition);
    EXPECT_THAT(report.error().message, HasSubstr("already holds data"));
    EXPECT_THAT(report.error().message, HasSubstr("users"));
    EXPECT_EQ(PgCount(pg_->url(), "users"), 1);
    EXPECT_EQ(PgCount(pg_->url(), "posts"), 0);
    EXPECT_EQ(PgCount(pg_->url(), "sandbox_posts"), 0);
}

TEST_F(CopyStoreTest, RefusesWhileAServerHoldsTheSourceLock) {
    MakeSource();
    const std::string lock_path = sqlite_.path().string() + ".lock";
    // What a running server holds (api/host.cpp, LockDatabase).
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
    auto report = CopyStore(sqlite_.url(), pg_->url(), {});
    ::close(fd);
    std::filesystem::remove(lock_path);
    ASSERT_FALSE(report.has_value());
    EXPECT_EQ(report.error().code, core::ErrorCode::kFailedPrecondition);
    EXPECT_THAT(report.error().message, HasSubstr("server is running"));
    // Nothing touched the destination, not even its schema.
    auto c = postgres::PgConn::Open(pg_->url());
    ASSERT_TRUE(c.has_value());
    auto r = (*c)->Exec(postgres::PgSql{"tables", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"});
    EXPECT_EQ(r.Int(0, 0), 0);
}

TEST_F(CopyStoreTest, RefusesWhenTheSchemasColumnsDiffer) {
    MakeSource();
    SqliteExec(sqlite_.path().string(), "ALTER TABLE posts ADD COLUMN mood TEXT");
    auto report = CopyStore(sqlite_.url(), pg_->url(), {});
    ASSERT_FALSE(report.has_value());
    EXPECT_EQ(report.error().code, core::ErrorCode::kFailedPrecondition);
    EXPECT_THAT(report.error().message, HasSubstr("columns of posts only in SQLite: mood"));
    EXPECT_EQ(PgCount(pg_->url(), "users"), 0);
}

TEST_F(CopyStoreTest, RefusesAMissingSourceFile) {
    auto report = CopyStore(sqlite_.url(), pg_->url(), {});
    ASSERT_FALSE(report.has_value());
    EXPECT_EQ(report.error().code, core::ErrorCode::kNotFound);
    EXPECT_FALSE(std::filesystem::exists(sqlite_.path()));
}

// A difference that appears between the copy and its verification: the transaction is rolled
// back and the error names the table.
struct Tamper {
    const char* sql;
    const char* table;
    const char* what;
};

class CopyStoreVerification : public CopyStoreTest, public ::testing::WithParamInterface<Tamper> {};

TEST_P(CopyStoreVerification, RollsBackAndNamesTheTable) {
    MakeSource();
    CopyOptions options;
    options.before_verify_sql = GetParam().sql;
    auto report = CopyStore(sqlite_.url(), pg_->url(), {}, options);
    ASSERT_FALSE(report.has_value());
    EXPECT_THAT(report.error().message,
                HasSubstr(std::string("verification failed for table ") + GetParam().table + ": "));
    EXPECT_THAT(report.error().message, HasSubstr(GetParam().what));
    for (const auto& t : kAllTables) EXPECT_EQ(PgCount(pg_->url(), t), 0) << t;
    // And with nothing tampered, the same source copies fine afterwards.
    auto again = CopyStore(sqlite_.url(), pg_->url(), {});
    ASSERT_TRUE(again.has_value()) << again.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Copy, CopyStoreVerification,
    ::testing::Values(Tamper{"UPDATE posts SET text = text || '!' WHERE id = (SELECT min(id) FROM posts)", "posts",
                             "differs"},
                      Tamper{"UPDATE deliveries SET error = '' WHERE error IS NULL AND id = (SELECT min(id) FROM "
                             "deliveries WHERE error IS NULL)",
                             "deliveries", "differs"},
                      Tamper{"DELETE FROM sandbox_posts WHERE remote_id = 'sb-4'", "sandbox_posts", "rows"},
                      Tamper{"INSERT INTO job_history SELECT 'extra', kind, workspace_id, delivery_id, account_id, "
                             "outcome, priority, attempts, due_at, last_error, created_at, finished_at FROM "
                             "job_history LIMIT 1",
                             "job_history", "rows"}),
    [](const ::testing::TestParamInfo<Tamper>& info) { return std::string(info.param.table); });

TEST(CopyChecksum, WritesValuesAsPostgresCopyTextFormat) {
    std::string line;
    TableChecksum::AppendText(line, "a\tb\nc\\d\re\bf\fg\vh");
    line += '\t';
    TableChecksum::AppendNull(line);
    line += '\t';
    TableChecksum::AppendText(line, "");
    line += '\t';
    TableChecksum::AppendInt(line, -9223372036854775807LL - 1);
    EXPECT_EQ(line, "a\\tb\\nc\\\\d\\re\\bf\\fg\\vh\t\\N\t\t-9223372036854775808");

    TableChecksum empty;
    EXPECT_EQ(empty.Finish(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    TableChecksum abc;
    abc.AddFormatted("ab");
    abc.AddFormatted("c");
    EXPECT_EQ(abc.Finish(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CopyUrls, MasksPasswordsAndReadsBothSqliteForms) {
    EXPECT_EQ(MaskDatabaseUrl("postgres://herald:s3cret@db.example:5432/herald"),
              "postgres://herald:***@db.example:5432/herald");
    EXPECT_EQ(MaskDatabaseUrl("postgresql://u:p%40ss@h/db?sslmode=require&password=other"),
              "postgresql://u:***@h/db?sslmode=require&password=***");
    EXPECT_EQ(MaskDatabaseUrl("postgres://herald@db/herald"), "postgres://herald@db/herald");
    EXPECT_EQ(MaskDatabaseUrl("postgres:///herald?host=/run/postgresql"), "postgres:///herald?host=/run/postgresql");
    EXPECT_EQ(MaskDatabaseUrl("sqlite:/var/lib/herald/herald.db"), "sqlite:/var/lib/herald/herald.db");
    EXPECT_EQ(SqlitePathOf("sqlite:/data/herald.db"), "/data/herald.db");
    EXPECT_EQ(SqlitePathOf("sqlite:///data/herald.db"), "/data/herald.db");
    EXPECT_EQ(SqlitePathOf("sqlite://data/herald.db"), "data/herald.db");
    EXPECT_EQ(SqlitePathOf("sqlite:"), std::nullopt);
    EXPECT_EQ(SqlitePathOf("postgres://x/y"), std::nullopt);
}

// A realistic size, measured: HERALD_COPY_BENCH_POSTS=100000 ./herald_storage_tests
// --gtest_filter=CopyStoreTest.Bench*. Skipped otherwise.
TEST_F(CopyStoreTest, BenchLargeInstallation) {
    const char* env = std::getenv("HERALD_COPY_BENCH_POSTS");
    if (env == nullptr) GTEST_SKIP() << "set HERALD_COPY_BENCH_POSTS to run";
    const int n = std::atoi(env);
    {
        auto store = OpenStore(sqlite_.url(), StoreOptions{3});
        ASSERT_TRUE(store.has_value());
        const domain::User u{core::NewId(kT0), "bench@example.com", "Bench", kT0};
        const domain::Workspace w{core::NewId(kT0), "Bench", kT0};
        ASSERT_TRUE((*store)->CreateUserWithWorkspace(u, "h", w).has_value());
        std::vector<std::string> accounts;
        for (int i = 0; i < 10; ++i) {
            const domain::Account a{core::NewId(kT0), w.id, "sandbox", "a" + std::to_string(i), "{}", true, kT0};
            ASSERT_TRUE((*store)->InsertAccount(a, "v1:sealed").has_value());
            accounts.push_back(a.id);
        }
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<domain::Post> batch;
        for (int i = 0; i < n; ++i) {
            const TimePoint id_time = kT0 + std::chrono::milliseconds(i);
            batch.push_back(NewPost(u, w.id, {accounts[i % accounts.size()]}, kT0 + std::chrono::seconds(i), id_time,
                                    "bench post number " + std::to_string(i) + " with some text to carry along"));
            if (batch.size() == 5000 || i + 1 == n) {
                ASSERT_TRUE((*store)->CreatePosts(batch).has_value());
                batch.clear();
            }
        }
        // A fifth of them published: history rows and sandbox posts.
        const TimePoint now = kT0 + std::chrono::seconds(n / 5);
        for (;;) {
            auto claimed = (*store)->ClaimDueJobs(now, 1000, now + 10min);
            ASSERT_TRUE(claimed.has_value());
            if (claimed->empty()) break;
            std::vector<app::Store::Completion> done;
            std::vector<app::SandboxPost> sandbox;
            for (const auto& cj : *claimed) {
                app::OutcomeRecord ok{DeliveryStatus::kPublished};
                ok.remote_id = "r-" + cj.job.id;
                done.push_back({cj.job.id, ok, false});
                sandbox.push_back({"r-" + cj.job.id, cj.account.id, cj.text, cj.job.id, now});
            }
            ASSERT_TRUE((*store)->RecordOutcomes(done, now).has_value());
            ASSERT_TRUE((*store)->SandboxInsertBatch(sandbox, std::vector<bool>(sandbox.size(), true)).has_value());
        }
        std::cerr << "built the source in "
                  << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s\n";
    }
    std::ifstream loadavg("/proc/loadavg");
    std::string load;
    std::getline(loadavg, load);
    // Seconds per table and phase, from the progress reports.
    std::map<std::string, double> seconds;
    std::chrono::steady_clock::time_point started;
    auto report = CopyStore(sqlite_.url(), pg_->url(), [&](const CopyProgress& p) {
        const auto now = std::chrono::steady_clock::now();
        if (p.rows_done == 0 && !p.finished) started = now;
        if (p.finished) {
            seconds[(p.phase == CopyProgress::Phase::kCopy ? "copy " : "verify ") + p.table] =
                std::chrono::duration<double>(now - started).count();
        }
    });
    ASSERT_TRUE(report.has_value()) << report.error().message;
    for (const auto& [what, s] : seconds) {
        if (s >= 0.05) std::cerr << "  " << what << " " << s << " s\n";
    }
    std::cerr << "copied " << report->rows << " rows in " << report->seconds << " s ("
              << static_cast<int64_t>(report->rows / report->seconds) << " rows/s); load before: " << load << "\n";
    for (const auto& t : report->tables) std::cerr << "  " << t.table << " " << t.rows << "\n";
}

}  // namespace
}  // namespace herald::storage
