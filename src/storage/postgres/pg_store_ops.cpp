#include <algorithm>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>
#include <unordered_map>

#include "core/ids.hpp"
#include "domain/cron.hpp"
#include "domain/periodic.hpp"
#include "storage/postgres/pg_common.hpp"
#include "storage/postgres/pg_store.hpp"
#include "storage/readers.hpp"

// The PostgreSQL store, continued: periodic jobs, purges, idempotency keys, the sandbox, tasks,
// job views, pauses, queue statistics and the stalled-work check. (pg_store.cpp has users,
// accounts, posts and the publish path.)

namespace herald::storage::postgres {
namespace {

using core::ErrorCode;
using core::Fail;
using core::FromUnixMillis;
using core::ToUnixMillis;
using domain::DeliveryStatus;

// ---- named statements ----------------------------------------------------------------------

// ---- tasks ----
#define HERALD_JOB_COLUMNS                                                                                         \
    "id, workspace_id, delivery_id, state, priority, attempts, max_attempts, due_at, lease_until, kind, payload, " \
    "uncertain, account_id, last_error, created_at, updated_at"
// A task id taken once: while it waits (primary key) and after it finished (history).
constexpr PgSql kInsertTask{"insert_task",
                            "INSERT INTO jobs(id, kind, workspace_id, delivery_id, account_id, state, priority, "
                            "attempts, max_attempts, due_at, payload, created_at, updated_at) "
                            "SELECT $1::text, $2::text, $3::text, NULL, NULL, 'pending', $4::integer, 0, $5::integer, "
                            "$6::bigint, $7::text, $8::bigint, $8::bigint "
                            "WHERE NOT EXISTS (SELECT 1 FROM job_history WHERE id = $1::text) "
                            "ON CONFLICT (id) DO NOTHING"};
constexpr PgSql kJobById{"job_record_by_id", "SELECT " HERALD_JOB_COLUMNS " FROM jobs WHERE id = $1"};
// FOR UPDATE: a completion waits for a claim or rescue of the same job, then sees its attempt.
constexpr PgSql kJobByIdForUpdate{"task_to_complete",
                                  "SELECT " HERALD_JOB_COLUMNS " FROM jobs WHERE id = $1 FOR UPDATE"};
#undef HERALD_JOB_COLUMNS
constexpr PgSql kHistoryById{"history_by_id",
                             "SELECT id, kind, workspace_id, delivery_id, account_id, outcome, priority, attempts, "
                             "due_at, last_error, created_at, finished_at FROM job_history WHERE id = $1"};
// SQLite's INSERT OR REPLACE: the finished row replaces any earlier one with the id.
constexpr PgSql kTaskToHistory{
    "task_to_history",
    "INSERT INTO job_history(id, kind, workspace_id, delivery_id, account_id, outcome, priority, attempts, due_at, "
    "last_error, created_at, finished_at) "
    "SELECT id, kind, workspace_id, delivery_id, account_id, 'done', priority, attempts, due_at, NULL, created_at, "
    "$2::bigint FROM jobs WHERE id = $1::text "
    "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, workspace_id = excluded.workspace_id, "
    "delivery_id = excluded.delivery_id, account_id = excluded.account_id, outcome = excluded.outcome, "
    "priority = excluded.priority, attempts = excluded.attempts, due_at = excluded.due_at, "
    "last_error = excluded.last_error, created_at = excluded.created_at, finished_at = excluded.finished_at"};
constexpr PgSql kDeleteTask{"delete_task", "DELETE FROM jobs WHERE id = $1"};
constexpr PgSql kRetryTask{"retry_task",
                           "UPDATE jobs SET state = 'pending', due_at = $2, rank_at = NULL, lease_until = NULL, "
                           "last_error = $3, updated_at = $4, uncertain = $5 WHERE id = $1"};
constexpr PgSql kKillTask{"kill_task",
                          "UPDATE jobs SET state = 'dead', lease_until = NULL, last_error = $2, updated_at = $3 "
                          "WHERE id = $1"};

// ---- periodic schedules ----
#define HERALD_PERIODIC_COLUMNS "name, kind, cron, timezone, priority, max_attempts, enabled, next_run_at, last_run_at"
// What the code owns (kind, priority, attempts) follows the code; what an operator may have
// changed (cron, time zone, enabled, next run) stays.
constexpr PgSql kUpsertPeriodic{"upsert_periodic",
                                "INSERT INTO periodic_jobs(name, kind, cron, timezone, priority, max_attempts, "
                                "enabled, next_run_at, created_at, updated_at) "
                                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) "
                                "ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, priority = excluded.priority, "
                                "max_attempts = excluded.max_attempts RETURNING " HERALD_PERIODIC_COLUMNS};
constexpr PgSql kListPeriodic{"list_periodic", "SELECT " HERALD_PERIODIC_COLUMNS " FROM periodic_jobs ORDER BY name"};
// FOR UPDATE: two operators changing one schedule apply one after the other.
constexpr PgSql kPeriodicForUpdate{"periodic_for_update",
                                   "SELECT " HERALD_PERIODIC_COLUMNS " FROM periodic_jobs WHERE name = $1 FOR UPDATE"};
constexpr PgSql kUpdatePeriodic{"update_periodic",
                                "UPDATE periodic_jobs SET cron = $2, timezone = $3, enabled = $4, next_run_at = NULL, "
                                "updated_at = $5 WHERE name = $1 RETURNING " HERALD_PERIODIC_COLUMNS};
#undef HERALD_PERIODIC_COLUMNS
// The compare-and-set: only the process that read this very next_run_at moves it on. A second
// process racing for the row waits for the first to commit, then finds the value changed
// (PostgreSQL re-checks the WHERE on the updated row) and moves nothing.
constexpr PgSql kAdvancePeriodic{"advance_periodic",
                                 "UPDATE periodic_jobs SET next_run_at = $3, "
                                 "last_run_at = COALESCE($4::bigint, last_run_at), updated_at = $5 "
                                 "WHERE name = $1 AND next_run_at IS NOT DISTINCT FROM $2::bigint AND enabled = 1"};
// The tick's job, by its deterministic id: the primary key takes it once, and a tick already
// finished (moved to the history) is not queued again either.
constexpr PgSql kInsertTickJob{"insert_tick_job",
                               "INSERT INTO jobs(id, kind, workspace_id, delivery_id, account_id, state, priority, "
                               "attempts, max_attempts, due_at, payload, created_at, updated_at) "
                               "SELECT $1::text, kind, NULL, NULL, NULL, 'pending', priority, 0, max_attempts, "
                               "$3::bigint, $4::text, $3::bigint, $3::bigint FROM periodic_jobs WHERE name = $2::text "
                               "AND NOT EXISTS (SELECT 1 FROM job_history WHERE id = $1::text) "
                               "ON CONFLICT (id) DO NOTHING"};

// ---- maintenance ----
constexpr PgSql kPurgeHistory{
    "purge_history",
    "DELETE FROM job_history WHERE id = ANY(ARRAY(SELECT id FROM job_history WHERE finished_at < $1 "
    "ORDER BY finished_at LIMIT $2))"};
constexpr PgSql kPurgeDeadTasks{"purge_dead_tasks",
                                "DELETE FROM jobs WHERE id = ANY(ARRAY(SELECT id FROM jobs WHERE state = 'dead' "
                                "AND kind <> 'publish' AND updated_at < $1 ORDER BY updated_at LIMIT $2))"};
// A family is over when none of its tokens can be used again: all expired, or all revoked.
constexpr PgSql kPurgeRefreshTokens{
    "purge_refresh_tokens",
    "DELETE FROM refresh_tokens WHERE family_id IN (SELECT family_id FROM refresh_tokens "
    "GROUP BY family_id HAVING MAX(expires_at) <= $1 OR MIN(revoked) = 1 LIMIT $2)"};
// Due pending jobs, oldest first: one range of jobs_claim per priority, as the claim reads it.
constexpr PgSql kOverdueJobs{"overdue_jobs",
                             "SELECT j.id, j.kind, j.delivery_id, j.due_at, j.attempts FROM generate_series(10, 1, -1) "
                             "AS p CROSS JOIN LATERAL (SELECT id, kind, delivery_id, due_at, attempts FROM jobs "
                             "WHERE state = 'pending' AND priority = p AND due_at < $1 ORDER BY due_at LIMIT $2) AS j "
                             "ORDER BY j.due_at, p DESC LIMIT $2"};
constexpr PgSql kStuckPublishing{
    "stuck_publishing",
    "SELECT d.id, d.post_id, d.account_id, d.updated_at, j.id, j.state, j.lease_until FROM deliveries d "
    "LEFT JOIN jobs j ON j.delivery_id = d.id WHERE d.status = 'publishing' AND d.updated_at < $1 "
    "AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.delivery_id = d.id AND r.state = 'running' "
    "AND r.lease_until >= $1) ORDER BY d.updated_at LIMIT $2"};

// ---- idempotency keys ----
constexpr PgSql kReserveKey{"reserve_idempotency_key",
                            "INSERT INTO idempotency_keys(workspace_id, user_id, key, method, path, body_hash, "
                            "status, response, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, NULL, $7) "
                            "ON CONFLICT DO NOTHING"};
constexpr PgSql kKeyByName{"idempotency_key_by_name",
                           "SELECT method, path, body_hash, status, response, created_at FROM idempotency_keys "
                           "WHERE workspace_id = $1 AND user_id = $2 AND key = $3"};
constexpr PgSql kFinishKey{"finish_idempotency_key",
                           "UPDATE idempotency_keys SET status = $4, response = $5 "
                           "WHERE workspace_id = $1 AND user_id = $2 AND key = $3"};
constexpr PgSql kDropKey{"drop_idempotency_key",
                         "DELETE FROM idempotency_keys WHERE workspace_id = $1 AND user_id = $2 AND key = $3"};
constexpr PgSql kPurgeKeys{"purge_idempotency_keys", "DELETE FROM idempotency_keys WHERE created_at < $1"};

// ---- sandbox ----
// Remote ids compare byte by byte (COLLATE "C"), as in SQLite and in SandboxInsertBatch.
#define HERALD_SANDBOX_COLUMNS "remote_id, account_id, text, idempotency_key, created_at, kind, parent"
constexpr PgSql kSandboxInsert{
    "sandbox_insert", "INSERT INTO sandbox_posts(" HERALD_SANDBOX_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7)"};
constexpr PgSql kSandboxByKey{"sandbox_by_key", "SELECT " HERALD_SANDBOX_COLUMNS
                                                " FROM sandbox_posts WHERE account_id = $1 AND idempotency_key = $2 "
                                                "ORDER BY created_at, remote_id COLLATE \"C\" LIMIT 1"};
// $1 request index, $2 account, $3 idempotency key. Every stored post with one of the keys.
// No `account_id = ANY($2) AND idempotency_key = ANY($3)` beside the join: with one account
// that became an index scan of all the account's posts, filtered by key (5-6 s statements in
// the soak once sandbox_posts had grown).
constexpr PgSql kSandboxFindKeys{"sandbox_find_keys",
                                 "SELECT u.i, s.remote_id, s.account_id, s.text, s.idempotency_key, s.created_at, "
                                 "s.kind, s.parent FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(i, a, k) "
                                 "JOIN sandbox_posts s ON s.account_id = u.a AND s.idempotency_key = u.k"};
constexpr PgSql kSandboxInsertRows{
    "sandbox_insert_rows", "INSERT INTO sandbox_posts(" HERALD_SANDBOX_COLUMNS
                           ") SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], "
                           "$6::text[], $7::text[])"};
constexpr PgSql kSandboxList{"sandbox_list", "SELECT " HERALD_SANDBOX_COLUMNS
                                             " FROM sandbox_posts WHERE account_id = $1 "
                                             "ORDER BY created_at, remote_id COLLATE \"C\""};
#undef HERALD_SANDBOX_COLUMNS
// Holds each (account, idempotency key) until the transaction ends, in the order given: two
// deduplicating inserts of one key, from any process, store it once. (No unique index can say
// this: a platform that does not deduplicate stores every copy.)
constexpr PgSql kSandboxLockKeys{"sandbox_lock_keys",
                                 "SELECT pg_advisory_xact_lock(a, b) FROM unnest($1::integer[], $2::integer[]) "
                                 "AS u(a, b)"};

// ---- operating the queue ----
// Filters shared by the live and the finished listing: $1 workspace, $2 state, $3 kind,
// $4 account, $5 platform, $6 cursor, $7 limit.
constexpr PgSql kListLiveJobs{
    "list_live_jobs",
    "SELECT j.id, j.kind, j.state, NULL, j.workspace_id, j.delivery_id, d.post_id, j.account_id, a.platform, "
    "j.priority, j.attempts, j.max_attempts, j.due_at, j.lease_until, j.last_error, j.uncertain, j.created_at, "
    "j.updated_at FROM jobs j LEFT JOIN deliveries d ON d.id = j.delivery_id "
    "LEFT JOIN accounts a ON a.id = j.account_id "
    "WHERE ($1::text IS NULL OR j.workspace_id = $1::text) AND ($2::text IS NULL OR j.state = $2::text) "
    "AND ($3::text IS NULL OR j.kind = $3::text) AND ($4::text IS NULL OR j.account_id = $4::text) "
    "AND ($5::text IS NULL OR a.platform = $5::text) AND ($6::text IS NULL OR j.id < $6::text) "
    "ORDER BY j.id DESC LIMIT $7"};
constexpr PgSql kListFinishedJobs{
    "list_finished_jobs",
    "SELECT j.id, j.kind, 'done', j.outcome, j.workspace_id, j.delivery_id, d.post_id, j.account_id, a.platform, "
    "j.priority, j.attempts, j.attempts, j.due_at, NULL, j.last_error, 0, j.created_at, j.finished_at "
    "FROM job_history j LEFT JOIN deliveries d ON d.id = j.delivery_id "
    "LEFT JOIN accounts a ON a.id = j.account_id "
    "WHERE ($1::text IS NULL OR j.workspace_id = $1::text) AND ($2::text IS NULL OR $2::text = 'done') "
    "AND ($3::text IS NULL OR j.kind = $3::text) AND ($4::text IS NULL OR j.account_id = $4::text) "
    "AND ($5::text IS NULL OR a.platform = $5::text) AND ($6::text IS NULL OR j.id < $6::text) "
    "ORDER BY j.id DESC LIMIT $7"};
constexpr PgSql kLiveJobView{
    "live_job_view",
    "SELECT j.id, j.kind, j.state, NULL, j.workspace_id, j.delivery_id, d.post_id, j.account_id, a.platform, "
    "j.priority, j.attempts, j.max_attempts, j.due_at, j.lease_until, j.last_error, j.uncertain, j.created_at, "
    "j.updated_at FROM jobs j LEFT JOIN deliveries d ON d.id = j.delivery_id "
    "LEFT JOIN accounts a ON a.id = j.account_id WHERE j.id = $1 AND ($2::text IS NULL OR j.workspace_id = $2::text)"};
constexpr PgSql kFinishedJobView{
    "finished_job_view",
    "SELECT j.id, j.kind, 'done', j.outcome, j.workspace_id, j.delivery_id, d.post_id, j.account_id, a.platform, "
    "j.priority, j.attempts, j.attempts, j.due_at, NULL, j.last_error, 0, j.created_at, j.finished_at "
    "FROM job_history j LEFT JOIN deliveries d ON d.id = j.delivery_id "
    "LEFT JOIN accounts a ON a.id = j.account_id WHERE j.id = $1 AND ($2::text IS NULL OR j.workspace_id = $2::text)"};

// ---- pauses ----
// A pause and the jobs it holds change together: every writer of jobs waits while a pause or
// resume runs, and a pause or resume waits for the writers already running. Otherwise a job
// written beside it (its trigger not seeing the uncommitted pause, the pause's UPDATE not
// seeing the uncommitted job) would escape the pause, or stay paused after the resume. Self-
// conflicting too: pauses and resumes apply one at a time.
constexpr const char* kLockJobsForPause = "LOCK TABLE jobs IN SHARE ROW EXCLUSIVE MODE";
#define HERALD_PAUSE_COLUMNS "id, workspace_id, account_id, platform, reason, created_by, created_at"
constexpr PgSql kInsertPause{"insert_pause", "INSERT INTO pauses(" HERALD_PAUSE_COLUMNS
                                             ") VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"};
constexpr PgSql kPauseByScope{
    "pause_by_scope", "SELECT " HERALD_PAUSE_COLUMNS
                      " FROM pauses WHERE workspace_id IS NOT DISTINCT FROM $1::text "
                      "AND account_id IS NOT DISTINCT FROM $2::text AND platform IS NOT DISTINCT FROM $3::text"};
constexpr PgSql kDeletePause{"delete_pause",
                             "DELETE FROM pauses WHERE workspace_id IS NOT DISTINCT FROM $1::text "
                             "AND account_id IS NOT DISTINCT FROM $2::text AND platform IS NOT DISTINCT FROM $3::text"};
constexpr PgSql kListPauses{"list_pauses",
                            "SELECT " HERALD_PAUSE_COLUMNS
                            " FROM pauses WHERE $1::text IS NULL OR workspace_id = $1::text OR workspace_id IS NULL "
                            "ORDER BY created_at, id"};
#undef HERALD_PAUSE_COLUMNS
// $1 workspace, $2 account, $3 platform: NULL matches everything.
#define HERALD_SCOPE_MATCH                                                                               \
    "($1::text IS NULL OR workspace_id = $1::text) AND ($2::text IS NULL OR account_id = $2::text) AND " \
    "($3::text IS NULL OR account_id IN (SELECT id FROM accounts WHERE platform = $3::text))"
constexpr PgSql kPauseJobs{"pause_jobs",
                           "UPDATE jobs SET state = 'paused', updated_at = $4::bigint WHERE state = 'pending' AND "
                           "kind = 'publish' AND " HERALD_SCOPE_MATCH};
// The triggers pause again whatever another pause still covers.
constexpr PgSql kResumeJobs{"resume_jobs",
                            "UPDATE jobs SET state = 'pending', updated_at = $4::bigint WHERE state = 'paused' AND "
                            "kind = 'publish' AND " HERALD_SCOPE_MATCH};
constexpr PgSql kCountPaused{"count_paused",
                             "SELECT COUNT(*) FROM jobs WHERE state = 'paused' AND " HERALD_SCOPE_MATCH};
#undef HERALD_SCOPE_MATCH

// ---- queue statistics ----
constexpr PgSql kCountByState{"count_jobs_by_state",
                              "SELECT state, COUNT(*) FROM jobs WHERE $1::text IS NULL OR workspace_id = $1::text "
                              "GROUP BY state"};
constexpr PgSql kCountDue{"count_due_jobs",
                          "SELECT COUNT(*), MIN(due_at) FROM jobs WHERE state = 'pending' AND due_at <= $2 AND "
                          "($1::text IS NULL OR workspace_id = $1::text)"};
constexpr PgSql kCountByAccount{
    "count_jobs_by_account",
    "SELECT j.account_id, COALESCE(a.platform, ''), COUNT(*) FILTER (WHERE j.state = 'pending'), "
    "COUNT(*) FILTER (WHERE j.state = 'paused'), COUNT(*) FILTER (WHERE j.state = 'running'), "
    "COUNT(*) FILTER (WHERE j.state = 'dead') FROM jobs j JOIN accounts a ON a.id = j.account_id "
    "WHERE $1::text IS NULL OR j.workspace_id = $1::text GROUP BY j.account_id, a.platform "
    "ORDER BY 3 DESC, 1 LIMIT 1000"};
constexpr PgSql kFinishedSince{"finished_since",
                               "SELECT COUNT(*), COUNT(*) FILTER (WHERE outcome IN ('published', 'done')), "
                               "COUNT(*) FILTER (WHERE outcome = 'failed') FROM job_history "
                               "WHERE finished_at >= $2 AND ($1::text IS NULL OR workspace_id = $1::text)"};
constexpr PgSql kDeadSince{"dead_since",
                           "SELECT COUNT(*) FROM jobs WHERE state = 'dead' AND updated_at >= $2 AND "
                           "($1::text IS NULL OR workspace_id = $1::text)"};

// ---- row readers ---------------------------------------------------------------------------

// ---- helpers --------------------------------------------------------------------------------

Params ScopeParams(const app::PauseScope& scope) {
    Params p;
    p.Add(scope.workspace_id).Add(scope.account_id).Add(scope.platform);
    return p;
}

int64_t CountPaused(PgConn& c, const app::PauseScope& scope) {
    auto r = c.Exec(kCountPaused, ScopeParams(scope));
    return r.rows() > 0 ? r.Int(0, 0) : 0;
}

// Takes the sandbox's lock on each (account, idempotency key), until the transaction ends. The
// keys are hashed to the two 32-bit halves of a 64-bit FNV-1a (a collision only makes two keys
// wait for each other) and locked in ascending order, so that two batches never deadlock.
void LockSandboxKeys(PgConn& c, const std::vector<std::pair<std::string_view, std::string_view>>& keys) {
    if (keys.empty()) return;
    std::vector<uint64_t> hashes;
    hashes.reserve(keys.size());
    for (const auto& [account, key] : keys) {
        uint64_t h = 1469598103934665603ULL;
        const auto mix = [&h](std::string_view s) {
            for (const unsigned char ch : s) h = (h ^ ch) * 1099511628211ULL;
        };
        mix(account);
        h = (h ^ 0xffU) * 1099511628211ULL;  // a separator no UTF-8 text contains
        mix(key);
        hashes.push_back(h);
    }
    std::sort(hashes.begin(), hashes.end());
    hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
    ArrayParam high, low;
    for (const uint64_t h : hashes) {
        high.Add(static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(h >> 32))));
        low.Add(static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(h))));
    }
    c.Exec(kSandboxLockKeys, Params().Add(high.Take()).Add(low.Take()));
}

