#include "storage/postgres/pg_migrations.hpp"

#include <spdlog/spdlog.h>

#include <vector>

namespace herald::storage::postgres {
namespace {

struct Migration {
    int version;
    const char* name;
    const char* sql;
};

// The same tables, columns and meanings as the SQLite schema at its version 7
// (storage/sqlite/migrations.cpp), written once for PostgreSQL: a PostgreSQL database starts
// at this schema, so the SQLite history (table rebuilds, copies) is not replayed here.
// Times are Unix milliseconds (BIGINT), ids TEXT, JSON kept as TEXT like SQLite does.
constexpr const char* kSchemaSql = R"SQL(
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
-- Emails are unique whatever their case (SQLite: COLLATE NOCASE).
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    limits TEXT NOT NULL DEFAULT ''
);
CREATE TABLE members (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('viewer','editor','admin','owner')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX members_by_user ON members(user_id, created_at);
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    family_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens(family_id);
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    name TEXT NOT NULL,
    settings TEXT NOT NULL,
    credentials TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX accounts_by_workspace ON accounts(workspace_id, id);
CREATE TABLE posts (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    created_by TEXT NOT NULL,
    text TEXT NOT NULL,
    variants TEXT NOT NULL,
    scheduled_at BIGINT,
    local_time TEXT,
    time_zone TEXT,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    thread TEXT,
    first_comment TEXT
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
    next_attempt_at BIGINT,
    published_at BIGINT,
    updated_at BIGINT NOT NULL,
    UNIQUE (post_id, account_id)
);
CREATE INDEX deliveries_by_account ON deliveries(account_id);
CREATE INDEX deliveries_publishing ON deliveries(updated_at) WHERE status = 'publishing';
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    workspace_id TEXT,
    delivery_id TEXT REFERENCES deliveries(id) ON DELETE CASCADE,
    account_id TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'paused', 'running', 'dead')),
    priority INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 10),
    attempts INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    due_at BIGINT NOT NULL,
    lease_until BIGINT,
    last_error TEXT,
    uncertain INTEGER NOT NULL DEFAULT 0,
    payload TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    rank_at BIGINT,
    replies INTEGER NOT NULL DEFAULT 0,
    comments INTEGER NOT NULL DEFAULT 0
);
-- The claim reads due pending jobs of one priority at a time, oldest first: a narrow partial
-- index of exactly those.
CREATE INDEX jobs_claim ON jobs(priority, due_at) WHERE state = 'pending';
CREATE INDEX jobs_leased ON jobs(lease_until) WHERE state = 'running';
CREATE INDEX jobs_by_delivery ON jobs(delivery_id);
CREATE INDEX jobs_dead ON jobs(updated_at) WHERE state = 'dead';
CREATE INDEX jobs_paused ON jobs(account_id) WHERE state = 'paused';
CREATE INDEX jobs_by_workspace ON jobs(workspace_id);
CREATE INDEX jobs_by_account ON jobs(account_id);
CREATE TABLE job_history (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    workspace_id TEXT,
    delivery_id TEXT,
    account_id TEXT,
    outcome TEXT NOT NULL,
    priority INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    due_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL
);
CREATE INDEX job_history_by_time ON job_history(finished_at);
CREATE INDEX job_history_by_workspace ON job_history(workspace_id, finished_at);
-- Who paused what; NULL columns match everything (see the SQLite schema, version 4).
CREATE TABLE pauses (
    id TEXT PRIMARY KEY,
    workspace_id TEXT REFERENCES workspaces(id) ON DELETE CASCADE,
    account_id TEXT REFERENCES accounts(id) ON DELETE CASCADE,
    platform TEXT,
    reason TEXT,
    created_by TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX pauses_scope ON pauses(COALESCE(workspace_id, ''), COALESCE(account_id, ''),
                                           COALESCE(platform, ''));
-- Every way a publish job becomes pending passes through this trigger, so no code path can
-- forget a pause: a pending publish job that a pause covers becomes paused, due time kept.
CREATE FUNCTION jobs_hold_if_paused() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'pending' AND NEW.kind = 'publish' AND EXISTS (
        SELECT 1 FROM pauses p
        WHERE (p.workspace_id IS NULL OR p.workspace_id = NEW.workspace_id)
          AND (p.account_id IS NULL OR p.account_id = NEW.account_id)
          AND (p.platform IS NULL OR p.platform = (SELECT platform FROM accounts WHERE id = NEW.account_id))) THEN
        NEW.state := 'paused';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER jobs_paused_on_insert BEFORE INSERT ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_hold_if_paused();
CREATE TRIGGER jobs_paused_on_update BEFORE UPDATE OF state ON jobs
    FOR EACH ROW WHEN (NEW.state = 'pending') EXECUTE FUNCTION jobs_hold_if_paused();
CREATE TABLE idempotency_keys (
    workspace_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    key TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    response TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id, key)
);
CREATE INDEX idempotency_keys_by_time ON idempotency_keys(created_at);
CREATE TABLE periodic_jobs (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    cron TEXT NOT NULL,
    timezone TEXT NOT NULL DEFAULT 'UTC',
    priority INTEGER NOT NULL DEFAULT 5 CHECK (priority BETWEEN 1 AND 10),
    max_attempts INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    enabled INTEGER NOT NULL DEFAULT 1,
    next_run_at BIGINT,
    last_run_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE rate_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    at BIGINT NOT NULL,
    job_id TEXT,
    pending INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX rate_log_by_key ON rate_log(account_id, action, at);
CREATE INDEX rate_log_pending ON rate_log(job_id) WHERE pending = 1;
CREATE TABLE rate_holds (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    until BIGINT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (account_id, action)
);
CREATE TABLE rate_quotas (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    remaining BIGINT NOT NULL,
    resets_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, action)
);
CREATE TABLE posting_schedules (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    schedule TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- The sandbox platform's posts. With SQLite they live in a file of their own; here every node
-- must see them, so they are a table of the shared database.
CREATE TABLE sandbox_posts (
    remote_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    text TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'post',
    parent TEXT
);
CREATE INDEX sandbox_posts_by_key ON sandbox_posts(account_id, idempotency_key);
)SQL";

