#include "storage/sqlite/migrations.hpp"

#include <spdlog/spdlog.h>

#include <vector>

namespace herald::storage::sqlite {
namespace {

struct Migration {
    int version;
    const char* name;
    const char* sql;
};

// ==== branch "periodic" ======================================================================
// Periodic schedules. Kept as its own constant so that merging next to another new migration
// only means renumbering the one line in kMigrations below.
constexpr const char* kPeriodicSql = R"SQL(
-- One row per recurring job. A tick is claimed by a compare-and-set on next_run_at, and its job
-- id is derived from (name, tick), so however many processes race, each tick is queued once.
-- An operator may change cron, timezone and enabled (herald periodic set); setting next_run_at
-- to NULL makes the scheduler plan the next tick afresh from the cron.
CREATE TABLE periodic_jobs (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    cron TEXT NOT NULL,
    timezone TEXT NOT NULL DEFAULT 'UTC',
    priority INTEGER NOT NULL DEFAULT 5 CHECK (priority BETWEEN 1 AND 10),
    max_attempts INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    enabled INTEGER NOT NULL DEFAULT 1,
    next_run_at INTEGER,
    last_run_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- The stalled-work check looks for deliveries left in publishing; few are, at any time.
CREATE INDEX deliveries_publishing ON deliveries(updated_at) WHERE status = 'publishing';
)SQL";
// ==== end of branch "periodic" ===============================================================

// Append only: a released migration never changes. Times are Unix milliseconds (UTC).
const std::vector<Migration> kMigrations = {
    {1, "core", R"SQL(
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE members (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('viewer','editor','admin','owner')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX members_by_user ON members(user_id, created_at);
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    family_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens(family_id);
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    name TEXT NOT NULL,
    settings TEXT NOT NULL,
    credentials TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX accounts_by_workspace ON accounts(workspace_id, id);
CREATE TABLE posts (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    created_by TEXT NOT NULL,
    text TEXT NOT NULL,
    variants TEXT NOT NULL,
    scheduled_at INTEGER,
    local_time TEXT,
    time_zone TEXT,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX posts_by_workspace ON posts(workspace_id, id);
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    post_id TEXT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    remote_id TEXT,
    url TEXT,
    error TEXT,
    next_attempt_at INTEGER,
    published_at INTEGER,
    updated_at INTEGER NOT NULL,
    UNIQUE (post_id, account_id)
);
CREATE INDEX deliveries_by_account ON deliveries(account_id);
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    delivery_id TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    priority INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    lease_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- The claim reads only pending jobs by due time: index exactly that.
CREATE INDEX jobs_due ON jobs(due_at, priority) WHERE state = 'pending';
CREATE INDEX jobs_leased ON jobs(lease_until) WHERE state = 'running';
CREATE INDEX jobs_by_delivery ON jobs(delivery_id);
CREATE TABLE sandbox_posts (
    remote_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, idempotency_key)
);
)SQL"},
    {2, "exactly_once", R"SQL(
-- A job whose earlier attempt may have reached the platform: check or dedupe before resending.
ALTER TABLE jobs ADD COLUMN uncertain INTEGER NOT NULL DEFAULT 0;
-- The sandbox stores duplicates when an account is set to not deduplicate, so that a second
-- send shows up instead of being hidden by a unique key.
CREATE TABLE sandbox_posts_v2 (
    remote_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
INSERT INTO sandbox_posts_v2 SELECT remote_id, account_id, text, idempotency_key, created_at FROM sandbox_posts;
DROP TABLE sandbox_posts;
ALTER TABLE sandbox_posts_v2 RENAME TO sandbox_posts;
CREATE INDEX sandbox_posts_by_key ON sandbox_posts(account_id, idempotency_key);
)SQL"},
    {3, "queue", R"SQL(
-- Jobs of every kind: a publish job points at a delivery, others (cleanup, health checks, …)
-- carry a payload. Finished jobs leave this table for job_history, so the hot table holds only
-- live (pending, paused, running) and dead jobs, and claiming stays fast after millions.
CREATE TABLE jobs_v3 (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    workspace_id TEXT,
    delivery_id TEXT REFERENCES deliveries(id) ON DELETE CASCADE,
    account_id TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'paused', 'running', 'dead')),
    priority INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 10),
    attempts INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    lease_until INTEGER,
    last_error TEXT,
    uncertain INTEGER NOT NULL DEFAULT 0,
    payload TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
INSERT INTO jobs_v3(id, kind, workspace_id, delivery_id, account_id, state, priority, attempts, max_attempts,
                    due_at, lease_until, last_error, uncertain, payload, created_at, updated_at)
SELECT j.id, j.kind, j.workspace_id, j.delivery_id, d.account_id, j.state, MIN(MAX(j.priority, 1), 10),
       j.attempts, j.max_attempts, j.due_at, j.lease_until, j.last_error, j.uncertain, NULL, j.created_at,
       j.updated_at
FROM jobs j LEFT JOIN deliveries d ON d.id = j.delivery_id;
DROP TABLE jobs;
ALTER TABLE jobs_v3 RENAME TO jobs;
-- The claim reads due pending jobs of one priority at a time, oldest first: one index range
-- per priority, whatever the number of future jobs.
CREATE INDEX jobs_claim ON jobs(priority, due_at) WHERE state = 'pending';
CREATE INDEX jobs_leased ON jobs(lease_until) WHERE state = 'running';
CREATE INDEX jobs_by_delivery ON jobs(delivery_id);
CREATE INDEX jobs_by_account ON jobs(account_id, state);
CREATE INDEX jobs_dead ON jobs(updated_at) WHERE state = 'dead';
CREATE TABLE job_history (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    workspace_id TEXT,
    delivery_id TEXT,
    account_id TEXT,
    outcome TEXT NOT NULL,
    priority INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL
);
CREATE INDEX job_history_by_time ON job_history(finished_at);
CREATE INDEX job_history_by_workspace ON job_history(workspace_id, finished_at);
)SQL"},
    {4, "controls", R"SQL(
-- Who paused what. A row holds publishing back for every job it covers: NULL columns match
-- everything, so (NULL, NULL, NULL) is the whole installation, (W, NULL, NULL) a workspace,
-- (W, A, NULL) an account, (W, NULL, P) a platform in a workspace, (NULL, NULL, P) a platform
-- everywhere. Paused jobs keep their due time; resuming puts them back where they were.
CREATE TABLE pauses (
    id TEXT PRIMARY KEY,
    workspace_id TEXT REFERENCES workspaces(id) ON DELETE CASCADE,
    account_id TEXT REFERENCES accounts(id) ON DELETE CASCADE,
    platform TEXT,
    reason TEXT,
    created_by TEXT,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX pauses_scope ON pauses(COALESCE(workspace_id, ''), COALESCE(account_id, ''),
                                           COALESCE(platform, ''));
-- Every way a publish job becomes pending (created, retried, rescued, resumed, requeued) passes
-- through these two triggers, so no code path can forget a pause. With no pauses they cost one
-- probe of an empty table.
CREATE TRIGGER jobs_paused_on_insert AFTER INSERT ON jobs
WHEN NEW.state = 'pending' AND NEW.kind = 'publish' AND EXISTS (
    SELECT 1 FROM pauses p
    WHERE (p.workspace_id IS NULL OR p.workspace_id = NEW.workspace_id)
      AND (p.account_id IS NULL OR p.account_id = NEW.account_id)
      AND (p.platform IS NULL OR p.platform = (SELECT platform FROM accounts WHERE id = NEW.account_id)))
BEGIN
    UPDATE jobs SET state = 'paused' WHERE id = NEW.id;
END;
CREATE TRIGGER jobs_paused_on_update AFTER UPDATE OF state ON jobs
WHEN NEW.state = 'pending' AND NEW.kind = 'publish' AND EXISTS (
    SELECT 1 FROM pauses p
    WHERE (p.workspace_id IS NULL OR p.workspace_id = NEW.workspace_id)
      AND (p.account_id IS NULL OR p.account_id = NEW.account_id)
      AND (p.platform IS NULL OR p.platform = (SELECT platform FROM accounts WHERE id = NEW.account_id)))
BEGIN
    UPDATE jobs SET state = 'paused' WHERE id = NEW.id;
END;
CREATE INDEX jobs_paused ON jobs(account_id) WHERE state = 'paused';
-- Per-workspace and per-account views and statistics. Without the state: a job changes state
-- three times in its life, and every index that holds the state is rewritten each time.
CREATE INDEX jobs_by_workspace ON jobs(workspace_id);
DROP INDEX jobs_by_account;
CREATE INDEX jobs_by_account ON jobs(account_id);
-- Idempotency-Key: the first response to a creating request, replayed to its retries. A row
-- with status 0 is a request still running (or one that died mid-way: see api/idempotency).
CREATE TABLE idempotency_keys (
    workspace_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    key TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    response TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, user_id, key)
);
CREATE INDEX idempotency_keys_by_time ON idempotency_keys(created_at);
)SQL"},
    {5, "periodic", kPeriodicSql},
    {6, "rate_limits", R"SQL(
-- The rate limiter's log: one row per action an account took on a platform, kept for a day
-- (the longest window). A row is pending from the permit until the outcome is recorded; then
-- `at` becomes the time the platform had answered, or the row goes if nothing was posted.
CREATE TABLE rate_log (
    id INTEGER PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    at INTEGER NOT NULL,
    job_id TEXT,
    pending INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX rate_log_by_key ON rate_log(account_id, action, at);
CREATE INDEX rate_log_pending ON rate_log(job_id) WHERE pending = 1;
-- A platform's "slow down" (429, Retry-After): nothing more for the key until `until`.
CREATE TABLE rate_holds (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    until INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (account_id, action)
);
-- What a platform last reported left for a key (a publishing quota, X-RateLimit-*), less the
-- permits taken since: it wins over Herald's own count until it resets.
CREATE TABLE rate_quotas (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    remaining INTEGER NOT NULL,
    resets_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, action)
);
-- A workspace's lowered limits and warm-up settings (ratelimit::WorkspaceLimits as JSON);
-- empty: the platform defaults and the default warm-up.
ALTER TABLE workspaces ADD COLUMN limits TEXT NOT NULL DEFAULT '';
-- A job's place in its account's queue (ratelimit::PlanQueue): the due time it had before the
-- limits deferred it. NULL: its due time.
ALTER TABLE jobs ADD COLUMN rank_at INTEGER;
-- Posting schedules: an account's recurring slots (domain::PostingSchedule as JSON).
CREATE TABLE posting_schedules (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    schedule TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
)SQL"},
    {7, "threads", R"SQL(
-- A post's thread (JSON array of the replies' texts, NULL: none) and its first comment.
ALTER TABLE posts ADD COLUMN thread TEXT;
ALTER TABLE posts ADD COLUMN first_comment TEXT;
-- What a publish job does besides its post, for the limiter and the plan (ratelimit::Demand):
-- thread replies and first comments. Kept on the job so that planning reads one table.
ALTER TABLE jobs ADD COLUMN replies INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN comments INTEGER NOT NULL DEFAULT 0;
)SQL"},
    {8, "media", R"SQL(
-- The media library: one row per uploaded item; items with the same bytes in a workspace share
-- one stored file (storage_key), which goes when the last of them is deleted.
CREATE TABLE media (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    created_by TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('image', 'video')),
    format TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    thumbnail_key TEXT,
    original_name TEXT NOT NULL,
    alt_text TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    duration_ms INTEGER,
    frame_rate_milli INTEGER,
    video_codec TEXT,
    audio_codec TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX media_by_workspace ON media(workspace_id, id);
CREATE INDEX media_by_sha ON media(workspace_id, sha256);
CREATE INDEX media_by_key ON media(storage_key);
)SQL"},
    {9, "post_media", R"SQL(
-- A post's media: a JSON array of media ids, in order; NULL for none.
ALTER TABLE posts ADD COLUMN media TEXT;
)SQL"},
    {10, "oauth", R"SQL(
-- When an account's OAuth grant is due for renewal (Unix ms); NULL: it does not expire.
ALTER TABLE accounts ADD COLUMN credentials_refresh_at INTEGER;
CREATE INDEX accounts_refresh_due ON accounts(credentials_refresh_at) WHERE credentials_refresh_at IS NOT NULL;
-- Consents started and not yet come back; the state itself and the browser cookie are kept
-- only as hashes, the PKCE verifier sealed.
CREATE TABLE oauth_states (
    state_hash TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    account_id TEXT,
    name TEXT NOT NULL,
    settings TEXT NOT NULL,
    verifier TEXT NOT NULL,
    binding_hash TEXT NOT NULL,
    return_to TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oauth_states_by_expiry ON oauth_states(expires_at);
)SQL"},
};

}  // namespace

core::Result<int> ApplyMigrations(Db& db) {
    db.Exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at INTEGER NOT NULL)");
    int current = 0;
    {
        static constexpr Sql kCurrentVersion{"current_schema_version",
                                             "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"};
        auto stmt = db.Prepare(kCurrentVersion);
        if (stmt.Step()) current = static_cast<int>(stmt.Int(0));
    }
    const int latest = kMigrations.back().version;
    if (current > latest) {
        return core::Fail(core::ErrorCode::kFailedPrecondition,
                          "the database is at schema version " + std::to_string(current) +
                              " but this herald knows only up to " + std::to_string(latest) +
                              ": upgrade herald, or restore a backup made for this version");
    }
    int applied = 0;
    for (const auto& m : kMigrations) {
        if (m.version <= current) continue;
        Transaction tx(db);
        db.Exec(m.sql);
        static constexpr Sql kRecord{"record_migration",
                                     "INSERT INTO schema_migrations(version, name, applied_at) "
                                     "VALUES (?1, ?2, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))"};
        db.Prepare(kRecord).Bind(1, m.version).Bind(2, m.name).Run();
        tx.Commit();
        spdlog::info("event=migration_applied version={} name={}", m.version, m.name);
        ++applied;
    }
    return applied;
}

}  // namespace herald::storage::sqlite