void InsertSandboxRow(PgConn& c, const app::SandboxPost& p) {
    c.Exec(kSandboxInsert, Params()
                               .Add(p.remote_id)
                               .Add(p.account_id)
                               .Add(p.text)
                               .Add(p.idempotency_key)
                               .Add(ToUnixMillis(p.created_at))
                               .Add(p.kind)
                               .Add(p.parent));
}

}  // namespace

// ---- tasks ----------------------------------------------------------------------------------

core::Result<bool> PgStore::EnqueueTask(const app::NewTask& t, core::TimePoint now) {
    if (t.kind == domain::JobKind::kPublish) {
        return Fail(ErrorCode::kInvalidArgument, "publish jobs come from posts, not from EnqueueTask");
    }
    if (t.id.empty() || t.priority < domain::kMinPriority || t.priority > domain::kMaxPriority || t.max_attempts < 1) {
        return Fail(ErrorCode::kInvalidArgument, "a task needs an id, a priority 1-10 and at least one attempt");
    }
    return WithConn("enqueue_task", [&](PgConn& c) -> core::Result<bool> {
        auto r = c.Exec(kInsertTask, Params()
                                         .Add(t.id)
                                         .Add(domain::ToString(t.kind))
                                         .Add(t.workspace_id)
                                         .Add(t.priority)
                                         .Add(t.max_attempts)
                                         .Add(ToUnixMillis(t.due_at))
                                         .Add(t.payload)
                                         .Add(ToUnixMillis(now)));
        return r.affected() == 1;
    });
}