// The cluster bus (storage/postgres/pg_bus.hpp): wake-ups when jobs become pending, which
// nodes have WebSocket listeners for which topic, and events too big for a notification.
constexpr const char* kClusterSql = R"SQL(
CREATE FUNCTION jobs_notify_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows WHERE state = 'pending') THEN
        PERFORM pg_notify('herald_queue', '');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_notify_pending();
CREATE TRIGGER jobs_notify_update AFTER UPDATE ON jobs REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_notify_pending();
CREATE TABLE event_watchers (
    node_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (node_id, topic)
);
CREATE TABLE event_outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX event_outbox_by_time ON event_outbox(created_at);
)SQL";

constexpr const char* kMediaSql = R"SQL(
-- The media library: one row per uploaded item; items with the same bytes in a workspace share
-- one stored file (storage_key), which goes when the last of them is deleted.
CREATE TABLE media (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    created_by TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('image', 'video')),
    format TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    thumbnail_key TEXT,
    original_name TEXT NOT NULL,
    alt_text TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    duration_ms BIGINT,
    frame_rate_milli BIGINT,
    video_codec TEXT,
    audio_codec TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX media_by_workspace ON media(workspace_id, id);
CREATE INDEX media_by_sha ON media(workspace_id, sha256);
CREATE INDEX media_by_key ON media(storage_key);
)SQL";

// Append only: a released migration never changes.
const std::vector<Migration> kMigrations = {
    {1, "schema", kSchemaSql},
    {2, "cluster", kClusterSql},
    {3, "media", kMediaSql},
    // A post's media: a JSON array of media ids, in order; NULL for none.
    {4, "post_media", "ALTER TABLE posts ADD COLUMN media TEXT;"},
    // As the SQLite schema's version 10.
    {5, "oauth", R"SQL(
ALTER TABLE accounts ADD COLUMN credentials_refresh_at BIGINT;
CREATE INDEX accounts_refresh_due ON accounts(credentials_refresh_at) WHERE credentials_refresh_at IS NOT NULL;
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
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oauth_states_by_expiry ON oauth_states(expires_at);
)SQL"},
};

// Any number to serialise migrations across nodes starting at once.
constexpr const char* kLock = "SELECT pg_advisory_lock(7347220519)";
constexpr const char* kUnlock = "SELECT pg_advisory_unlock(7347220519)";

}  // namespace

core::Result<int> ApplyMigrations(PgConn& c) {
    // Several nodes may start together: one migrates, the others wait and then find nothing
    // left to do. A session lock, released below whatever happens.
    c.Run(kLock);
    struct Unlock {
        PgConn& c;
        ~Unlock() {
            try {
                c.Run(kUnlock);
            } catch (const PgError&) {
                // The session is gone, and its lock with it.
            }
        }
    } unlock{c};
    c.Run(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at BIGINT NOT NULL)");
    int current = 0;
    {
        static constexpr PgSql kCurrent{"current_schema_version",
                                        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"};
        auto r = c.Exec(kCurrent);
        if (r.rows() > 0) current = static_cast<int>(r.Int(0, 0));
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
        PgTransaction tx(c);
        c.Run(m.sql);
        static constexpr PgSql kRecord{"record_migration",
                                       "INSERT INTO schema_migrations(version, name, applied_at) "
                                       "VALUES ($1, $2, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)"};
        c.Exec(kRecord, Params().Add(m.version).Add(m.name));
        tx.Commit();
        spdlog::info("event=migration_applied backend=postgres version={} name={}", m.version, m.name);
        ++applied;
    }
    return applied;
}

}  // namespace herald::storage::postgres
