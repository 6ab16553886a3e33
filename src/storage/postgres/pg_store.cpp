#include "storage/postgres/pg_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>

#include "core/ids.hpp"
#include "storage/postgres/pg_common.hpp"
#include "storage/readers.hpp"

namespace herald::storage::postgres {
namespace {

using core::ErrorCode;
using core::Fail;
using core::FromUnixMillis;
using core::ToUnixMillis;
using domain::DeliveryStatus;

// ---- named statements ----------------------------------------------------------------------

constexpr PgSql kPing{"ping", "SELECT 1"};
constexpr PgSql kInsertUser{
    "insert_user", "INSERT INTO users(id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)"};
constexpr PgSql kInsertWorkspace{"insert_workspace",
                                 "INSERT INTO workspaces(id, name, created_at) VALUES ($1, $2, $3)"};
constexpr PgSql kInsertMember{"insert_member",
                              "INSERT INTO members(workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)"};
constexpr PgSql kUserByEmail{"user_by_email",
                             "SELECT id, email, name, password_hash, created_at FROM users "
                             "WHERE lower(email) = lower($1)"};
constexpr PgSql kUserById{"user_by_id", "SELECT id, email, name, password_hash, created_at FROM users WHERE id = $1"};
constexpr PgSql kPrimaryMembership{"primary_membership",
                                   "SELECT w.id, w.name, w.created_at, m.role FROM members m "
                                   "JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = $1 "
                                   "ORDER BY m.created_at, w.id LIMIT 1"};
constexpr PgSql kMembership{"membership",
                            "SELECT w.id, w.name, w.created_at, m.role FROM members m "
                            "JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = $1 AND m.workspace_id = $2"};
constexpr PgSql kListMembers{"list_members",
                             "SELECT u.id, u.email, u.name, m.role FROM members m JOIN users u ON u.id = m.user_id "
                             "WHERE m.workspace_id = $1 ORDER BY m.created_at, u.id"};

constexpr PgSql kInsertRefresh{"insert_refresh_token",
                               "INSERT INTO refresh_tokens(token_hash, user_id, workspace_id, family_id, expires_at) "
                               "VALUES ($1, $2, $3, $4, $5)"};
// FOR UPDATE: two requests presenting the same token cannot both rotate it.
constexpr PgSql kRefreshByHash{"refresh_token_by_hash",
                               "SELECT user_id, workspace_id, family_id, expires_at, used_at, revoked "
                               "FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE"};
constexpr PgSql kUseRefresh{"use_refresh_token", "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1"};
constexpr PgSql kRevokeFamily{"revoke_refresh_family", "UPDATE refresh_tokens SET revoked = 1 WHERE family_id = $1"};

constexpr PgSql kInsertApiToken{"insert_api_token",
                                "INSERT INTO api_tokens(id, name, token_hash, user_id, workspace_id, created_at) "
                                "VALUES ($1, $2, $3, $4, $5, $6)"};
constexpr PgSql kApiTokenByHash{"api_token_by_hash",
                                "SELECT id, name, token_hash, user_id, workspace_id, created_at, last_used_at, revoked "
                                "FROM api_tokens WHERE token_hash = $1"};
constexpr PgSql kListApiTokens{"list_api_tokens",
                               "SELECT id, name, token_hash, user_id, workspace_id, created_at, last_used_at, revoked "
                               "FROM api_tokens WHERE workspace_id = $1 AND user_id = $2 ORDER BY id"};
constexpr PgSql kRevokeApiToken{
    "revoke_api_token", "UPDATE api_tokens SET revoked = 1 WHERE id = $1 AND workspace_id = $2 AND user_id = $3"};

constexpr PgSql kInsertAccount{"insert_account",
                               "INSERT INTO accounts(id, workspace_id, platform, name, settings, credentials, "
                               "created_at, credentials_refresh_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"};
constexpr PgSql kAccountCredentialsForUpdate{
    "account_credentials_for_update",
    "SELECT credentials FROM accounts WHERE workspace_id = $1 AND id = $2 FOR UPDATE"};
constexpr PgSql kReconnectAccount{"reconnect_account",
                                  "UPDATE accounts SET settings = $3, credentials = $4, credentials_refresh_at = $5 "
                                  "WHERE workspace_id = $1 AND id = $2"};
constexpr PgSql kCredentialsOfAccount{"credentials_of_account",
                                      "SELECT id, workspace_id, platform, name, settings, credentials <> '', "
                                      "created_at, credentials FROM accounts WHERE id = $1"};
constexpr PgSql kReplaceCredentials{"replace_credentials",
                                    "UPDATE accounts SET credentials = $3, credentials_refresh_at = $4 "
                                    "WHERE id = $1 AND credentials = $2"};
constexpr PgSql kCredentialsDue{"credentials_due",
                                "SELECT id FROM accounts WHERE credentials_refresh_at <= $1 "
                                "ORDER BY credentials_refresh_at LIMIT $2"};
constexpr PgSql kInsertOAuthState{
    "insert_oauth_state",
    "INSERT INTO oauth_states(state_hash, workspace_id, user_id, platform, account_id, name, settings, verifier, "
    "binding_hash, return_to, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"};
constexpr PgSql kDropExpiredOAuthStates{"drop_expired_oauth_states", "DELETE FROM oauth_states WHERE expires_at <= $1"};
constexpr PgSql kTakeOAuthState{"take_oauth_state",
                                "DELETE FROM oauth_states WHERE state_hash = $1 RETURNING state_hash, workspace_id, "
                                "user_id, platform, account_id, name, settings, verifier, binding_hash, return_to, "
                                "created_at, expires_at"};
constexpr PgSql kAccountById{"account_by_id",
                             "SELECT id, workspace_id, platform, name, settings, credentials <> '', created_at "
                             "FROM accounts WHERE workspace_id = $1 AND id = $2"};
constexpr PgSql kListAccounts{"list_accounts",
                              "SELECT id, workspace_id, platform, name, settings, credentials <> '', created_at "
                              "FROM accounts WHERE workspace_id = $1 ORDER BY id"};

constexpr PgSql kPostingSchedule{"posting_schedule",
                                 "SELECT a.id, s.schedule FROM accounts a LEFT JOIN posting_schedules s "
                                 "ON s.account_id = a.id WHERE a.workspace_id = $1 AND a.id = $2"};
constexpr PgSql kUpsertPostingSchedule{
    "upsert_posting_schedule",
    "INSERT INTO posting_schedules(account_id, schedule, updated_at) VALUES ($1, $2, $3) "
    "ON CONFLICT(account_id) DO UPDATE SET schedule = excluded.schedule, updated_at = excluded.updated_at"};
constexpr PgSql kDeletePostingSchedule{"delete_posting_schedule",
                                       "DELETE FROM posting_schedules WHERE account_id = $1"};
constexpr PgSql kQueuedTimes{"queued_times",
                             "SELECT COALESCE(rank_at, due_at) AS t FROM jobs WHERE account_id = $1 "
                             "AND kind = 'publish' AND state IN ('pending', 'paused', 'running') "
                             "AND COALESCE(rank_at, due_at) >= $2"};
constexpr PgSql kWorkspaceLimits{"workspace_limits", "SELECT limits FROM workspaces WHERE id = $1"};
constexpr PgSql kSetWorkspaceLimits{"set_workspace_limits", "UPDATE workspaces SET limits = $2 WHERE id = $1"};

#define HERALD_POST_COLUMNS                                                                                   \
    "id, workspace_id, created_by, text, variants, scheduled_at, local_time, time_zone, status, created_at, " \
    "updated_at, thread, first_comment, media"
constexpr PgSql kInsertPost{"insert_post", "INSERT INTO posts(" HERALD_POST_COLUMNS
                                           ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"};
constexpr PgSql kUpdatePost{"update_post",
                            "UPDATE posts SET text = $3, variants = $4, scheduled_at = $5, local_time = $6, "
                            "time_zone = $7, status = $8, updated_at = $9, thread = $10, first_comment = $11, "
                            "media = $12 WHERE workspace_id = $2 AND id = $1"};
// FOR UPDATE: an edit or delete reads the post and writes it back in one transaction; a
// second writer waits for the first instead of overwriting it.
constexpr PgSql kPostById{"post_by_id",
                          "SELECT " HERALD_POST_COLUMNS " FROM posts WHERE workspace_id = $1 AND id = $2"};
constexpr PgSql kPostByIdForUpdate{"post_by_id_for_update",
                                   "SELECT " HERALD_POST_COLUMNS
                                   " FROM posts WHERE workspace_id = $1 AND id = $2 FOR UPDATE"};
constexpr PgSql kListPosts{
    "list_posts", "SELECT " HERALD_POST_COLUMNS
                  " FROM posts WHERE workspace_id = $1 "
                  "AND ($2::text IS NULL OR status = $2::text) "
                  "AND ($3::text IS NULL OR id IN (SELECT post_id FROM deliveries WHERE account_id = $3::text)) "
                  "AND ($4::bigint IS NULL OR scheduled_at >= $4::bigint) "
                  "AND ($5::bigint IS NULL OR scheduled_at < $5::bigint) "
                  "AND ($6::text IS NULL OR id < $6::text) ORDER BY id DESC LIMIT $7"};
#undef HERALD_POST_COLUMNS
constexpr PgSql kLockJobsOfPost{"lock_jobs_of_post",
                                "SELECT j.id FROM jobs j JOIN deliveries d ON d.id = j.delivery_id "
                                "WHERE d.post_id = $1 ORDER BY j.id FOR UPDATE OF j"};
constexpr PgSql kDeletePost{"delete_post", "DELETE FROM posts WHERE workspace_id = $1 AND id = $2"};

#define HERALD_DELIVERY_COLUMNS \
    "id, post_id, account_id, status, attempts, remote_id, url, error, next_attempt_at, published_at, updated_at"
constexpr PgSql kDeliveriesOfPost{"deliveries_of_post",
                                  "SELECT " HERALD_DELIVERY_COLUMNS " FROM deliveries WHERE post_id = $1 ORDER BY id"};
// Every post's deliveries in one statement, for a page of posts.
constexpr PgSql kDeliveriesOfPosts{"deliveries_of_posts", "SELECT " HERALD_DELIVERY_COLUMNS
                                                          " FROM deliveries WHERE post_id = ANY($1::text[]) "
                                                          "ORDER BY post_id, id"};
constexpr PgSql kUpsertDelivery{"upsert_delivery",
                                "INSERT INTO deliveries(" HERALD_DELIVERY_COLUMNS
                                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
                                "ON CONFLICT(id) DO UPDATE SET status = excluded.status, "
                                "attempts = excluded.attempts, remote_id = excluded.remote_id, url = excluded.url, "
                                "error = excluded.error, next_attempt_at = excluded.next_attempt_at, "
                                "published_at = excluded.published_at, updated_at = excluded.updated_at"};
#undef HERALD_DELIVERY_COLUMNS
constexpr PgSql kDeleteDelivery{"delete_delivery", "DELETE FROM deliveries WHERE id = $1"};
constexpr PgSql kDeleteJobsOfPost{
    "delete_jobs_of_post",
    "DELETE FROM jobs WHERE delivery_id = ANY(ARRAY(SELECT id FROM deliveries WHERE post_id = $1)) "
    "AND state IN ('pending', 'running', 'paused')"};
constexpr PgSql kInsertJob{"insert_job",
                           "INSERT INTO jobs(id, kind, workspace_id, delivery_id, account_id, state, priority, "
                           "attempts, max_attempts, due_at, created_at, updated_at, rank_at, replies, comments) "
                           "VALUES ($1, 'publish', $2, $3, $8, 'pending', 5, $4, $5, $6, $7, $7, $9, $10, $11)"};

constexpr PgSql kNextDue{"next_due",
                         "SELECT (SELECT MIN(d) FROM (SELECT (SELECT due_at FROM jobs WHERE state = 'pending' "
                         "AND priority = p ORDER BY due_at LIMIT 1) AS d FROM generate_series(1, 10) AS p) AS f), "
                         "(SELECT MIN(lease_until) FROM jobs WHERE state = 'running')"};

}  // namespace

core::Status PgStore::Ping() {
    return WithConn("ping", [&](PgConn& c) -> core::Status {
        c.Exec(kPing);
        return {};
    });
}

// ---- users ----------------------------------------------------------------------------------

core::Status PgStore::CreateUserWithWorkspace(const domain::User& user, const std::string& password_hash,
                                              const domain::Workspace& ws) {
    return WithConn("create_user",
                    [&](PgConn& c) -> core::Status {
                        PgTransaction tx(c);
                        c.Exec(kInsertUser, Params()
                                                .Add(user.id)
                                                .Add(user.email)
                                                .Add(user.name)
                                                .Add(password_hash)
                                                .Add(ToUnixMillis(user.created_at)));
                        c.Exec(kInsertWorkspace, Params().Add(ws.id).Add(ws.name).Add(ToUnixMillis(ws.created_at)));
                        c.Exec(kInsertMember,
                               Params().Add(ws.id).Add(user.id).Add("owner").Add(ToUnixMillis(user.created_at)));
                        tx.Commit();
                        return {};
                    })
        .map_error([](core::Error e) {
            // The unique index on lower(email) decides, also between two sign-ups racing.
            if (e.code == ErrorCode::kAlreadyExists) {
                e.details = {{"field", "email"}, {"rule", "unique"}};
                e.message = "an account with this email already exists";
            }
            return e;
        });
}

core::Result<app::UserRecord> PgStore::FindUserByEmail(const std::string& email) {
    return WithConn("find_user", [&](PgConn& c) -> core::Result<app::UserRecord> {
        auto r = c.Exec(kUserByEmail, Params().Add(email));
        if (r.rows() == 0) return Fail(ErrorCode::kNotFound, "user not found");
        return app::UserRecord{domain::User{r.Text(0, 0), r.Text(0, 1), r.Text(0, 2), FromUnixMillis(r.Int(0, 4))},
                               r.Text(0, 3)};
    });
}

core::Result<domain::User> PgStore::GetUser(const std::string& user_id) {
    return WithConn("get_user", [&](PgConn& c) -> core::Result<domain::User> {
        auto r = c.Exec(kUserById, Params().Add(user_id));
        if (r.rows() == 0) return Fail(ErrorCode::kNotFound, "user not found");
        return domain::User{r.Text(0, 0), r.Text(0, 1), r.Text(0, 2), FromUnixMillis(r.Int(0, 4))};
    });
}

core::Result<app::Membership> PgStore::PrimaryMembership(const std::string& user_id) {
    return WithConn("primary_membership", [&](PgConn& c) -> core::Result<app::Membership> {
        auto r = c.Exec(kPrimaryMembership, Params().Add(user_id));
        if (r.rows() == 0) return Fail(ErrorCode::kNotFound, "workspace not found");
        return ReadMembershipRow(PgRow(r, 0));
    });
}

core::Result<app::Membership> PgStore::GetMembership(const std::string& user_id, const std::string& workspace_id) {
    return WithConn("membership", [&](PgConn& c) -> core::Result<app::Membership> {
        auto r = c.Exec(kMembership, Params().Add(user_id).Add(workspace_id));
        if (r.rows() == 0) return Fail(ErrorCode::kNotFound, "workspace not found");
        return ReadMembershipRow(PgRow(r, 0));
    });
}

core::Result<std::vector<domain::Member>> PgStore::ListMembers(const std::string& workspace_id) {
    return WithConn("list_members", [&](PgConn& c) -> core::Result<std::vector<domain::Member>> {
        auto r = c.Exec(kListMembers, Params().Add(workspace_id));
        std::vector<domain::Member> out;
        for (int i = 0; i < r.rows(); ++i) {
            out.push_back(domain::Member{r.Text(i, 0), r.Text(i, 1), r.Text(i, 2),
                                         domain::ParseRole(r.Text(i, 3)).value_or(domain::Role::kViewer)});
        }
        return out;
    });
}

core::Status PgStore::AddMember(const std::string& workspace_id, const std::string& user_id, domain::Role role,
                                core::TimePoint now) {
    return WithConn("add_member", [&](PgConn& c) -> core::Status {
        c.Exec(kInsertMember,
               Params().Add(workspace_id).Add(user_id).Add(domain::ToString(role)).Add(ToUnixMillis(now)));
        return {};
    });
}

// ---- schedules and limits -------------------------------------------------------------------

core::Result<std::optional<std::string>> PgStore::GetPostingSchedule(const std::string& workspace_id,
                                                                     const std::string& account_id) {
    return WithConn("get_posting_schedule", [&](PgConn& c) -> core::Result<std::optional<std::string>> {
        auto r = c.Exec(kPostingSchedule, Params().Add(workspace_id).Add(account_id));
        if (r.rows() == 0) return Fail(ErrorCode::kNotFound, "account not found", {{"account_id", account_id}});
        return r.OptText(0, 1);
    });
}

core::Status PgStore::SetPostingSchedule(const std::string& workspace_id, const std::string& account_id,
                                         const std::optional<std::string>& schedule_json, core::TimePoint now) {
    return WithConn("set_posting_schedule", [&](PgConn& c) -> core::Status {
        PgTransaction tx(c);
        if (c.Exec(kPostingSchedule, Params().Add(workspace_id).Add(account_id)).rows() == 0) {
            return Fail(ErrorCode::kNotFound, "account not found", {{"account_id", account_id}});
        }
        if (schedule_json) {
            c.Exec(kUpsertPostingSchedule, Params().Add(account_id).Add(*schedule_json).Add(ToUnixMillis(now)));
        } else {
            c.Exec(kDeletePostingSchedule, Params().Add(account_id));
        }
        tx.Commit();
        return {};
    });
}

core::Result<std::vector<core::TimePoint>> PgStore::QueuedTimes(const std::string& account_id, core::TimePoint from) {
    return WithConn("queued_times", [&](PgConn& c) -> core::Result<std::vector<core::TimePoint>> {
        auto r = c.Exec(kQueuedTimes, Params().Add(account_id).Add(ToUnixMillis(from)));
        std::vector<core::TimePoint> out;
        for (int i = 0; i < r.rows(); ++i) out.push_back(FromUnixMillis(r.Int(i, 0)));
        return out;
    });
}

core::Result<std::string> PgStore::GetWorkspaceLimits(const std::string& workspace_id) {
    return WithConn("get_workspace_limits", [&](PgConn& c) -> core::Result<std::string> {
        auto r = c.Exec(kWorkspaceLimits, Params().Add(workspace_id));
        if (r.rows() == 0) return Fail(ErrorCode::kNotFound, "workspace not found", {{"workspace_id", workspace_id}});
        return r.Text(0, 0);
    });
}

core::Status PgStore::SetWorkspaceLimits(const std::string& workspace_id, const std::string& limits_json) {
    return WithConn("set_workspace_limits", [&](PgConn& c) -> core::Status {
        if (c.Exec(kSetWorkspaceLimits, Params().Add(workspace_id).Add(limits_json)).affected() == 0) {
            return Fail(ErrorCode::kNotFound, "workspace not found", {{"workspace_id", workspace_id}});
        }
        return {};
    });
}

// ---- tokens ---------------------------------------------------------------------------------

core::Status PgStore::InsertRefreshToken(const app::RefreshTokenRecord& t) {
    return WithConn("insert_refresh_token", [&](PgConn& c) -> core::Status {
        c.Exec(kInsertRefresh, Params()
                                   .Add(t.token_hash)
                                   .Add(t.user_id)
                                   .Add(t.workspace_id)
                                   .Add(t.family_id)
                                   .Add(ToUnixMillis(t.expires_at)));
        return {};
    });
}

core::Result<app::RefreshTokenRecord> PgStore::RotateRefreshToken(const std::string& old_hash,
                                                                  app::RefreshTokenRecord next, core::TimePoint now) {
    return WithConn("rotate_refresh_token", [&](PgConn& c) -> core::Result<app::RefreshTokenRecord> {
        PgTransaction tx(c);
        auto r = c.Exec(kRefreshByHash, Params().Add(old_hash));
        if (r.rows() == 0) return Fail(ErrorCode::kUnauthenticated, "refresh token is not valid");
        const std::string user_id = r.Text(0, 0), workspace_id = r.Text(0, 1), family = r.Text(0, 2);
        const int64_t expires_at = r.Int(0, 3);
        const bool used = !r.IsNull(0, 4), revoked = r.Int(0, 5) != 0;
        if (used || revoked) {
            // A consumed token presented again means it leaked: end every session of that login.
            c.Exec(kRevokeFamily, Params().Add(family));
            tx.Commit();
            spdlog::warn("event=refresh_token_reuse user_id={}", user_id);
            return Fail(ErrorCode::kUnauthenticated,
                        "refresh token was already used or revoked; sign in again (sessions from that login "
                        "were signed out)");
        }
        if (expires_at <= ToUnixMillis(now)) return Fail(ErrorCode::kUnauthenticated, "refresh token expired");
        c.Exec(kUseRefresh, Params().Add(old_hash).Add(ToUnixMillis(now)));
        next.user_id = user_id;
        next.workspace_id = workspace_id;
        next.family_id = family;
        c.Exec(kInsertRefresh, Params()
                                   .Add(next.token_hash)
                                   .Add(next.user_id)
                                   .Add(next.workspace_id)
                                   .Add(next.family_id)
                                   .Add(ToUnixMillis(next.expires_at)));
        tx.Commit();
        return next;
    });
}

core::Status PgStore::RevokeRefreshFamily(const std::string& token_hash) {
    return WithConn("revoke_refresh_family", [&](PgConn& c) -> core::Status {
        PgTransaction tx(c);
        auto r = c.Exec(kRefreshByHash, Params().Add(token_hash));
        if (r.rows() == 0) return Fail(ErrorCode::kUnauthenticated, "refresh token is not valid");
        c.Exec(kRevokeFamily, Params().Add(r.Text(0, 2)));
        tx.Commit();
        return {};
    });
}

core::Status PgStore::InsertApiToken(const app::ApiTokenRecord& t) {
    return WithConn("insert_api_token", [&](PgConn& c) -> core::Status {
        c.Exec(kInsertApiToken, Params()
                                    .Add(t.id)
                                    .Add(t.name)
                                    .Add(t.token_hash)
                                    .Add(t.user_id)
                                    .Add(t.workspace_id)
                                    .Add(ToUnixMillis(t.created_at)));
        return {};
    });
}

core::Result<app::ApiTokenRecord> PgStore::FindApiToken(const std::string& token_hash) {
    return WithConn("find_api_token", [&](PgConn& c) -> core::Result<app::ApiTokenRecord> {
        auto r = c.Exec(kApiTokenByHash, Params().Add(token_hash));
        if (r.rows() == 0) return Fail(ErrorCode::kUnauthenticated, "API token is not valid");
        return ReadApiToken(PgRow(r, 0));
    });
}

core::Result<std::vector<app::ApiTokenRecord>> PgStore::ListApiTokens(const std::string& workspace_id,
                                                                      const std::string& user_id) {
    return WithConn("list_api_tokens", [&](PgConn& c) -> core::Result<std::vector<app::ApiTokenRecord>> {
        auto r = c.Exec(kListApiTokens, Params().Add(workspace_id).Add(user_id));
        std::vector<app::ApiTokenRecord> out;
        for (int i = 0; i < r.rows(); ++i) out.push_back(ReadApiToken(PgRow(r, i)));
        return out;
    });
}

core::Status PgStore::RevokeApiToken(const std::string& workspace_id, const std::string& user_id,
                                     const std::string& token_id) {
    return WithConn("revoke_api_token", [&](PgConn& c) -> core::Status {
        if (c.Exec(kRevokeApiToken, Params().Add(token_id).Add(workspace_id).Add(user_id)).affected() == 0) {
            return Fail(ErrorCode::kNotFound, "API token not found");
        }
        return {};
    });
}

// ---- accounts -------------------------------------------------------------------------------

core::Status PgStore::InsertAccount(const domain::Account& a, const std::string& sealed_credentials,
                                    std::optional<core::TimePoint> refresh_at) {
    return WithConn("insert_account", [&](PgConn& c) -> core::Status {
        c.Exec(kInsertAccount, Params()
                                   .Add(a.id)
                                   .Add(a.workspace_id)
                                   .Add(a.platform)
                                   .Add(a.name)
                                   .Add(a.settings_json)
                                   .Add(sealed_credentials)
                                   .Add(ToUnixMillis(a.created_at))
                                   .Add(OptMillis(refresh_at)));
        return {};
    });
}

core::Result<app::StoredCredentials> PgStore::GetCredentials(const std::string& account_id) {
    return WithConn("get_credentials", [&](PgConn& c) -> core::Result<app::StoredCredentials> {
        auto r = c.Exec(kCredentialsOfAccount, Params().Add(account_id));
        if (r.rows() == 0) return Fail(ErrorCode::kNotFound, "account not found", {{"account_id", account_id}});
        return app::StoredCredentials{ReadAccount(PgRow(r, 0)), r.Text(0, 7)};
    });
}

core::Result<bool> PgStore::ReplaceCredentials(const std::string& account_id, const std::string& expected_sealed,
                                               const std::string& sealed, std::optional<core::TimePoint> refresh_at) {
    return WithConn("replace_credentials", [&](PgConn& c) -> core::Result<bool> {
        auto r = c.Exec(kReplaceCredentials,
                        Params().Add(account_id).Add(expected_sealed).Add(sealed).Add(OptMillis(refresh_at)));
        return r.affected() > 0;
    });
}

core::Result<std::vector<std::string>> PgStore::CredentialsDueForRefresh(core::TimePoint now, int limit) {
    return WithConn("credentials_due", [&](PgConn& c) -> core::Result<std::vector<std::string>> {
        auto r = c.Exec(kCredentialsDue, Params().Add(ToUnixMillis(now)).Add(limit));
        std::vector<std::string> out;
        for (int i = 0; i < r.rows(); ++i) out.push_back(r.Text(i, 0));
        return out;
    });
}

core::Status PgStore::InsertOAuthState(const app::OAuthStateRecord& st) {
    return WithConn("insert_oauth_state", [&](PgConn& c) -> core::Status {
        c.Exec(kInsertOAuthState, Params()
                                      .Add(st.state_hash)
                                      .Add(st.workspace_id)
                                      .Add(st.user_id)
                                      .Add(st.platform)
                                      .Add(st.account_id)
                                      .Add(st.name)
                                      .Add(st.settings_json)
                                      .Add(st.sealed_verifier)
                                      .Add(st.binding_hash)
                                      .Add(st.return_to)
                                      .Add(ToUnixMillis(st.created_at))
                                      .Add(ToUnixMillis(st.expires_at)));
        return {};
    });
}

core::Result<app::OAuthStateRecord> PgStore::TakeOAuthState(const std::string& state_hash, core::TimePoint now) {
    return WithConn("take_oauth_state", [&](PgConn& c) -> core::Result<app::OAuthStateRecord> {
        c.Exec(kDropExpiredOAuthStates, Params().Add(ToUnixMillis(now)));
        auto r = c.Exec(kTakeOAuthState, Params().Add(state_hash));
        if (r.rows() == 0) return Fail(ErrorCode::kNotFound, "no such OAuth consent in progress");
        return ReadOAuthState(PgRow(r, 0));
    });
}

core::Result<domain::Account> PgStore::ReconnectAccount(
    const std::string& workspace_id, const std::string& id, const std::string& settings_json,
    const std::function<core::Result<std::string>(const std::string&)>& reseal,
    std::optional<core::TimePoint> refresh_at) {
    return WithConn("reconnect_account", [&](PgConn& c) -> core::Result<domain::Account> {
        PgTransaction tx(c);
        auto old = c.Exec(kAccountCredentialsForUpdate, Params().Add(workspace_id).Add(id));
        if (old.rows() == 0) return Fail(ErrorCode::kNotFound, "account not found", {{"account_id", id}});
        auto sealed = reseal(old.Text(0, 0));
        if (!sealed) return tl::unexpected(sealed.error());
        c.Exec(kReconnectAccount,
               Params().Add(workspace_id).Add(id).Add(settings_json).Add(*sealed).Add(OptMillis(refresh_at)));
        auto r = c.Exec(kAccountById, Params().Add(workspace_id).Add(id));
        auto account = ReadAccount(PgRow(r, 0));
        tx.Commit();
        return account;
    });
}

core::Result<domain::Account> PgStore::GetAccount(const std::string& workspace_id, const std::string& id) {
    return WithConn("get_account", [&](PgConn& c) -> core::Result<domain::Account> {
        auto r = c.Exec(kAccountById, Params().Add(workspace_id).Add(id));
        if (r.rows() == 0) return Fail(ErrorCode::kNotFound, "account not found", {{"account_id", id}});
        return ReadAccount(PgRow(r, 0));
    });
}

core::Result<std::vector<domain::Account>> PgStore::ListAccounts(const std::string& workspace_id) {
    return WithConn("list_accounts", [&](PgConn& c) -> core::Result<std::vector<domain::Account>> {
        auto r = c.Exec(kListAccounts, Params().Add(workspace_id));
        std::vector<domain::Account> out;
        for (int i = 0; i < r.rows(); ++i) out.push_back(ReadAccount(PgRow(r, i)));
        return out;
    });
}

// ---- posts ----------------------------------------------------------------------------------

std::vector<domain::Delivery> PgStore::LoadDeliveries(PgConn& c, const std::string& post_id) {
    auto r = c.Exec(kDeliveriesOfPost, Params().Add(post_id));
    std::vector<domain::Delivery> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadDelivery(PgRow(r, i)));
    return out;
}

std::optional<domain::Post> PgStore::LoadPost(PgConn& c, const std::string& workspace_id, const std::string& id,
                                              bool for_update) {
    // Jobs before the post: the order every transaction locks them in (see pg_queue.cpp).
    if (for_update) c.Exec(kLockJobsOfPost, Params().Add(id));
    auto r = c.Exec(for_update ? kPostByIdForUpdate : kPostById, Params().Add(workspace_id).Add(id));
    if (r.rows() == 0) return std::nullopt;
    auto post = ReadPost(PgRow(r, 0));
    post.deliveries = LoadDeliveries(c, id);
    return post;
}

void PgStore::WritePostRow(PgConn& c, const domain::Post& p, bool insert) {
    if (insert) {
        c.Exec(kInsertPost, Params()
                                .Add(p.id)
                                .Add(p.workspace_id)
                                .Add(p.created_by)
                                .Add(p.text)
                                .Add(VariantsJson(p))
                                .Add(OptMillis(p.scheduled_at))
                                .Add(p.local_time)
                                .Add(p.time_zone)
                                .Add(S(p.status))
                                .Add(ToUnixMillis(p.created_at))
                                .Add(ToUnixMillis(p.updated_at))
                                .Add(StringArrayJson(p.thread))
                                .Add(p.first_comment)
                                .Add(StringArrayJson(p.media_ids)));
    } else {
        c.Exec(kUpdatePost, Params()
                                .Add(p.id)
                                .Add(p.workspace_id)
                                .Add(p.text)
                                .Add(VariantsJson(p))
                                .Add(OptMillis(p.scheduled_at))
                                .Add(p.local_time)
                                .Add(p.time_zone)
                                .Add(S(p.status))
                                .Add(ToUnixMillis(p.updated_at))
                                .Add(StringArrayJson(p.thread))
                                .Add(p.first_comment)
                                .Add(StringArrayJson(p.media_ids)));
    }
}

void PgStore::WriteDeliveriesAndJobs(PgConn& c, const domain::Post& p) {
    for (const auto& d : p.deliveries) {
        c.Exec(kUpsertDelivery, Params()
                                    .Add(d.id)
                                    .Add(p.id)
                                    .Add(d.account_id)
                                    .Add(S(d.status))
                                    .Add(d.attempts)
                                    .Add(d.remote_id)
                                    .Add(d.url)
                                    .Add(d.error)
                                    .Add(OptMillis(d.next_attempt_at))
                                    .Add(OptMillis(d.published_at))
                                    .Add(ToUnixMillis(d.updated_at)));
        if (d.status == DeliveryStatus::kScheduled && p.scheduled_at) {
            c.Exec(kInsertJob, Params()
                                   .Add(core::NewId(p.updated_at))
                                   .Add(p.workspace_id)
                                   .Add(d.id)
                                   .Add(d.attempts)
                                   .Add(options_.publish_max_attempts)
                                   .Add(ToUnixMillis(*p.scheduled_at) + JitterOffset(d.id, p.jitter))
                                   .Add(ToUnixMillis(p.updated_at))
                                   .Add(d.account_id)
                                   .AddNull()
                                   .Add(static_cast<int64_t>(p.thread.size()))
                                   .Add(p.first_comment.has_value()));
        }
    }
}

core::Status PgStore::CreatePost(const domain::Post& post) { return CreatePosts({post}); }

core::Status PgStore::CreatePosts(const std::vector<domain::Post>& posts) {
    return WithConn("create_posts", [&](PgConn& c) -> core::Status {
        PgTransaction tx(c);
        for (const auto& post : posts) {
            WritePostRow(c, post, /*insert=*/true);
            WriteDeliveriesAndJobs(c, post);
        }
        tx.Commit();
        return {};
    });
}

core::Result<domain::Post> PgStore::GetPost(const std::string& workspace_id, const std::string& id) {
    return WithConn("get_post", [&](PgConn& c) -> core::Result<domain::Post> {
        auto p = LoadPost(c, workspace_id, id, /*for_update=*/false);
        if (!p) return Fail(ErrorCode::kNotFound, "post not found", {{"post_id", id}});
        return *p;
    });
}

core::Result<std::vector<domain::Post>> PgStore::ListPosts(const std::string& workspace_id, const app::PostFilter& f) {
    return WithConn("list_posts", [&](PgConn& c) -> core::Result<std::vector<domain::Post>> {
        Params params;
        params.Add(workspace_id);
        if (f.status) {
            params.Add(S(*f.status));
        } else {
            params.AddNull();
        }
        params.Add(f.account_id).Add(OptMillis(f.from)).Add(OptMillis(f.to)).Add(f.after_id).Add(f.limit);
        auto r = c.Exec(kListPosts, params);
        std::vector<domain::Post> out;
        std::unordered_map<std::string, size_t> index;
        ArrayParam ids;
        for (int i = 0; i < r.rows(); ++i) {
            out.push_back(ReadPost(PgRow(r, i)));
            index.emplace(out.back().id, out.size() - 1);
            ids.Add(out.back().id);
        }
        if (out.empty()) return out;
        auto d = c.Exec(kDeliveriesOfPosts, Params().Add(ids.Take()));
        for (int i = 0; i < d.rows(); ++i) {
            auto delivery = ReadDelivery(PgRow(d, i));
            out[index.at(delivery.post_id)].deliveries.push_back(std::move(delivery));
        }
        return out;
    });
}

core::Result<domain::Post> PgStore::UpdatePost(
    const std::string& workspace_id, const std::string& id,
    const std::function<core::Result<domain::Post>(const domain::Post&)>& edit) {
    return WithConn("update_post", [&](PgConn& c) -> core::Result<domain::Post> {
        PgTransaction tx(c);
        auto current = LoadPost(c, workspace_id, id, /*for_update=*/true);
        if (!current) return Fail(ErrorCode::kNotFound, "post not found", {{"post_id", id}});
        auto next = edit(*current);
        if (!next) return next;
        // Pending or claimed jobs belong to the old version: drop them. A worker holding a claim
        // finds its job gone at MarkPublishing and sends nothing.
        c.Exec(kDeleteJobsOfPost, Params().Add(id));
        for (const auto& old : current->deliveries) {
            bool kept = false;
            for (const auto& d : next->deliveries) kept = kept || d.id == old.id;
            if (!kept) c.Exec(kDeleteDelivery, Params().Add(old.id));
        }
        WritePostRow(c, *next, /*insert=*/false);
        WriteDeliveriesAndJobs(c, *next);
        tx.Commit();
        return next;
    });
}

core::Status PgStore::DeletePost(const std::string& workspace_id, const std::string& id,
                                 const std::function<core::Status(const domain::Post&)>& check) {
    return WithConn("delete_post", [&](PgConn& c) -> core::Status {
        PgTransaction tx(c);
        auto current = LoadPost(c, workspace_id, id, /*for_update=*/true);
        if (!current) return Fail(ErrorCode::kNotFound, "post not found", {{"post_id", id}});
        if (auto ok = check(*current); !ok) return ok;
        c.Exec(kDeletePost, Params().Add(workspace_id).Add(id));
        tx.Commit();
        return {};
    });
}

// ---- queue ----------------------------------------------------------------------------------

core::Result<std::optional<core::TimePoint>> PgStore::NextDueAt() {
    return WithConn("next_due", [&](PgConn& c) -> core::Result<std::optional<core::TimePoint>> {
        // One seek in jobs_claim per priority, and one in jobs_leased: a lease running out is
        // also a moment the scheduler must wake for (rescue).
        auto r = c.Exec(kNextDue);
        const auto due = r.OptInt(0, 0), lease = r.OptInt(0, 1);
        if (due && lease) return FromUnixMillis(std::min(*due, *lease));
        if (due) return FromUnixMillis(*due);
        if (lease) return FromUnixMillis(*lease);
        return std::optional<core::TimePoint>{};
    });
}

}  // namespace herald::storage::postgres