core::Result<bool> PgStore::CompleteTask(const std::string& job_id, int attempt, const app::TaskOutcome& o,
                                         core::TimePoint now) {
    using Kind = app::TaskOutcome::Kind;
    return WithConn("complete_task", [&](PgConn& c) -> core::Result<bool> {
        PgTransaction tx(c);
        std::optional<domain::Job> job;
        {
            auto r = c.Exec(kJobByIdForUpdate, Params().Add(job_id));
            if (r.rows() > 0) job = ReadJob(PgRow(r, 0));
        }
        // Fenced by the attempt number: a worker whose lease ran out must not overwrite the
        // attempt of whoever took the job over.
        if (!job || job->kind == domain::JobKind::kPublish || job->state != domain::JobState::kRunning ||
            job->attempts != attempt) {
            return false;
        }
        switch (o.kind) {
            case Kind::kDone:
                c.Exec(kTaskToHistory, Params().Add(job_id).Add(ToUnixMillis(now)));
                c.Exec(kDeleteTask, Params().Add(job_id));
                break;
            case Kind::kRetry:
                c.Exec(kRetryTask, Params()
                                       .Add(job_id)
                                       .Add(ToUnixMillis(o.retry_at.value_or(now)))
                                       .Add(o.error)
                                       .Add(ToUnixMillis(now))
                                       .Add(0));
                break;
            case Kind::kDead:
                c.Exec(kKillTask, Params().Add(job_id).Add(o.error).Add(ToUnixMillis(now)));
                break;
        }
        tx.Commit();
        return true;
    });
}

core::Result<std::optional<app::JobRecord>> PgStore::FindJob(const std::string& job_id) {
    return WithConn("find_job", [&](PgConn& c) -> core::Result<std::optional<app::JobRecord>> {
        {
            auto r = c.Exec(kJobById, Params().Add(job_id));
            if (r.rows() > 0) {
                const PgRow s(r, 0);
                app::JobRecord rec;
                rec.job = ReadJob(s);
                rec.account_id = s.Text(12);
                rec.last_error = s.OptText(13);
                rec.created_at = FromUnixMillis(s.Int(14));
                rec.updated_at = FromUnixMillis(s.Int(15));
                return std::optional<app::JobRecord>(std::move(rec));
            }
        }
        // A job finishing meanwhile: its delete and its history row commit together, so a
        // job gone from the first read is in the history for this later one.
        auto r = c.Exec(kHistoryById, Params().Add(job_id));
        if (r.rows() == 0) return std::optional<app::JobRecord>{};
        const PgRow s(r, 0);
        app::JobRecord rec;
        rec.job.id = s.Text(0);
        rec.job.kind = ParseKind(s.Text(1));
        rec.job.workspace_id = s.Text(2);
        rec.job.delivery_id = s.Text(3);
        rec.account_id = s.Text(4);
        rec.outcome = s.Text(5);
        rec.job.state = domain::JobState::kDone;
        rec.job.priority = static_cast<int>(s.Int(6));
        rec.job.attempts = static_cast<int>(s.Int(7));
        rec.job.due_at = FromUnixMillis(s.Int(8));
        rec.last_error = s.OptText(9);
        rec.created_at = FromUnixMillis(s.Int(10));
        rec.updated_at = FromUnixMillis(s.Int(11));
        return std::optional<app::JobRecord>(std::move(rec));
    });
}

// ---- periodic schedules ---------------------------------------------------------------------

core::Result<domain::PeriodicSchedule> PgStore::UpsertPeriodic(const domain::PeriodicSchedule& p,
                                                               core::TimePoint first_run_at, core::TimePoint now) {
    if (auto ok = domain::CheckSchedule(p); !ok) return tl::unexpected(ok.error());
    return WithConn("upsert_periodic", [&](PgConn& c) -> core::Result<domain::PeriodicSchedule> {
        // One statement: the insert, or the update of a row another process inserted first.
        auto r = c.Exec(kUpsertPeriodic, Params()
                                             .Add(p.name)
                                             .Add(domain::ToString(p.kind))
                                             .Add(p.cron)
                                             .Add(p.time_zone)
                                             .Add(p.priority)
                                             .Add(p.max_attempts)
                                             .Add(p.enabled)
                                             .Add(ToUnixMillis(first_run_at))
                                             .Add(ToUnixMillis(now)));
        if (r.rows() == 0) throw StoreError("periodic schedule vanished inside its upsert: " + p.name);
        return ReadPeriodic(PgRow(r, 0));
    });
}

core::Result<std::vector<domain::PeriodicSchedule>> PgStore::ListPeriodic() {
    return WithConn("list_periodic", [&](PgConn& c) -> core::Result<std::vector<domain::PeriodicSchedule>> {
        auto r = c.Exec(kListPeriodic);
        std::vector<domain::PeriodicSchedule> out;
        for (int i = 0; i < r.rows(); ++i) out.push_back(ReadPeriodic(PgRow(r, i)));
        return out;
    });
}

core::Result<bool> PgStore::ClaimPeriodicTick(const app::PeriodicTick& t, core::TimePoint now) {
    return WithConn("claim_periodic_tick", [&](PgConn& c) -> core::Result<bool> {
        PgTransaction tx(c);
        // The row stays locked until the commit: a racing process waits, then finds next_run_at
        // moved and claims nothing.
        const auto moved = c.Exec(kAdvancePeriodic, Params()
                                                        .Add(t.name)
                                                        .Add(OptMillis(t.expected_next_run_at))
                                                        .Add(ToUnixMillis(t.next_run_at))
                                                        .Add(OptMillis(t.tick))
                                                        .Add(ToUnixMillis(now)))
                               .affected();
        if (moved == 0) return false;  // another process got there first (or it was disabled)
        bool queued = true;
        if (t.tick) {
            const std::string payload = nlohmann::json{{"schedule", t.name}, {"tick", ToUnixMillis(*t.tick)}}.dump();
            queued = c.Exec(kInsertTickJob, Params()
                                                .Add(domain::PeriodicJobId(t.name, *t.tick))
                                                .Add(t.name)
                                                .Add(ToUnixMillis(now))
                                                .Add(payload))
                         .affected() == 1;
            if (!queued) {
                // The schedule was moved back by hand onto a tick that already ran: keep the
                // new next_run_at, and do not run the tick twice.
                spdlog::warn("event=periodic_tick_already_queued name={} tick_ms={}", t.name, ToUnixMillis(*t.tick));
            }
        }
        tx.Commit();
        return queued;
    });
}

core::Result<domain::PeriodicSchedule> PgStore::UpdatePeriodic(const app::PeriodicUpdate& u, core::TimePoint now) {
    return WithConn("update_periodic", [&](PgConn& c) -> core::Result<domain::PeriodicSchedule> {
        PgTransaction tx(c);
        domain::PeriodicSchedule next;
        {
            auto r = c.Exec(kPeriodicForUpdate, Params().Add(u.name));
            if (r.rows() == 0) return Fail(ErrorCode::kNotFound, "no periodic job is named '" + u.name + "'");
            next = ReadPeriodic(PgRow(r, 0));
        }
        if (u.cron) next.cron = *u.cron;
        if (u.time_zone) next.time_zone = *u.time_zone;
        if (u.enabled) next.enabled = *u.enabled;
        if (auto ok = domain::CheckSchedule(next); !ok) return tl::unexpected(ok.error());
        auto r =
            c.Exec(kUpdatePeriodic,
                   Params().Add(u.name).Add(next.cron).Add(next.time_zone).Add(next.enabled).Add(ToUnixMillis(now)));
        if (r.rows() == 0) throw StoreError("periodic schedule vanished inside its transaction: " + u.name);
        auto stored = ReadPeriodic(PgRow(r, 0));
        tx.Commit();
        return stored;
    });
}

// ---- maintenance ----------------------------------------------------------------------------

core::Result<int> PgStore::PurgeHistory(core::TimePoint before, int limit) {
    return WithConn("purge_history", [&](PgConn& c) -> core::Result<int> {
        return static_cast<int>(c.Exec(kPurgeHistory, Params().Add(ToUnixMillis(before)).Add(limit)).affected());
    });
}

core::Result<int> PgStore::PurgeDeadTasks(core::TimePoint before, int limit) {
    return WithConn("purge_dead_tasks", [&](PgConn& c) -> core::Result<int> {
        return static_cast<int>(c.Exec(kPurgeDeadTasks, Params().Add(ToUnixMillis(before)).Add(limit)).affected());
    });
}

core::Result<int> PgStore::PurgeRefreshTokens(core::TimePoint now, int limit) {
    return WithConn("purge_refresh_tokens", [&](PgConn& c) -> core::Result<int> {
        return static_cast<int>(c.Exec(kPurgeRefreshTokens, Params().Add(ToUnixMillis(now)).Add(limit)).affected());
    });
}

core::Result<app::StalledWork> PgStore::FindStalledWork(core::TimePoint now, core::Millis lag, int limit) {
    return WithConn("find_stalled_work", [&](PgConn& c) -> core::Result<app::StalledWork> {
        app::StalledWork out;
        const int64_t cutoff = ToUnixMillis(now - lag);
        {
            auto r = c.Exec(kOverdueJobs, Params().Add(cutoff).Add(limit));
            for (int i = 0; i < r.rows(); ++i) {
                out.overdue_jobs.push_back(app::StalledJob{r.Text(i, 0), ParseKind(r.Text(i, 1)), r.Text(i, 2),
                                                           FromUnixMillis(r.Int(i, 3)), static_cast<int>(r.Int(i, 4))});
            }
        }
        auto r = c.Exec(kStuckPublishing, Params().Add(cutoff).Add(limit));
        for (int i = 0; i < r.rows(); ++i) {
            app::StalledDelivery d;
            d.delivery_id = r.Text(i, 0);
            d.post_id = r.Text(i, 1);
            d.account_id = r.Text(i, 2);
            d.publishing_since = FromUnixMillis(r.Int(i, 3));
            d.job_id = r.OptText(i, 4);
            if (auto state = r.OptText(i, 5)) d.job_state = domain::ParseJobState(*state);
            d.lease_until = OptTime(r.OptInt(i, 6));
            out.stuck_deliveries.push_back(std::move(d));
        }
        return out;
    });
}

// ---- sandbox --------------------------------------------------------------------------------

core::Result<app::SandboxPost> PgStore::SandboxInsert(const app::SandboxPost& p, bool deduplicate) {
    return WithConn("sandbox_insert", [&](PgConn& c) -> core::Result<app::SandboxPost> {
        PgTransaction tx(c);
        if (deduplicate) {
            LockSandboxKeys(c, {{p.account_id, p.idempotency_key}});
            auto r = c.Exec(kSandboxByKey, Params().Add(p.account_id).Add(p.idempotency_key));
            if (r.rows() > 0) return ReadSandbox(PgRow(r, 0));
        }
        InsertSandboxRow(c, p);
        tx.Commit();
        return p;
    });
}

core::Result<std::vector<app::SandboxPost>> PgStore::SandboxInsertBatch(const std::vector<app::SandboxPost>& posts,
                                                                        const std::vector<bool>& deduplicate) {
    return WithConn("sandbox_insert_batch", [&](PgConn& c) -> core::Result<std::vector<app::SandboxPost>> {
        // The sandbox stands in for a platform's own servers; its writes are not Herald's records
        // and need not be synced before the answer (they survive a crash of the process).
        PgTransaction tx(c, Durability::kRelaxed);
        const auto dedupes = [&](size_t i) { return i < deduplicate.size() && deduplicate[i]; };
        // What a deduplicating request already finds stored: the first post with its key.
        std::vector<std::optional<app::SandboxPost>> found(posts.size());
        {
            std::vector<std::pair<std::string_view, std::string_view>> keys;
            ArrayParam index, accounts, idempotency_keys;
            for (size_t i = 0; i < posts.size(); ++i) {
                if (!dedupes(i)) continue;
                keys.emplace_back(posts[i].account_id, posts[i].idempotency_key);
                index.Add(static_cast<int64_t>(i));
                accounts.Add(posts[i].account_id);
                idempotency_keys.Add(posts[i].idempotency_key);
            }
            if (!keys.empty()) {
                LockSandboxKeys(c, keys);
                auto r = c.Exec(kSandboxFindKeys,
                                Params().Add(index.Take()).Add(accounts.Take()).Add(idempotency_keys.Take()));
                for (int i = 0; i < r.rows(); ++i) {
                    auto& f = found[static_cast<size_t>(r.Int(i, 0))];
                    app::SandboxPost p{
                        r.Text(i, 1), r.Text(i, 2),   r.Text(i, 3), r.Text(i, 4), FromUnixMillis(r.Int(i, 5)),
                        r.Text(i, 6), r.OptText(i, 7)};
                    if (!f || std::tie(p.created_at, p.remote_id) < std::tie(f->created_at, f->remote_id)) {
                        f = std::move(p);
                    }
                }
            }
        }
        std::vector<app::SandboxPost> out;
        out.reserve(posts.size());
        ArrayParam remote_ids, accounts, texts, idempotency_keys, created, kinds, parents;
        std::map<std::pair<std::string, std::string>, size_t> stored_now;  // (account, key) → index in out
        for (size_t i = 0; i < posts.size(); ++i) {
            const auto& p = posts[i];
            if (found[i]) {
                out.push_back(std::move(*found[i]));
                continue;
            }
            if (dedupes(i)) {
                // A repeat inside this batch gets the post its first copy stored.
                auto [it, fresh] = stored_now.try_emplace({p.account_id, p.idempotency_key}, out.size());
                if (!fresh) {
                    out.push_back(out[it->second]);
                    continue;
                }
            }
            remote_ids.Add(p.remote_id);
            accounts.Add(p.account_id);
            texts.Add(p.text);
            idempotency_keys.Add(p.idempotency_key);
            created.Add(ToUnixMillis(p.created_at));
            kinds.Add(p.kind);
            if (p.parent) {
                parents.Add(*p.parent);
            } else {
                parents.AddNull();
            }
            out.push_back(p);
        }
        if (!remote_ids.empty()) {
            c.Exec(kSandboxInsertRows, Params()
                                           .Add(remote_ids.Take())
                                           .Add(accounts.Take())
                                           .Add(texts.Take())
                                           .Add(idempotency_keys.Take())
                                           .Add(created.Take())
                                           .Add(kinds.Take())
                                           .Add(parents.Take()));
        }
        tx.Commit();
        return out;
    });
}

core::Result<std::optional<app::SandboxPost>> PgStore::SandboxFind(const std::string& account_id,
                                                                   const std::string& idempotency_key) {
    return WithConn("sandbox_find", [&](PgConn& c) -> core::Result<std::optional<app::SandboxPost>> {
        auto r = c.Exec(kSandboxByKey, Params().Add(account_id).Add(idempotency_key));
        if (r.rows() == 0) return std::optional<app::SandboxPost>{};
        return std::optional<app::SandboxPost>(ReadSandbox(PgRow(r, 0)));
    });
}

core::Result<std::vector<app::SandboxPost>> PgStore::SandboxList(const std::string& account_id) {
    return WithConn("sandbox_list", [&](PgConn& c) -> core::Result<std::vector<app::SandboxPost>> {
        auto r = c.Exec(kSandboxList, Params().Add(account_id));
        std::vector<app::SandboxPost> out;
        for (int i = 0; i < r.rows(); ++i) out.push_back(ReadSandbox(PgRow(r, i)));
        return out;
    });
}

// ---- operating the queue --------------------------------------------------------------------

core::Result<std::vector<app::JobView>> PgStore::ListJobs(const app::JobFilter& f) {
    return WithConn("list_jobs", [&](PgConn& c) -> core::Result<std::vector<app::JobView>> {
        auto r = c.Exec(f.state && *f.state == "done" ? kListFinishedJobs : kListLiveJobs, Params()
                                                                                               .Add(f.workspace_id)
                                                                                               .Add(f.state)
                                                                                               .Add(f.kind)
                                                                                               .Add(f.account_id)
                                                                                               .Add(f.platform)
                                                                                               .Add(f.after_id)
                                                                                               .Add(f.limit));
        std::vector<app::JobView> out;
        for (int i = 0; i < r.rows(); ++i) out.push_back(ReadJobView(PgRow(r, i)));
        return out;
    });
}

core::Result<app::JobView> PgStore::GetJob(const std::optional<std::string>& workspace_id, const std::string& id) {
    return WithConn("get_job", [&](PgConn& c) -> core::Result<app::JobView> {
        auto v = LoadJobView(c, workspace_id, id);
        if (!v) return Fail(ErrorCode::kNotFound, "job not found", {{"job_id", id}});
        return *v;
    });
}

core::Result<app::PauseRecord> PgStore::Pause(const app::PauseScope& scope, const std::optional<std::string>& reason,
                                              const std::optional<std::string>& created_by, core::TimePoint now) {
    return WithConn("pause", [&](PgConn& c) -> core::Result<app::PauseRecord> {
        PgTransaction tx(c);
        c.Run(kLockJobsForPause);
        try {
            c.Exec(kInsertPause, Params()
                                     .Add(core::NewId(now))
                                     .Add(scope.workspace_id)
                                     .Add(scope.account_id)
                                     .Add(scope.platform)
                                     .Add(reason)
                                     .Add(created_by)
                                     .Add(ToUnixMillis(now)));
        } catch (const PgError& e) {
            // A workspace or account that does not exist: SQLite reports its foreign key failure
            // as a constraint, like a unique one.
            if (e.sqlstate != "23503") throw;
            spdlog::warn("event=store_constraint op=pause error=\"{}\"", e.what());
            return Fail(ErrorCode::kAlreadyExists, "that already exists");
        }
        c.Exec(kPauseJobs, ScopeParams(scope).Add(ToUnixMillis(now)));
        app::PauseRecord out;
        {
            auto r = c.Exec(kPauseByScope, ScopeParams(scope));
            if (r.rows() == 0) throw StoreError("pause vanished inside its transaction");
            out = ReadPause(PgRow(r, 0));
        }
        out.jobs_paused = CountPaused(c, scope);
        tx.Commit();
        return out;
    });
}

core::Result<int64_t> PgStore::Resume(const app::PauseScope& scope, core::TimePoint now) {
    return WithConn("resume", [&](PgConn& c) -> core::Result<int64_t> {
        PgTransaction tx(c);
        c.Run(kLockJobsForPause);
        if (c.Exec(kDeletePause, ScopeParams(scope)).affected() == 0) {
            return Fail(ErrorCode::kNotFound, "nothing is paused there");
        }
        // The triggers pause again whatever another pause still covers.
        int64_t released = c.Exec(kResumeJobs, ScopeParams(scope).Add(ToUnixMillis(now))).affected();
        released -= CountPaused(c, scope);
        tx.Commit();
        return released;
    });
}

core::Result<std::vector<app::PauseRecord>> PgStore::ListPauses(const std::optional<std::string>& workspace_id) {
    return WithConn("list_pauses", [&](PgConn& c) -> core::Result<std::vector<app::PauseRecord>> {
        std::vector<app::PauseRecord> out;
        {
            auto r = c.Exec(kListPauses, Params().Add(workspace_id));
            for (int i = 0; i < r.rows(); ++i) out.push_back(ReadPause(PgRow(r, i)));
        }
        for (auto& p : out) {
            // Installation-wide pauses are counted within the asker's workspace only.
            auto scope = p.scope;
            if (!scope.workspace_id) scope.workspace_id = workspace_id;
            p.jobs_paused = CountPaused(c, scope);
        }
        return out;
    });
}

core::Result<app::QueueStats> PgStore::GetQueueStats(const std::optional<std::string>& workspace_id,
                                                     core::TimePoint now) {
    return WithConn("queue_stats", [&](PgConn& c) -> core::Result<app::QueueStats> {
        app::QueueStats st;
        {
            auto r = c.Exec(kCountByState, Params().Add(workspace_id));
            for (int i = 0; i < r.rows(); ++i) {
                const auto state = r.Text(i, 0);
                const int64_t n = r.Int(i, 1);
                if (state == "pending") st.pending = n;
                if (state == "paused") st.paused = n;
                if (state == "running") st.running = n;
                if (state == "dead") st.dead = n;
            }
        }
        {
            auto r = c.Exec(kCountDue, Params().Add(workspace_id).Add(ToUnixMillis(now)));
            if (r.rows() > 0) {
                st.due = r.Int(0, 0);
                if (auto first = r.OptInt(0, 1)) st.oldest_due_age = core::Millis(ToUnixMillis(now) - *first);
            }
        }
        {
            auto r = c.Exec(kCountByAccount, Params().Add(workspace_id));
            std::map<std::string, app::QueueCount> platforms;
            for (int i = 0; i < r.rows(); ++i) {
                app::QueueCount q{r.Text(i, 0), r.Text(i, 1), r.Int(i, 2), r.Int(i, 3), r.Int(i, 4), r.Int(i, 5)};
                auto& p = platforms[q.platform];
                p.key = p.platform = q.platform;
                p.pending += q.pending;
                p.paused += q.paused;
                p.running += q.running;
                p.dead += q.dead;
                st.by_account.push_back(std::move(q));
            }
            for (auto& [name, q] : platforms) st.by_platform.push_back(std::move(q));
        }
        const auto hour_ago = ToUnixMillis(now - std::chrono::hours(1));
        {
            auto r =
                c.Exec(kFinishedSince, Params().Add(workspace_id).Add(ToUnixMillis(now - std::chrono::minutes(1))));
            if (r.rows() > 0) st.finished_last_minute = r.Int(0, 0);
        }
        {
            auto r = c.Exec(kFinishedSince, Params().Add(workspace_id).Add(hour_ago));
            if (r.rows() > 0) {
                st.finished_last_hour = r.Int(0, 0);
                st.succeeded_last_hour = r.Int(0, 1);
                st.failed_last_hour = r.Int(0, 2);
            }
        }
        {
            // Jobs that failed for good stay in the hot table as dead: they count as finished.
            auto r = c.Exec(kDeadSince, Params().Add(workspace_id).Add(hour_ago));
            if (r.rows() > 0) {
                st.finished_last_hour += r.Int(0, 0);
                st.failed_last_hour += r.Int(0, 0);
            }
        }
        return st;
    });
}

// ---- idempotency keys -----------------------------------------------------------------------

core::Result<std::optional<app::IdempotencyRecord>> PgStore::ReserveIdempotencyKey(
    const std::string& workspace_id, const std::string& user_id, const std::string& key,
    const app::IdempotencyRecord& request) {
    return WithConn("reserve_idempotency_key", [&](PgConn& c) -> core::Result<std::optional<app::IdempotencyRecord>> {
        // Each statement commits on its own. The insert takes the key, or waits for whoever is
        // inserting it and then takes nothing; the key's row is then read. A row dropped in
        // between (its first request failed, FinishIdempotencyKey with status 0) frees the key
        // again: try again to take it.
        for (int round = 0; round < 3; ++round) {
            const auto inserted = c.Exec(kReserveKey, Params()
                                                          .Add(workspace_id)
                                                          .Add(user_id)
                                                          .Add(key)
                                                          .Add(request.method)
                                                          .Add(request.path)
                                                          .Add(request.body_hash)
                                                          .Add(ToUnixMillis(request.created_at)))
                                      .affected();
            if (inserted == 1) return std::optional<app::IdempotencyRecord>{};
            auto r = c.Exec(kKeyByName, Params().Add(workspace_id).Add(user_id).Add(key));
            if (r.rows() > 0) {
                return std::optional<app::IdempotencyRecord>(
                    app::IdempotencyRecord{r.Text(0, 0), r.Text(0, 1), r.Text(0, 2), static_cast<int>(r.Int(0, 3)),
                                           r.OptText(0, 4).value_or(""), FromUnixMillis(r.Int(0, 5))});
            }
        }
        throw StoreError("idempotency key " + key + " kept changing while it was reserved");
    });
}

core::Status PgStore::FinishIdempotencyKey(const std::string& workspace_id, const std::string& user_id,
                                           const std::string& key, int status, const std::string& response) {
    return WithConn("finish_idempotency_key", [&](PgConn& c) -> core::Status {
        if (status == 0) {
            c.Exec(kDropKey, Params().Add(workspace_id).Add(user_id).Add(key));
        } else {
            c.Exec(kFinishKey, Params().Add(workspace_id).Add(user_id).Add(key).Add(status).Add(response));
        }
        return {};
    });
}

core::Result<int64_t> PgStore::PurgeIdempotencyKeys(core::TimePoint before) {
    return WithConn("purge_idempotency_keys", [&](PgConn& c) -> core::Result<int64_t> {
        return c.Exec(kPurgeKeys, Params().Add(ToUnixMillis(before))).affected();
    });
}

std::optional<app::JobView> LoadJobView(PgConn& c, const std::optional<std::string>& workspace_id,
                                        const std::string& id) {
    for (const PgSql* q : {&kLiveJobView, &kFinishedJobView}) {
        auto r = c.Exec(*q, Params().Add(id).Add(workspace_id));
        if (r.rows() > 0) return ReadJobView(PgRow(r, 0));
    }
    return std::nullopt;
}

// ---- media ----------------------------------------------------------------------------------

namespace {
constexpr PgSql kInsertMedia{"insert_media", "INSERT INTO media(" HERALD_MEDIA_COLUMNS
                                             ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                                             "$14, $15, $16, $17, $18)"};
constexpr PgSql kMediaById{"media_by_id",
                           "SELECT " HERALD_MEDIA_COLUMNS " FROM media WHERE workspace_id = $1 AND id = $2"};
constexpr PgSql kMediaBySha{"media_by_sha", "SELECT " HERALD_MEDIA_COLUMNS
                                            " FROM media WHERE workspace_id = $1 AND sha256 = $2 ORDER BY id LIMIT 1"};
constexpr PgSql kListMedia{"list_media", "SELECT " HERALD_MEDIA_COLUMNS
                                         " FROM media WHERE workspace_id = $1 AND ($2::text IS NULL OR kind = $2) "
                                         "AND ($3::text IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"};
constexpr PgSql kSetMediaAlt{"set_media_alt_text",
                             "UPDATE media SET alt_text = $3 WHERE workspace_id = $1 AND id = $2 "
                             "RETURNING " HERALD_MEDIA_COLUMNS};
// The count runs after the delete in the same transaction; the row lock on the deleted item
// is enough, since items sharing a key are only ever added with their file already in place.
constexpr PgSql kDeleteMedia{"delete_media",
                             "DELETE FROM media WHERE workspace_id = $1 AND id = $2 RETURNING storage_key"};
// The media column is a JSON array of ids (hex): the quoted id cannot match inside another.
constexpr PgSql kPostUsingMedia{"post_using_media",
                                "SELECT id FROM posts WHERE workspace_id = $1 AND media LIKE '%\"' || $2 || '\"%' "
                                "AND status NOT IN ('published', 'failed', 'cancelled', 'unconfirmed') LIMIT 1"};
constexpr PgSql kMediaUsingKey{"media_using_key", "SELECT count(*) FROM media WHERE storage_key = $1"};
}  // namespace

core::Status PgStore::InsertMedia(const std::vector<domain::MediaItem>& items) {
    return WithConn("insert_media", [&](PgConn& c) -> core::Status {
        PgTransaction tx(c);
        for (const auto& m : items) {
            c.Exec(kInsertMedia, Params()
                                     .Add(m.id)
                                     .Add(m.workspace_id)
                                     .Add(m.created_by)
                                     .Add(domain::ToString(m.kind))
                                     .Add(domain::MimeType(m.format))
                                     .Add(static_cast<int64_t>(m.bytes))
                                     .Add(m.sha256)
                                     .Add(m.storage_key)
                                     .Add(m.thumbnail_key)
                                     .Add(m.original_name)
                                     .Add(m.alt_text)
                                     .Add(static_cast<int64_t>(m.width))
                                     .Add(static_cast<int64_t>(m.height))
                                     .Add(m.duration_ms)
                                     .Add(FrameRateMilli(m))
                                     .Add(m.video_codec)
                                     .Add(m.audio_codec)
                                     .Add(ToUnixMillis(m.created_at)));
        }
        tx.Commit();
        return {};
    });
}

core::Result<domain::MediaItem> PgStore::GetMedia(const std::string& workspace_id, const std::string& id) {
    return WithConn("get_media", [&](PgConn& c) -> core::Result<domain::MediaItem> {
        auto r = c.Exec(kMediaById, Params().Add(workspace_id).Add(id));
        if (r.rows() == 0) return Fail(ErrorCode::kNotFound, "media not found", {{"media_id", id}});
        return ReadMedia(PgRow(r, 0));
    });
}

core::Result<std::vector<domain::MediaItem>> PgStore::ListMedia(const app::MediaFilter& f) {
    return WithConn("list_media", [&](PgConn& c) -> core::Result<std::vector<domain::MediaItem>> {
        std::optional<std::string> kind;
        if (f.kind) kind = std::string(domain::ToString(*f.kind));
        auto r = c.Exec(kListMedia, Params().Add(f.workspace_id).Add(kind).Add(f.before_id).Add(f.limit));
        std::vector<domain::MediaItem> out;
        for (int i = 0; i < r.rows(); ++i) out.push_back(ReadMedia(PgRow(r, i)));
        return out;
    });
}

core::Result<std::optional<domain::MediaItem>> PgStore::FindMediaBySha(const std::string& workspace_id,
                                                                       const std::string& sha256) {
    return WithConn("find_media_by_sha", [&](PgConn& c) -> core::Result<std::optional<domain::MediaItem>> {
        auto r = c.Exec(kMediaBySha, Params().Add(workspace_id).Add(sha256));
        if (r.rows() == 0) return std::optional<domain::MediaItem>();
        return std::optional(ReadMedia(PgRow(r, 0)));
    });
}

core::Result<domain::MediaItem> PgStore::SetMediaAltText(const std::string& workspace_id, const std::string& id,
                                                         const std::string& alt_text) {
    return WithConn("set_media_alt_text", [&](PgConn& c) -> core::Result<domain::MediaItem> {
        auto r = c.Exec(kSetMediaAlt, Params().Add(workspace_id).Add(id).Add(alt_text));
        if (r.rows() == 0) return Fail(ErrorCode::kNotFound, "media not found", {{"media_id", id}});
        return ReadMedia(PgRow(r, 0));
    });
}

core::Result<std::optional<std::string>> PgStore::PostUsingMedia(const std::string& workspace_id,
                                                                 const std::string& media_id) {
    return WithConn("post_using_media", [&](PgConn& c) -> core::Result<std::optional<std::string>> {
        auto r = c.Exec(kPostUsingMedia, Params().Add(workspace_id).Add(media_id));
        if (r.rows() == 0) return std::optional<std::string>();
        return std::optional(r.Text(0, 0));
    });
}

core::Result<int64_t> PgStore::DeleteMedia(const std::string& workspace_id, const std::string& id) {
    return WithConn("delete_media", [&](PgConn& c) -> core::Result<int64_t> {
        PgTransaction tx(c);
        auto d = c.Exec(kDeleteMedia, Params().Add(workspace_id).Add(id));
        if (d.rows() == 0) return Fail(ErrorCode::kNotFound, "media not found", {{"media_id", id}});
        auto n = c.Exec(kMediaUsingKey, Params().Add(d.Text(0, 0)));
        const int64_t left = n.Int(0, 0);
        tx.Commit();
        return left;
    });
}

}  // namespace herald::storage::postgres
