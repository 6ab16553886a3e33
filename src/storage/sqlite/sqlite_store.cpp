#include "storage/sqlite/sqlite_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "core/ids.hpp"
#include "domain/cron.hpp"
#include "domain/time.hpp"
#include "storage/readers.hpp"

namespace herald::storage::sqlite {
namespace {

using core::ErrorCode;
using core::Fail;
using core::FromUnixMillis;
using core::ToUnixMillis;
using domain::DeliveryStatus;

std::string S(DeliveryStatus s) { return std::string(domain::ToString(s)); }

// ---- named statements ----------------------------------------------------------------------

constexpr Sql kPing{"ping", "SELECT 1"};
constexpr Sql kInsertUser{"insert_user",
                          "INSERT INTO users(id, email, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)"};
constexpr Sql kInsertWorkspace{"insert_workspace", "INSERT INTO workspaces(id, name, created_at) VALUES (?1, ?2, ?3)"};
constexpr Sql kInsertMember{"insert_member",
                            "INSERT INTO members(workspace_id, user_id, role, created_at) VALUES (?1, ?2, ?3, ?4)"};
constexpr Sql kUserByEmail{"user_by_email",
                           "SELECT id, email, name, password_hash, created_at FROM users WHERE email = ?1"};
constexpr Sql kUserById{"user_by_id", "SELECT id, email, name, password_hash, created_at FROM users WHERE id = ?1"};
constexpr Sql kPrimaryMembership{"primary_membership",
                                 "SELECT w.id, w.name, w.created_at, m.role FROM members m "
                                 "JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = ?1 "
                                 "ORDER BY m.created_at, w.id LIMIT 1"};
constexpr Sql kMembership{"membership",
                          "SELECT w.id, w.name, w.created_at, m.role FROM members m "
                          "JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = ?1 AND m.workspace_id = ?2"};
constexpr Sql kListMembers{"list_members",
                           "SELECT u.id, u.email, u.name, m.role FROM members m JOIN users u ON u.id = m.user_id "
                           "WHERE m.workspace_id = ?1 ORDER BY m.created_at, u.id"};

constexpr Sql kInsertRefresh{"insert_refresh_token",
                             "INSERT INTO refresh_tokens(token_hash, user_id, workspace_id, family_id, expires_at) "
                             "VALUES (?1, ?2, ?3, ?4, ?5)"};
constexpr Sql kRefreshByHash{"refresh_token_by_hash",
                             "SELECT user_id, workspace_id, family_id, expires_at, used_at, revoked "
                             "FROM refresh_tokens WHERE token_hash = ?1"};
constexpr Sql kUseRefresh{"use_refresh_token", "UPDATE refresh_tokens SET used_at = ?2 WHERE token_hash = ?1"};
constexpr Sql kRevokeFamily{"revoke_refresh_family", "UPDATE refresh_tokens SET revoked = 1 WHERE family_id = ?1"};

constexpr Sql kInsertApiToken{"insert_api_token",
                              "INSERT INTO api_tokens(id, name, token_hash, user_id, workspace_id, created_at) "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"};
constexpr Sql kApiTokenByHash{"api_token_by_hash",
                              "SELECT id, name, token_hash, user_id, workspace_id, created_at, last_used_at, revoked "
                              "FROM api_tokens WHERE token_hash = ?1"};
constexpr Sql kListApiTokens{"list_api_tokens",
                             "SELECT id, name, token_hash, user_id, workspace_id, created_at, last_used_at, revoked "
                             "FROM api_tokens WHERE workspace_id = ?1 AND user_id = ?2 ORDER BY id"};
constexpr Sql kRevokeApiToken{"revoke_api_token",
                              "UPDATE api_tokens SET revoked = 1 WHERE id = ?1 AND workspace_id = ?2 AND user_id = ?3"};

constexpr Sql kInsertAccount{
    "insert_account",
    "INSERT INTO accounts(id, workspace_id, platform, name, settings, credentials, created_at, "
    "credentials_refresh_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"};
constexpr Sql kAccountById{"account_by_id",
                           "SELECT id, workspace_id, platform, name, settings, credentials != '', created_at "
                           "FROM accounts WHERE workspace_id = ?1 AND id = ?2"};
constexpr Sql kAccountCredentials{"account_credentials",
                                  "SELECT credentials FROM accounts WHERE workspace_id = ?1 AND id = ?2"};
constexpr Sql kReconnectAccount{"reconnect_account",
                                "UPDATE accounts SET settings = ?3, credentials = ?4, credentials_refresh_at = ?5 "
                                "WHERE workspace_id = ?1 AND id = ?2"};
constexpr Sql kCredentialsOfAccount{"credentials_of_account",
                                    "SELECT id, workspace_id, platform, name, settings, credentials != '', "
                                    "created_at, credentials FROM accounts WHERE id = ?1"};
constexpr Sql kReplaceCredentials{"replace_credentials",
                                  "UPDATE accounts SET credentials = ?3, credentials_refresh_at = ?4 "
                                  "WHERE id = ?1 AND credentials = ?2"};
constexpr Sql kCredentialsDue{"credentials_due",
                              "SELECT id FROM accounts WHERE credentials_refresh_at <= ?1 "
                              "ORDER BY credentials_refresh_at LIMIT ?2"};
constexpr Sql kInsertOAuthState{
    "insert_oauth_state",
    "INSERT INTO oauth_states(state_hash, workspace_id, user_id, platform, account_id, name, settings, verifier, "
    "binding_hash, return_to, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"};
constexpr Sql kDropExpiredOAuthStates{"drop_expired_oauth_states", "DELETE FROM oauth_states WHERE expires_at <= ?1"};
constexpr Sql kTakeOAuthState{"take_oauth_state",
                              "DELETE FROM oauth_states WHERE state_hash = ?1 RETURNING state_hash, workspace_id, "
                              "user_id, platform, account_id, name, settings, verifier, binding_hash, return_to, "
                              "created_at, expires_at"};
constexpr Sql kListAccounts{"list_accounts",
                            "SELECT id, workspace_id, platform, name, settings, credentials != '', created_at "
                            "FROM accounts WHERE workspace_id = ?1 ORDER BY id"};

constexpr Sql kInsertPost{
    "insert_post",
    "INSERT INTO posts(id, workspace_id, created_by, text, variants, scheduled_at, local_time, "
    "time_zone, status, created_at, updated_at, thread, first_comment, media) VALUES (?1, ?2, ?3, "
    "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"};
constexpr Sql kUpdatePost{"update_post",
                          "UPDATE posts SET text = ?3, variants = ?4, scheduled_at = ?5, local_time = ?6, "
                          "time_zone = ?7, status = ?8, updated_at = ?9, thread = ?10, first_comment = ?11, "
                          "media = ?12 WHERE workspace_id = ?2 AND id = ?1"};
constexpr Sql kPostById{
    "post_by_id",
    "SELECT id, workspace_id, created_by, text, variants, scheduled_at, local_time, time_zone, "
    "status, created_at, updated_at, thread, first_comment, media FROM posts WHERE workspace_id = ?1 AND id = ?2"};
constexpr Sql kListPosts{
    "list_posts",
    "SELECT id, workspace_id, created_by, text, variants, scheduled_at, local_time, time_zone, "
    "status, created_at, updated_at, thread, first_comment, media FROM posts WHERE workspace_id = ?1 "
    "AND (?2 IS NULL OR status = ?2) "
    "AND (?3 IS NULL OR id IN (SELECT post_id FROM deliveries WHERE account_id = ?3)) "
    "AND (?4 IS NULL OR scheduled_at >= ?4) AND (?5 IS NULL OR scheduled_at < ?5) "
    "AND (?6 IS NULL OR id < ?6) ORDER BY id DESC LIMIT ?7"};
constexpr Sql kDeletePost{"delete_post", "DELETE FROM posts WHERE workspace_id = ?1 AND id = ?2"};

constexpr Sql kDeliveriesOfPost{"deliveries_of_post",
                                "SELECT id, post_id, account_id, status, attempts, remote_id, url, error, "
                                "next_attempt_at, published_at, updated_at FROM deliveries WHERE post_id = ?1 "
                                "ORDER BY id"};
constexpr Sql kDeliveryById{"delivery_by_id",
                            "SELECT id, post_id, account_id, status, attempts, remote_id, url, error, "
                            "next_attempt_at, published_at, updated_at FROM deliveries WHERE id = ?1"};
constexpr Sql kUpsertDelivery{"upsert_delivery",
                              "INSERT INTO deliveries(id, post_id, account_id, status, attempts, remote_id, url, "
                              "error, next_attempt_at, published_at, updated_at) "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
                              "ON CONFLICT(id) DO UPDATE SET status = excluded.status, attempts = excluded.attempts, "
                              "remote_id = excluded.remote_id, url = excluded.url, error = excluded.error, "
                              "next_attempt_at = excluded.next_attempt_at, published_at = excluded.published_at, "
                              "updated_at = excluded.updated_at"};
constexpr Sql kDeleteDelivery{"delete_delivery", "DELETE FROM deliveries WHERE id = ?1"};
constexpr Sql kDeleteJobsOfPost{"delete_jobs_of_post",
                                "DELETE FROM jobs WHERE delivery_id IN (SELECT id FROM deliveries WHERE post_id = ?1) "
                                "AND state IN ('pending', 'running', 'paused')"};
constexpr Sql kInsertJob{"insert_job",
                         "INSERT INTO jobs(id, kind, workspace_id, delivery_id, account_id, state, priority, "
                         "attempts, max_attempts, due_at, created_at, updated_at, rank_at, replies, comments) "
                         "VALUES (?1, 'publish', ?2, ?3, ?8, 'pending', 5, ?4, ?5, ?6, ?7, ?7, ?9, ?10, ?11)"};

// Per priority, so that each is one seek in jobs_claim however many jobs wait.
constexpr Sql kFirstDueAtPriority{"first_due_at_priority",
                                  "SELECT due_at FROM jobs WHERE state = 'pending' AND priority = ?1 "
                                  "ORDER BY due_at LIMIT 1"};
// Claimed by a worker but not yet sent (the delivery still queued): waiting all the same.
constexpr Sql kOldestClaimedUnsent{"oldest_claimed_unsent",
                                   "SELECT MIN(j.due_at) FROM jobs j JOIN deliveries d ON d.id = j.delivery_id "
                                   "WHERE j.state = 'running' AND d.status = 'queued'"};
constexpr Sql kNextLeaseEnd{"next_lease_end", "SELECT MIN(lease_until) FROM jobs WHERE state = 'running'"};
constexpr Sql kClaimJobsAtPriority{
    "claim_jobs_at_priority",
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?2, "
    "updated_at = ?1 WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND priority = ?4 AND due_at <= ?1 "
    "ORDER BY due_at LIMIT ?3) "
    "RETURNING id, workspace_id, delivery_id, priority, attempts, max_attempts, due_at, uncertain, kind, payload"};
constexpr Sql kExtendLease{"extend_lease", "UPDATE jobs SET lease_until = ?2 WHERE id = ?1 AND state = 'running'"};
constexpr Sql kJobToHistory{"job_to_history",
                            "INSERT OR REPLACE INTO job_history(id, kind, workspace_id, delivery_id, account_id, "
                            "outcome, priority, attempts, due_at, last_error, created_at, finished_at) "
                            "SELECT id, kind, workspace_id, delivery_id, account_id, ?2, priority, attempts, due_at, "
                            "?3, created_at, ?4 FROM jobs WHERE id = ?1"};
constexpr Sql kJobById{"job_by_id",
                       "SELECT id, workspace_id, delivery_id, state, priority, attempts, max_attempts, due_at, "
                       "lease_until, kind, payload, uncertain, account_id, last_error, created_at, updated_at "
                       "FROM jobs WHERE id = ?1"};
constexpr Sql kSetDeliveryOutcome{"set_delivery_outcome",
                                  "UPDATE deliveries SET status = ?2, remote_id = COALESCE(?3, remote_id), "
                                  "url = COALESCE(?4, url), error = ?5, next_attempt_at = ?6, "
                                  "published_at = ?7, updated_at = ?8 WHERE id = ?1"};
// A post's status summarises its deliveries' (domain::SummarizeStatus): in-flight work first,
// then what needs a person, then waiting work, then the outcome. Kept in step with it by the
// storage test PostStatusInSqlMatchesTheDomainRule.
#define HERALD_POST_STATUS                                                                           \
    "(SELECT CASE WHEN COUNT(*) = 0 THEN (CASE WHEN posts.scheduled_at IS NULL THEN 'draft' "        \
    "ELSE 'scheduled' END) WHEN SUM(d.status = 'publishing') > 0 THEN 'publishing' "                 \
    "WHEN SUM(d.status = 'queued') > 0 THEN 'queued' WHEN SUM(d.status = 'unconfirmed') > 0 "        \
    "THEN 'unconfirmed' WHEN SUM(d.status = 'needs_approval') > 0 THEN 'needs_approval' "            \
    "WHEN SUM(d.status = 'rate_limited') > 0 THEN 'rate_limited' "                                   \
    "WHEN SUM(d.status = 'scheduled') > 0 THEN 'scheduled' WHEN SUM(d.status = 'draft') > 0 "        \
    "THEN 'draft' WHEN SUM(d.status = 'failed') > 0 THEN 'failed' WHEN SUM(d.status = 'published') " \
    "> 0 THEN 'published' ELSE 'cancelled' END FROM deliveries d WHERE d.post_id = posts.id)"
constexpr Sql kRefreshPostStatus{"refresh_post_status",
                                 "UPDATE posts SET status = " HERALD_POST_STATUS
                                 ", updated_at = ?2 WHERE id = ?1 RETURNING status, workspace_id"};
// The batch forms of the publish path: one statement per step whatever the batch's size, the
// batch bound as rows (herald_rows, see storage/sqlite/rows.hpp). ?1 is always the rows.
// r: post id. Returns each post's new status and its workspace.
constexpr Sql kRefreshPosts{"refresh_posts", "UPDATE posts SET status = " HERALD_POST_STATUS
                                             ", updated_at = ?2 FROM herald_rows(?1) AS r WHERE posts.id = r.c0 "
                                             "RETURNING posts.id, posts.status, posts.workspace_id"};
#undef HERALD_POST_STATUS
// r: post id; ?3 the status, when it is known without reading the deliveries.
constexpr Sql kSetPostsStatus{"set_posts_status",
                              "UPDATE posts SET status = ?3, updated_at = ?2 FROM herald_rows(?1) AS r "
                              "WHERE posts.id = r.c0 RETURNING posts.id, posts.status, posts.workspace_id"};
#define HERALD_DELIVERY_COLUMNS(d)                                                                         \
    d ".id, " d ".post_id, " d ".account_id, " d ".status, " d ".attempts, " d ".remote_id, " d ".url, " d \
      ".error, " d ".next_attempt_at, " d ".published_at, " d ".updated_at"
// r: delivery id.
constexpr Sql kClaimDetails{"claim_details",
                            "SELECT " HERALD_DELIVERY_COLUMNS(
                                "d") ", a.id, a.workspace_id, a.platform, a.name, a.settings, a.credentials != '', "
                                     "a.created_at, a.credentials, p.text, p.variants, w.limits, p.thread, p.first_comment, p.media "
                                     "FROM herald_rows(?1) "
                                     "AS r JOIN deliveries d ON d.id = r.c0 JOIN accounts a ON a.id = d.account_id "
                                     "JOIN posts p ON p.id = d.post_id JOIN workspaces w ON w.id = a.workspace_id"};
// r: delivery id, new status (queued or publishing), attempts.
constexpr Sql kClaimDeliveries{
    "claim_deliveries",
    "UPDATE deliveries SET status = r.c1, attempts = r.c2, updated_at = ?2 "
    "FROM herald_rows(?1) AS r WHERE deliveries.id = r.c0 AND deliveries.status IN ('scheduled', 'rate_limited')"};
// r: job id. The publish jobs that still exist, with their state.
constexpr Sql kPublishJobsOf{
    "publish_jobs_of",
    "SELECT j.id, j.delivery_id, j.workspace_id, j.state, j.account_id FROM herald_rows(?1) AS r "
    "JOIN jobs j ON j.id = r.c0 AND j.kind = 'publish'"};
// r: delivery id. Returns the deliveries that were queued and now are publishing.
constexpr Sql kMarkDeliveries{"mark_deliveries",
                              "UPDATE deliveries SET status = 'publishing', updated_at = ?2 FROM herald_rows(?1) AS r "
                              "WHERE deliveries.id = r.c0 AND deliveries.status = 'queued' "
                              "RETURNING " HERALD_DELIVERY_COLUMNS("deliveries")};
// r: delivery id, status, remote id, url, error, next attempt, published at.
constexpr Sql kRecordDeliveries{
    "record_deliveries",
    "UPDATE deliveries SET status = r.c1, remote_id = COALESCE(r.c2, deliveries.remote_id), "
    "url = COALESCE(r.c3, deliveries.url), error = r.c4, next_attempt_at = r.c5, published_at = r.c6, "
    "updated_at = ?2 FROM herald_rows(?1) AS r WHERE deliveries.id = r.c0 "
    "RETURNING " HERALD_DELIVERY_COLUMNS("deliveries")};
#undef HERALD_DELIVERY_COLUMNS
// r: job id, outcome, last error.
constexpr Sql kJobsToHistory{
    "jobs_to_history",
    "INSERT OR REPLACE INTO job_history(id, kind, workspace_id, delivery_id, account_id, outcome, priority, "
    "attempts, due_at, last_error, created_at, finished_at) "
    "SELECT j.id, j.kind, j.workspace_id, j.delivery_id, j.account_id, r.c1, j.priority, j.attempts, j.due_at, "
    "r.c2, j.created_at, ?2 FROM herald_rows(?1) AS r JOIN jobs j ON j.id = r.c0"};
// r: job id.
constexpr Sql kDeleteJobs{"delete_jobs", "DELETE FROM jobs WHERE id IN (SELECT c0 FROM herald_rows(?1))"};
constexpr Sql kDeleteJob{"delete_job", "DELETE FROM jobs WHERE id = ?1"};
// ---- rate limits ----
// A job the limits hold back: pending again at the instant they allow, the attempt given back.
constexpr Sql kDeferJob{"defer_job",
                        "UPDATE jobs SET state = 'pending', rank_at = COALESCE(rank_at, due_at), due_at = ?2, "
                        "lease_until = NULL, attempts = MAX(attempts - 1, 0), last_error = ?3, updated_at = ?4 "
                        "WHERE id = ?1"};
constexpr Sql kDeferDelivery{"defer_delivery",
                             "UPDATE deliveries SET status = 'rate_limited', attempts = MAX(attempts - 1, 0), "
                             "error = ?2, next_attempt_at = ?3, updated_at = ?4 WHERE id = ?1"};
// Every action's log, hold and quota of an account. ?2: the oldest time that can still matter (a
// day, plus how long a permit may stay in flight), or now.
constexpr Sql kRateLogOf{"rate_log_of",
                         "SELECT action, at, pending FROM rate_log WHERE account_id = ?1 AND at > ?2 ORDER BY at"};
constexpr Sql kRateHoldOf{"rate_hold_of",
                          "SELECT action, until, reason FROM rate_holds WHERE account_id = ?1 AND until > ?2"};
constexpr Sql kPostingSchedule{"posting_schedule",
                               "SELECT a.id, s.schedule FROM accounts a LEFT JOIN posting_schedules s "
                               "ON s.account_id = a.id WHERE a.workspace_id = ?1 AND a.id = ?2"};
constexpr Sql kUpsertPostingSchedule{
    "upsert_posting_schedule",
    "INSERT INTO posting_schedules(account_id, schedule, updated_at) VALUES (?1, ?2, ?3) "
    "ON CONFLICT(account_id) DO UPDATE SET schedule = excluded.schedule, "
    "updated_at = excluded.updated_at"};
constexpr Sql kDeletePostingSchedule{"delete_posting_schedule", "DELETE FROM posting_schedules WHERE account_id = ?1"};
constexpr Sql kQueuedTimes{"queued_times",
                           "SELECT COALESCE(rank_at, due_at) AS t FROM jobs WHERE account_id = ?1 AND kind = 'publish' "
                           "AND state IN ('pending', 'paused', 'running') AND COALESCE(rank_at, due_at) >= ?2"};
constexpr Sql kWorkspaceLimits{"workspace_limits", "SELECT limits FROM workspaces WHERE id = ?1"};
constexpr Sql kSetWorkspaceLimits{"set_workspace_limits", "UPDATE workspaces SET limits = ?2 WHERE id = ?1"};
constexpr Sql kPlanAccount{"plan_account",
                           "SELECT a.id, a.workspace_id, a.platform, a.name, a.settings, a.credentials != '', "
                           "a.created_at, w.limits FROM accounts a JOIN workspaces w ON w.id = a.workspace_id "
                           "WHERE a.id = ?1"};
// The account's live publish jobs (only publish jobs have an account); those already holding
// a permit are left out by the caller. No join and no subquery per row: one account's jobs lie
// on as many pages as it has jobs, and each extra lookup per row costs another page. (A
// covering index made this read 2.4 times faster but the burn-down 10% slower: not taken.)
constexpr Sql kWaitingJobsOf{"waiting_jobs_of",
                             "SELECT id, delivery_id, due_at, priority, state, COALESCE(rank_at, due_at), replies, "
                             "comments FROM jobs WHERE account_id = ?1 AND state IN ('pending', 'running', 'paused')"};
// Every live publish job, in table order: for planning many accounts at once, one sequential
// pass beats a page per job through the index.
constexpr Sql kAllWaitingJobs{"all_waiting_jobs",
                              "SELECT id, delivery_id, due_at, priority, state, COALESCE(rank_at, due_at), replies, "
                              "comments, account_id "
                              "FROM jobs NOT INDEXED WHERE account_id IS NOT NULL "
                              "AND state IN ('pending', 'running', 'paused')"};
// How many rows the jobs table holds (SQLite counts them from its smallest index).
constexpr Sql kCountJobs{"count_jobs", "SELECT count(*) FROM jobs"};
constexpr Sql kAllPendingPermits{"all_pending_permits", "SELECT job_id FROM rate_log WHERE pending = 1"};
constexpr Sql kPendingPermitsOf{"pending_permits_of",
                                "SELECT job_id FROM rate_log WHERE account_id = ?1 AND pending = 1"};
// r: delivery id.
constexpr Sql kPostsOfDeliveries{"posts_of_deliveries",
                                 "SELECT d.id, d.post_id FROM herald_rows(?1) AS r JOIN deliveries d ON d.id = r.c0"};
constexpr Sql kRateQuotaOf{"rate_quota_of",
                           "SELECT action, remaining, resets_at FROM rate_quotas WHERE account_id = ?1 "
                           "AND resets_at > ?2"};
constexpr Sql kSpendQuota{"spend_quota",
                          "UPDATE rate_quotas SET remaining = remaining - ?4 WHERE account_id = ?1 AND action = ?2 "
                          "AND resets_at > ?3"};
constexpr Sql kUpsertQuota{"upsert_quota",
                           "INSERT INTO rate_quotas(account_id, action, remaining, resets_at) VALUES (?1, ?2, ?3, ?4) "
                           "ON CONFLICT(account_id, action) DO UPDATE SET remaining = excluded.remaining, "
                           "resets_at = excluded.resets_at"};
constexpr Sql kInsertPermit{"insert_permit",
                            "INSERT INTO rate_log(account_id, action, at, job_id, pending) VALUES (?1, ?2, ?3, ?4, 1)"};
constexpr Sql kTrimRateLog{"trim_rate_log", "DELETE FROM rate_log WHERE account_id = ?1 AND action = ?2 AND at <= ?3"};
// A permit left pending by an earlier attempt of the same job (its worker died mid-call): it
// may have been used, so it stays, as an action at the latest time it could have happened.
constexpr Sql kRetirePermits{"retire_permits",
                             "UPDATE rate_log SET pending = 0, at = MIN(MAX(at, ?2), at + ?3) "
                             "WHERE job_id = ?1 AND pending = 1"};
// r: job id. The platform may have the post: it counts from when its answer was recorded.
constexpr Sql kSettlePermits{"settle_permits",
                             "UPDATE rate_log SET at = ?2, pending = 0 FROM herald_rows(?1) AS r "
                             "WHERE rate_log.job_id = r.c0 AND rate_log.pending = 1"};
// r: job id. Nothing was posted: the permit is given back.
constexpr Sql kDropPermits{"drop_permits",
                           "DELETE FROM rate_log WHERE pending = 1 AND job_id IN (SELECT c0 FROM herald_rows(?1))"};
constexpr Sql kRefundAttempt{"refund_attempt", "UPDATE deliveries SET attempts = MAX(attempts - 1, 0) WHERE id = ?1"};
constexpr Sql kUpsertHold{"upsert_hold",
                          "INSERT INTO rate_holds(account_id, action, until, reason) VALUES (?1, ?2, ?3, ?4) "
                          "ON CONFLICT(account_id, action) DO UPDATE SET until = MAX(until, excluded.until), "
                          "reason = excluded.reason"};
constexpr Sql kRetryJob{"retry_job",
                        "UPDATE jobs SET state = 'pending', due_at = ?2, rank_at = NULL, lease_until = NULL, "
                        "last_error = ?3, updated_at = ?4, uncertain = ?5 WHERE id = ?1"};
constexpr Sql kRequeueUncertain{"requeue_uncertain",
                                "UPDATE jobs SET state = 'pending', due_at = ?2, rank_at = NULL, lease_until = NULL, "
                                "uncertain = 1, "
                                "last_error = ?3, updated_at = ?2 WHERE id = ?1"};
constexpr Sql kResetAttempts{"reset_delivery_attempts", "UPDATE deliveries SET attempts = 0 WHERE id = ?1"};
constexpr Sql kDeleteJobsOfDelivery{"delete_jobs_of_delivery", "DELETE FROM jobs WHERE delivery_id = ?1"};
constexpr Sql kInsertJobDue{"insert_job_due",
                            "INSERT INTO jobs(id, kind, workspace_id, delivery_id, account_id, state, priority, "
                            "attempts, max_attempts, due_at, created_at, updated_at, replies, comments) "
                            "SELECT ?1, 'publish', ?2, ?3, d.account_id, 'pending', 5, 0, ?4, ?5, ?5, ?5, "
                            "COALESCE(json_array_length(p.thread), 0), p.first_comment IS NOT NULL "
                            "FROM deliveries d JOIN posts p ON p.id = d.post_id WHERE d.id = ?3"};
constexpr Sql kKillJob{"kill_job",
                       "UPDATE jobs SET state = 'dead', lease_until = NULL, last_error = ?2, updated_at = ?3 "
                       "WHERE id = ?1"};
constexpr Sql kReleaseJob{"release_job",
                          "UPDATE jobs SET state = 'pending', attempts = MAX(attempts - 1, 0), lease_until = NULL, "
                          "updated_at = ?2 WHERE id = ?1"};
constexpr Sql kExpiredLeases{"expired_leases",
                             "SELECT id FROM jobs WHERE state = 'running' AND lease_until < ?1 ORDER BY lease_until"};

// ---- tasks and periodic schedules ----
constexpr Sql kInsertTask{"insert_task",
                          "INSERT INTO jobs(id, kind, workspace_id, delivery_id, account_id, state, priority, "
                          "attempts, max_attempts, due_at, payload, created_at, updated_at) "
                          "SELECT ?1, ?2, ?3, NULL, NULL, 'pending', ?4, 0, ?5, ?6, ?7, ?8, ?8 "
                          "WHERE NOT EXISTS (SELECT 1 FROM job_history WHERE id = ?1) "
                          "ON CONFLICT(id) DO NOTHING"};
constexpr Sql kTaskToHistory{"task_to_history",
                             "INSERT OR REPLACE INTO job_history(id, kind, workspace_id, delivery_id, account_id, "
                             "outcome, priority, attempts, due_at, last_error, created_at, finished_at) "
                             "SELECT id, kind, workspace_id, delivery_id, account_id, 'done', priority, attempts, "
                             "due_at, NULL, created_at, ?2 FROM jobs WHERE id = ?1"};
constexpr Sql kHistoryById{"history_by_id",
                           "SELECT id, kind, workspace_id, delivery_id, account_id, outcome, priority, attempts, "
                           "due_at, last_error, created_at, finished_at FROM job_history WHERE id = ?1"};
constexpr Sql kUpsertPeriodic{"upsert_periodic",
                              "INSERT INTO periodic_jobs(name, kind, cron, timezone, priority, max_attempts, enabled, "
                              "next_run_at, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) "
                              "ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, priority = excluded.priority, "
                              "max_attempts = excluded.max_attempts"};
constexpr Sql kPeriodicByName{"periodic_by_name",
                              "SELECT name, kind, cron, timezone, priority, max_attempts, enabled, next_run_at, "
                              "last_run_at FROM periodic_jobs WHERE name = ?1"};
constexpr Sql kListPeriodic{"list_periodic",
                            "SELECT name, kind, cron, timezone, priority, max_attempts, enabled, next_run_at, "
                            "last_run_at FROM periodic_jobs ORDER BY name"};
// The compare-and-set: only the process that read this very next_run_at moves it on.
constexpr Sql kAdvancePeriodic{"advance_periodic",
                               "UPDATE periodic_jobs SET next_run_at = ?3, last_run_at = COALESCE(?4, last_run_at), "
                               "updated_at = ?5 WHERE name = ?1 AND next_run_at IS ?2 AND enabled = 1"};
// The tick's job, by its deterministic id: the primary key takes it once, and a tick already
// finished (moved to the history) is not queued again either.
constexpr Sql kInsertTickJob{"insert_tick_job",
                             "INSERT INTO jobs(id, kind, workspace_id, delivery_id, account_id, state, priority, "
                             "attempts, max_attempts, due_at, payload, created_at, updated_at) "
                             "SELECT ?1, kind, NULL, NULL, NULL, 'pending', priority, 0, max_attempts, ?3, ?4, ?3, ?3 "
                             "FROM periodic_jobs WHERE name = ?2 "
                             "AND NOT EXISTS (SELECT 1 FROM job_history WHERE id = ?1) "
                             "ON CONFLICT(id) DO NOTHING"};
constexpr Sql kUpdatePeriodic{"update_periodic",
                              "UPDATE periodic_jobs SET cron = ?2, timezone = ?3, enabled = ?4, next_run_at = NULL, "
                              "updated_at = ?5 WHERE name = ?1"};
constexpr Sql kPurgeHistory{"purge_history",
                            "DELETE FROM job_history WHERE id IN (SELECT id FROM job_history WHERE finished_at < ?1 "
                            "ORDER BY finished_at LIMIT ?2)"};
constexpr Sql kPurgeDeadTasks{"purge_dead_tasks",
                              "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state = 'dead' "
                              "AND kind != 'publish' AND updated_at < ?1 ORDER BY updated_at LIMIT ?2)"};
// A family is over when none of its tokens can be used again: all expired, or all revoked.
constexpr Sql kPurgeRefreshTokens{"purge_refresh_tokens",
                                  "DELETE FROM refresh_tokens WHERE family_id IN (SELECT family_id FROM refresh_tokens "
                                  "GROUP BY family_id HAVING MAX(expires_at) <= ?1 OR MIN(revoked) = 1 LIMIT ?2)"};
constexpr Sql kOverdueAtPriority{"overdue_at_priority",
                                 "SELECT id, kind, delivery_id, due_at, attempts FROM jobs WHERE state = 'pending' "
                                 "AND priority = ?1 AND due_at < ?2 ORDER BY due_at LIMIT ?3"};
constexpr Sql kStuckPublishing{
    "stuck_publishing",
    "SELECT d.id, d.post_id, d.account_id, d.updated_at, j.id, j.state, j.lease_until FROM deliveries d "
    "LEFT JOIN jobs j ON j.delivery_id = d.id WHERE d.status = 'publishing' AND d.updated_at < ?1 "
    "AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.delivery_id = d.id AND r.state = 'running' "
    "AND r.lease_until >= ?1) ORDER BY d.updated_at LIMIT ?2"};

constexpr Sql kSandboxInsert{"sandbox_insert",
                             "INSERT INTO sandbox_posts(remote_id, account_id, text, idempotency_key, created_at, "
                             "kind, parent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"};
constexpr Sql kSandboxByKey{
    "sandbox_by_key",
    "SELECT remote_id, account_id, text, idempotency_key, created_at, kind, parent "
    "FROM sandbox_posts WHERE account_id = ?1 AND idempotency_key = ?2 ORDER BY created_at, remote_id LIMIT 1"};
// r: request index, account, idempotency key. Every stored post with one of the keys.
constexpr Sql kSandboxFindKeys{"sandbox_find_keys",
                               "SELECT r.c0, s.remote_id, s.account_id, s.text, s.idempotency_key, s.created_at, "
                               "s.kind, s.parent "
                               "FROM herald_rows(?1) AS r JOIN sandbox_posts s "
                               "ON s.account_id = r.c1 AND s.idempotency_key = r.c2"};
// r: remote id, account, text, idempotency key, created at, kind, parent.
constexpr Sql kSandboxInsertRows{"sandbox_insert_rows",
                                 "INSERT INTO sandbox_posts(remote_id, account_id, text, idempotency_key, created_at, "
                                 "kind, parent) SELECT c0, c1, c2, c3, c4, c5, c6 FROM herald_rows(?1)"};
constexpr Sql kSandboxList{"sandbox_list",
                           "SELECT remote_id, account_id, text, idempotency_key, created_at, kind, parent "
                           "FROM sandbox_posts WHERE account_id = ?1 ORDER BY created_at, remote_id"};

// ---- row readers ---------------------------------------------------------------------------

// Columns: id, delivery_id, due_at, priority, state, rank, replies, comments (kWaitingJobsOf,
// kAllWaitingJobs).
// One waiting job, its ids kept in `ids`; nothing when it holds a permit already (`permitted`).
std::optional<app::AccountPlanInput::Waiting> ReadWaiting(const Stmt& s, core::StringArena& ids,
                                                          const std::unordered_set<std::string>& permitted) {
    const auto job_id = s.View(0);
    if (!permitted.empty() && permitted.count(std::string(job_id))) return std::nullopt;
    return app::AccountPlanInput::Waiting{ids.Add(job_id),
                                          ids.Add(s.View(1)),
                                          FromUnixMillis(s.Int(2)),
                                          FromUnixMillis(s.Int(5)),
                                          static_cast<int>(s.Int(3)),
                                          s.View(4) == "paused",
                                          ratelimit::PostDemand(static_cast<int>(s.Int(6)), s.Int(7) != 0)};
}

core::Result<app::Membership> ReadMembership(Stmt& s) {
    if (!s.Step()) return Fail(ErrorCode::kNotFound, "workspace not found");
    return ReadMembershipRow(s);
}

}  // namespace

namespace {

// Runs `fn` holding `mu` and turns infrastructure failures into errors.
template <typename Mutex, typename Fn>
auto Guarded(Mutex& mu, const char* op, Fn&& fn) -> decltype(fn()) {
    std::lock_guard lock(mu);
    try {
        return fn();
    } catch (const ConstraintError& e) {
        spdlog::warn("event=store_constraint op={} error=\"{}\"", op, e.what());
        return Fail(ErrorCode::kAlreadyExists, "that already exists");
    } catch (const StoreError& e) {
        spdlog::error("event=store_error op={} error=\"{}\"", op, e.what());
        return Fail(ErrorCode::kUnavailable, "the database failed; try again");
    }
}

}  // namespace

template <typename Fn>
auto SqliteStore::Locked(const char* op, Fn&& fn) -> decltype(fn()) {
    return Guarded(mu_, op, std::forward<Fn>(fn));
}

template <typename Fn>
auto SqliteStore::SandboxLocked(const char* op, Fn&& fn) -> decltype(fn()) {
    return Guarded(sandbox_mu_, op, [&]() -> decltype(fn()) {
        if (!sandbox_) OpenSandbox();
        return fn();
    });
}

core::Status SqliteStore::Ping() {
    return Locked("ping", [&]() -> core::Status {
        auto s = db_->Prepare(kPing);
        s.Step();
        return {};
    });
}

// ---- users ----------------------------------------------------------------------------------

core::Status SqliteStore::CreateUserWithWorkspace(const domain::User& user, const std::string& password_hash,
                                                  const domain::Workspace& ws) {
    return Locked("create_user",
                  [&]() -> core::Status {
                      Transaction tx(*db_);
                      {
                          auto existing = db_->Prepare(kUserByEmail);
                          existing.Bind(1, user.email);
                          if (existing.Step()) {
                              return Fail(ErrorCode::kAlreadyExists, "an account with this email already exists",
                                          {{"field", "email"}, {"rule", "unique"}});
                          }
                      }
                      db_->Prepare(kInsertUser)
                          .Bind(1, user.id)
                          .Bind(2, user.email)
                          .Bind(3, user.name)
                          .Bind(4, password_hash)
                          .Bind(5, ToUnixMillis(user.created_at))
                          .Run();
                      db_->Prepare(kInsertWorkspace)
                          .Bind(1, ws.id)
                          .Bind(2, ws.name)
                          .Bind(3, ToUnixMillis(ws.created_at))
                          .Run();
                      db_->Prepare(kInsertMember)
                          .Bind(1, ws.id)
                          .Bind(2, user.id)
                          .Bind(3, "owner")
                          .Bind(4, ToUnixMillis(user.created_at))
                          .Run();
                      tx.Commit();
                      return {};
                  })
        .map_error([](core::Error e) {
            if (e.code == ErrorCode::kAlreadyExists) {
                e.details = {{"field", "email"}, {"rule", "unique"}};
                e.message = "an account with this email already exists";
            }
            return e;
        });
}

core::Result<app::UserRecord> SqliteStore::FindUserByEmail(const std::string& email) {
    return Locked("find_user", [&]() -> core::Result<app::UserRecord> {
        auto s = db_->Prepare(kUserByEmail);
        s.Bind(1, email);
        if (!s.Step()) return Fail(ErrorCode::kNotFound, "user not found");
        return app::UserRecord{domain::User{s.Text(0), s.Text(1), s.Text(2), FromUnixMillis(s.Int(4))}, s.Text(3)};
    });
}

core::Result<domain::User> SqliteStore::GetUser(const std::string& user_id) {
    return Locked("get_user", [&]() -> core::Result<domain::User> {
        auto s = db_->Prepare(kUserById);
        s.Bind(1, user_id);
        if (!s.Step()) return Fail(ErrorCode::kNotFound, "user not found");
        return domain::User{s.Text(0), s.Text(1), s.Text(2), FromUnixMillis(s.Int(4))};
    });
}

core::Result<app::Membership> SqliteStore::PrimaryMembership(const std::string& user_id) {
    return Locked("primary_membership", [&]() -> core::Result<app::Membership> {
        auto s = db_->Prepare(kPrimaryMembership);
        s.Bind(1, user_id);
        return ReadMembership(s);
    });
}

core::Result<app::Membership> SqliteStore::GetMembership(const std::string& user_id, const std::string& workspace_id) {
    return Locked("membership", [&]() -> core::Result<app::Membership> {
        auto s = db_->Prepare(kMembership);
        s.Bind(1, user_id).Bind(2, workspace_id);
        return ReadMembership(s);
    });
}

core::Result<std::vector<domain::Member>> SqliteStore::ListMembers(const std::string& workspace_id) {
    return Locked("list_members", [&]() -> core::Result<std::vector<domain::Member>> {
        auto s = db_->Prepare(kListMembers);
        s.Bind(1, workspace_id);
        std::vector<domain::Member> out;
        while (s.Step()) {
            out.push_back(domain::Member{s.Text(0), s.Text(1), s.Text(2),
                                         domain::ParseRole(s.Text(3)).value_or(domain::Role::kViewer)});
        }
        return out;
    });
}

core::Status SqliteStore::AddMember(const std::string& workspace_id, const std::string& user_id, domain::Role role,
                                    core::TimePoint now) {
    return Locked("add_member", [&]() -> core::Status {
        db_->Prepare(kInsertMember)
            .Bind(1, workspace_id)
            .Bind(2, user_id)
            .Bind(3, domain::ToString(role))
            .Bind(4, ToUnixMillis(now))
            .Run();
        return {};
    });
}

// ---- tokens ---------------------------------------------------------------------------------

core::Result<std::optional<std::string>> SqliteStore::GetPostingSchedule(const std::string& workspace_id,
                                                                         const std::string& account_id) {
    return Locked("get_posting_schedule", [&]() -> core::Result<std::optional<std::string>> {
        auto s = db_->Prepare(kPostingSchedule);
        s.Bind(1, workspace_id).Bind(2, account_id);
        if (!s.Step()) return Fail(ErrorCode::kNotFound, "account not found", {{"account_id", account_id}});
        return s.OptText(1);
    });
}

core::Status SqliteStore::SetPostingSchedule(const std::string& workspace_id, const std::string& account_id,
                                             const std::optional<std::string>& schedule_json, core::TimePoint now) {
    return Locked("set_posting_schedule", [&]() -> core::Status {
        Transaction tx(*db_);
        {
            auto s = db_->Prepare(kPostingSchedule);
            s.Bind(1, workspace_id).Bind(2, account_id);
            if (!s.Step()) return Fail(ErrorCode::kNotFound, "account not found", {{"account_id", account_id}});
        }
        if (schedule_json) {
            db_->Prepare(kUpsertPostingSchedule)
                .Bind(1, account_id)
                .Bind(2, *schedule_json)
                .Bind(3, ToUnixMillis(now))
                .Run();
        } else {
            db_->Prepare(kDeletePostingSchedule).Bind(1, account_id).Run();
        }
        tx.Commit();
        return {};
    });
}

core::Result<std::vector<core::TimePoint>> SqliteStore::QueuedTimes(const std::string& account_id,
                                                                    core::TimePoint from) {
    return Locked("queued_times", [&]() -> core::Result<std::vector<core::TimePoint>> {
        std::vector<core::TimePoint> out;
        auto s = db_->Prepare(kQueuedTimes);
        s.Bind(1, account_id).Bind(2, ToUnixMillis(from));
        while (s.Step()) out.push_back(FromUnixMillis(s.Int(0)));
        return out;
    });
}

core::Result<std::string> SqliteStore::GetWorkspaceLimits(const std::string& workspace_id) {
    return Locked("get_workspace_limits", [&]() -> core::Result<std::string> {
        auto s = db_->Prepare(kWorkspaceLimits);
        s.Bind(1, workspace_id);
        if (!s.Step()) return Fail(ErrorCode::kNotFound, "workspace not found", {{"workspace_id", workspace_id}});
        return s.Text(0);
    });
}

core::Status SqliteStore::SetWorkspaceLimits(const std::string& workspace_id, const std::string& limits_json) {
    return Locked("set_workspace_limits", [&]() -> core::Status {
        Transaction tx(*db_);
        if (db_->Prepare(kSetWorkspaceLimits).Bind(1, workspace_id).Bind(2, limits_json).Run() == 0) {
            return Fail(ErrorCode::kNotFound, "workspace not found", {{"workspace_id", workspace_id}});
        }
        tx.Commit();
        return {};
    });
}

core::Status SqliteStore::InsertRefreshToken(const app::RefreshTokenRecord& t) {
    return Locked("insert_refresh_token", [&]() -> core::Status {
        db_->Prepare(kInsertRefresh)
            .Bind(1, t.token_hash)
            .Bind(2, t.user_id)
            .Bind(3, t.workspace_id)
            .Bind(4, t.family_id)
            .Bind(5, ToUnixMillis(t.expires_at))
            .Run();
        return {};
    });
}

core::Result<app::RefreshTokenRecord> SqliteStore::RotateRefreshToken(const std::string& old_hash,
                                                                      app::RefreshTokenRecord next,
                                                                      core::TimePoint now) {
    return Locked("rotate_refresh_token", [&]() -> core::Result<app::RefreshTokenRecord> {
        Transaction tx(*db_);
        auto s = db_->Prepare(kRefreshByHash);
        s.Bind(1, old_hash);
        if (!s.Step()) return Fail(ErrorCode::kUnauthenticated, "refresh token is not valid");
        const std::string user_id = s.Text(0), workspace_id = s.Text(1), family = s.Text(2);
        const int64_t expires_at = s.Int(3);
        const bool used = !s.IsNull(4), revoked = s.Int(5) != 0;
        if (used || revoked) {
            // A consumed token presented again means it leaked: end every session of that login.
            db_->Prepare(kRevokeFamily).Bind(1, family).Run();
            tx.Commit();
            spdlog::warn("event=refresh_token_reuse user_id={}", user_id);
            return Fail(ErrorCode::kUnauthenticated,
                        "refresh token was already used or revoked; sign in again (sessions from that login "
                        "were signed out)");
        }
        if (expires_at <= ToUnixMillis(now)) return Fail(ErrorCode::kUnauthenticated, "refresh token expired");
        db_->Prepare(kUseRefresh).Bind(1, old_hash).Bind(2, ToUnixMillis(now)).Run();
        next.user_id = user_id;
        next.workspace_id = workspace_id;
        next.family_id = family;
        db_->Prepare(kInsertRefresh)
            .Bind(1, next.token_hash)
            .Bind(2, next.user_id)
            .Bind(3, next.workspace_id)
            .Bind(4, next.family_id)
            .Bind(5, ToUnixMillis(next.expires_at))
            .Run();
        tx.Commit();
        return next;
    });
}

core::Status SqliteStore::RevokeRefreshFamily(const std::string& token_hash) {
    return Locked("revoke_refresh_family", [&]() -> core::Status {
        auto s = db_->Prepare(kRefreshByHash);
        s.Bind(1, token_hash);
        if (!s.Step()) return Fail(ErrorCode::kUnauthenticated, "refresh token is not valid");
        const std::string family = s.Text(2);
        db_->Prepare(kRevokeFamily).Bind(1, family).Run();
        return {};
    });
}

core::Status SqliteStore::InsertApiToken(const app::ApiTokenRecord& t) {
    return Locked("insert_api_token", [&]() -> core::Status {
        db_->Prepare(kInsertApiToken)
            .Bind(1, t.id)
            .Bind(2, t.name)
            .Bind(3, t.token_hash)
            .Bind(4, t.user_id)
            .Bind(5, t.workspace_id)
            .Bind(6, ToUnixMillis(t.created_at))
            .Run();
        return {};
    });
}

core::Result<app::ApiTokenRecord> SqliteStore::FindApiToken(const std::string& token_hash) {
    return Locked("find_api_token", [&]() -> core::Result<app::ApiTokenRecord> {
        auto s = db_->Prepare(kApiTokenByHash);
        s.Bind(1, token_hash);
        if (!s.Step()) return Fail(ErrorCode::kUnauthenticated, "API token is not valid");
        return ReadApiToken(s);
    });
}

core::Result<std::vector<app::ApiTokenRecord>> SqliteStore::ListApiTokens(const std::string& workspace_id,
                                                                          const std::string& user_id) {
    return Locked("list_api_tokens", [&]() -> core::Result<std::vector<app::ApiTokenRecord>> {
        auto s = db_->Prepare(kListApiTokens);
        s.Bind(1, workspace_id).Bind(2, user_id);
        std::vector<app::ApiTokenRecord> out;
        while (s.Step()) out.push_back(ReadApiToken(s));
        return out;
    });
}

core::Status SqliteStore::RevokeApiToken(const std::string& workspace_id, const std::string& user_id,
                                         const std::string& token_id) {
    return Locked("revoke_api_token", [&]() -> core::Status {
        if (db_->Prepare(kRevokeApiToken).Bind(1, token_id).Bind(2, workspace_id).Bind(3, user_id).Run() == 0) {
            return Fail(ErrorCode::kNotFound, "API token not found");
        }
        return {};
    });
}

// ---- accounts -------------------------------------------------------------------------------

core::Status SqliteStore::InsertAccount(const domain::Account& a, const std::string& sealed_credentials,
                                        std::optional<core::TimePoint> refresh_at) {
    return Locked("insert_account", [&]() -> core::Status {
        db_->Prepare(kInsertAccount)
            .Bind(1, a.id)
            .Bind(2, a.workspace_id)
            .Bind(3, a.platform)
            .Bind(4, a.name)
            .Bind(5, a.settings_json)
            .Bind(6, sealed_credentials)
            .Bind(7, ToUnixMillis(a.created_at))
            .Bind(8, OptMillis(refresh_at))
            .Run();
        return {};
    });
}

core::Result<domain::Account> SqliteStore::ReconnectAccount(
    const std::string& workspace_id, const std::string& id, const std::string& settings_json,
    const std::function<core::Result<std::string>(const std::string&)>& reseal,
    std::optional<core::TimePoint> refresh_at) {
    return Locked("reconnect_account", [&]() -> core::Result<domain::Account> {
        auto old = db_->Prepare(kAccountCredentials);
        old.Bind(1, workspace_id).Bind(2, id);
        if (!old.Step()) return Fail(ErrorCode::kNotFound, "account not found", {{"account_id", id}});
        auto sealed = reseal(old.Text(0));
        if (!sealed) return tl::unexpected(sealed.error());
        db_->Prepare(kReconnectAccount)
            .Bind(1, workspace_id)
            .Bind(2, id)
            .Bind(3, settings_json)
            .Bind(4, *sealed)
            .Bind(5, OptMillis(refresh_at))
            .Run();
        auto s = db_->Prepare(kAccountById);
        s.Bind(1, workspace_id).Bind(2, id);
        s.Step();
        return ReadAccount(s);
    });
}

core::Result<app::StoredCredentials> SqliteStore::GetCredentials(const std::string& account_id) {
    return Locked("get_credentials", [&]() -> core::Result<app::StoredCredentials> {
        auto s = db_->Prepare(kCredentialsOfAccount);
        s.Bind(1, account_id);
        if (!s.Step()) return Fail(ErrorCode::kNotFound, "account not found", {{"account_id", account_id}});
        return app::StoredCredentials{ReadAccount(s), s.Text(7)};
    });
}

core::Result<bool> SqliteStore::ReplaceCredentials(const std::string& account_id, const std::string& expected_sealed,
                                                   const std::string& sealed,
                                                   std::optional<core::TimePoint> refresh_at) {
    return Locked("replace_credentials", [&]() -> core::Result<bool> {
        return db_->Prepare(kReplaceCredentials)
                   .Bind(1, account_id)
                   .Bind(2, expected_sealed)
                   .Bind(3, sealed)
                   .Bind(4, OptMillis(refresh_at))
                   .Run() > 0;
    });
}

core::Result<std::vector<std::string>> SqliteStore::CredentialsDueForRefresh(core::TimePoint now, int limit) {
    return Locked("credentials_due", [&]() -> core::Result<std::vector<std::string>> {
        auto s = db_->Prepare(kCredentialsDue);
        s.Bind(1, ToUnixMillis(now)).Bind(2, limit);
        std::vector<std::string> out;
        while (s.Step()) out.push_back(s.Text(0));
        return out;
    });
}

core::Status SqliteStore::InsertOAuthState(const app::OAuthStateRecord& st) {
    return Locked("insert_oauth_state", [&]() -> core::Status {
        db_->Prepare(kInsertOAuthState)
            .Bind(1, st.state_hash)
            .Bind(2, st.workspace_id)
            .Bind(3, st.user_id)
            .Bind(4, st.platform)
            .Bind(5, st.account_id)
            .Bind(6, st.name)
            .Bind(7, st.settings_json)
            .Bind(8, st.sealed_verifier)
            .Bind(9, st.binding_hash)
            .Bind(10, st.return_to)
            .Bind(11, ToUnixMillis(st.created_at))
            .Bind(12, ToUnixMillis(st.expires_at))
            .Run();
        return {};
    });
}

core::Result<app::OAuthStateRecord> SqliteStore::TakeOAuthState(const std::string& state_hash, core::TimePoint now) {
    return Locked("take_oauth_state", [&]() -> core::Result<app::OAuthStateRecord> {
        db_->Prepare(kDropExpiredOAuthStates).Bind(1, ToUnixMillis(now)).Run();
        auto s = db_->Prepare(kTakeOAuthState);
        s.Bind(1, state_hash);
        if (!s.Step()) return Fail(ErrorCode::kNotFound, "no such OAuth consent in progress");
        auto st = ReadOAuthState(s);
        while (s.Step()) {
        }
        return st;
    });
}

core::Result<domain::Account> SqliteStore::GetAccount(const std::string& workspace_id, const std::string& id) {
    return Locked("get_account", [&]() -> core::Result<domain::Account> {
        auto s = db_->Prepare(kAccountById);
        s.Bind(1, workspace_id).Bind(2, id);
        if (!s.Step()) return Fail(ErrorCode::kNotFound, "account not found", {{"account_id", id}});
        return ReadAccount(s);
    });
}

core::Result<std::vector<domain::Account>> SqliteStore::ListAccounts(const std::string& workspace_id) {
    return Locked("list_accounts", [&]() -> core::Result<std::vector<domain::Account>> {
        auto s = db_->Prepare(kListAccounts);
        s.Bind(1, workspace_id);
        std::vector<domain::Account> out;
        while (s.Step()) out.push_back(ReadAccount(s));
        return out;
    });
}

// ---- posts ----------------------------------------------------------------------------------

std::vector<domain::Delivery> SqliteStore::LoadDeliveries(const std::string& post_id) {
    auto s = db_->Prepare(kDeliveriesOfPost);
    s.Bind(1, post_id);
    std::vector<domain::Delivery> out;
    while (s.Step()) out.push_back(ReadDelivery(s));
    return out;
}

std::optional<domain::Post> SqliteStore::LoadPost(const std::string& workspace_id, const std::string& id) {
    std::optional<domain::Post> post;
    {
        auto s = db_->Prepare(kPostById);
        s.Bind(1, workspace_id).Bind(2, id);
        if (!s.Step()) return std::nullopt;
        post = ReadPost(s);
    }
    post->deliveries = LoadDeliveries(id);
    return post;
}

void SqliteStore::WritePostRow(const domain::Post& p, bool insert) {
    if (insert) {
        db_->Prepare(kInsertPost)
            .Bind(1, p.id)
            .Bind(2, p.workspace_id)
            .Bind(3, p.created_by)
            .Bind(4, p.text)
            .Bind(5, VariantsJson(p))
            .Bind(6, OptMillis(p.scheduled_at))
            .Bind(7, p.local_time)
            .Bind(8, p.time_zone)
            .Bind(9, S(p.status))
            .Bind(10, ToUnixMillis(p.created_at))
            .Bind(11, ToUnixMillis(p.updated_at))
            .Bind(12, StringArrayJson(p.thread))
            .Bind(13, p.first_comment)
            .Bind(14, StringArrayJson(p.media_ids))
            .Run();
    } else {
        db_->Prepare(kUpdatePost)
            .Bind(1, p.id)
            .Bind(2, p.workspace_id)
            .Bind(3, p.text)
            .Bind(4, VariantsJson(p))
            .Bind(5, OptMillis(p.scheduled_at))
            .Bind(6, p.local_time)
            .Bind(7, p.time_zone)
            .Bind(8, S(p.status))
            .Bind(9, ToUnixMillis(p.updated_at))
            .Bind(10, StringArrayJson(p.thread))
            .Bind(11, p.first_comment)
            .Bind(12, StringArrayJson(p.media_ids))
            .Run();
    }
}

void SqliteStore::WriteDeliveriesAndJobs(const domain::Post& p) {
    for (const auto& d : p.deliveries) {
        db_->Prepare(kUpsertDelivery)
            .Bind(1, d.id)
            .Bind(2, p.id)
            .Bind(3, d.account_id)
            .Bind(4, S(d.status))
            .Bind(5, d.attempts)
            .Bind(6, d.remote_id)
            .Bind(7, d.url)
            .Bind(8, d.error)
            .Bind(9, OptMillis(d.next_attempt_at))
            .Bind(10, OptMillis(d.published_at))
            .Bind(11, ToUnixMillis(d.updated_at))
            .Run();
        if (d.status == DeliveryStatus::kScheduled && p.scheduled_at) {
            // Jitter: the delivery's time is the jittered one, in the queue too.
            const int64_t offset = JitterOffset(d.id, p.jitter);
            db_->Prepare(kInsertJob)
                .Bind(1, core::NewId(p.updated_at))
                .Bind(2, p.workspace_id)
                .Bind(3, d.id)
                .Bind(4, d.attempts)
                .Bind(5, options_.publish_max_attempts)
                .Bind(6, ToUnixMillis(*p.scheduled_at) + offset)
                .Bind(7, ToUnixMillis(p.updated_at))
                .Bind(8, d.account_id)
                .BindNull(9)
                .Bind(10, static_cast<int64_t>(p.thread.size()))
                .Bind(11, p.first_comment ? 1 : 0)
                .Run();
        }
    }
}

core::Status SqliteStore::CreatePost(const domain::Post& post) {
    return Locked("create_post", [&]() -> core::Status {
        Transaction tx(*db_);
        WritePostRow(post, /*insert=*/true);
        WriteDeliveriesAndJobs(post);
        tx.Commit();
        return {};
    });
}

core::Status SqliteStore::CreatePosts(const std::vector<domain::Post>& posts) {
    return Locked("create_posts", [&]() -> core::Status {
        Transaction tx(*db_);
        for (const auto& post : posts) {
            WritePostRow(post, /*insert=*/true);
            WriteDeliveriesAndJobs(post);
        }
        tx.Commit();
        return {};
    });
}

core::Result<domain::Post> SqliteStore::GetPost(const std::string& workspace_id, const std::string& id) {
    return Locked("get_post", [&]() -> core::Result<domain::Post> {
        auto p = LoadPost(workspace_id, id);
        if (!p) return Fail(ErrorCode::kNotFound, "post not found", {{"post_id", id}});
        return *p;
    });
}

core::Result<std::vector<domain::Post>> SqliteStore::ListPosts(const std::string& workspace_id,
                                                               const app::PostFilter& f) {
    return Locked("list_posts", [&]() -> core::Result<std::vector<domain::Post>> {
        std::vector<domain::Post> out;
        {
            auto s = db_->Prepare(kListPosts);
            s.Bind(1, workspace_id);
            if (f.status) {
                s.Bind(2, S(*f.status));
            } else {
                s.BindNull(2);
            }
            s.Bind(3, f.account_id).Bind(4, OptMillis(f.from)).Bind(5, OptMillis(f.to)).Bind(6, f.after_id);
            s.Bind(7, f.limit);
            while (s.Step()) out.push_back(ReadPost(s));
        }
        for (auto& p : out) p.deliveries = LoadDeliveries(p.id);
        return out;
    });
}

core::Result<domain::Post> SqliteStore::UpdatePost(
    const std::string& workspace_id, const std::string& id,
    const std::function<core::Result<domain::Post>(const domain::Post&)>& edit) {
    return Locked("update_post", [&]() -> core::Result<domain::Post> {
        Transaction tx(*db_);
        auto current = LoadPost(workspace_id, id);
        if (!current) return Fail(ErrorCode::kNotFound, "post not found", {{"post_id", id}});
        auto next = edit(*current);
        if (!next) return next;
        // Pending or claimed jobs belong to the old version: drop them. A worker holding a claim
        // finds its job gone at MarkPublishing and sends nothing.
        db_->Prepare(kDeleteJobsOfPost).Bind(1, id).Run();
        for (const auto& old : current->deliveries) {
            bool kept = false;
            for (const auto& d : next->deliveries) kept = kept || d.id == old.id;
            if (!kept) db_->Prepare(kDeleteDelivery).Bind(1, old.id).Run();
        }
        WritePostRow(*next, /*insert=*/false);
        WriteDeliveriesAndJobs(*next);
        tx.Commit();
        return next;
    });
}

core::Status SqliteStore::DeletePost(const std::string& workspace_id, const std::string& id,
                                     const std::function<core::Status(const domain::Post&)>& check) {
    return Locked("delete_post", [&]() -> core::Status {
        Transaction tx(*db_);
        auto current = LoadPost(workspace_id, id);
        if (!current) return Fail(ErrorCode::kNotFound, "post not found", {{"post_id", id}});
        if (auto ok = check(*current); !ok) return ok;
        db_->Prepare(kDeletePost).Bind(1, workspace_id).Bind(2, id).Run();
        tx.Commit();
        return {};
    });
}

// ---- queue ----------------------------------------------------------------------------------

domain::PostStatus SqliteStore::RefreshPostStatus(const std::string& post_id, core::TimePoint now) {
    auto s = db_->Prepare(kRefreshPostStatus);
    s.Bind(1, post_id).Bind(2, ToUnixMillis(now));
    if (!s.Step()) throw DbError("post vanished inside a transaction: " + post_id);
    return ParseStatus(s.Text(0));
}

std::unordered_map<std::string, std::pair<domain::PostStatus, std::string>> SqliteStore::RefreshPosts(
    const std::vector<std::string>& post_ids, core::TimePoint now, std::optional<domain::PostStatus> known) {
    std::unordered_map<std::string, std::pair<domain::PostStatus, std::string>> out;
    if (post_ids.empty()) return out;
    Rows rows(1);
    std::unordered_set<std::string> seen;
    for (const auto& id : post_ids) {
        if (seen.insert(id).second) rows.Add({id});  // each post once, whatever its deliveries
    }
    out.reserve(rows.size());
    auto s = db_->Prepare(known ? kSetPostsStatus : kRefreshPosts);
    s.Bind(1, rows).Bind(2, ToUnixMillis(now));
    if (known) s.Bind(3, S(*known));
    while (s.Step()) out.emplace(s.Text(0), std::make_pair(ParseStatus(s.Text(1)), s.Text(2)));
    if (out.size() != rows.size()) throw DbError("a post vanished inside a transaction");
    return out;
}

app::DeliveryChange SqliteStore::ChangeFor(const std::string& delivery_id) {
    app::DeliveryChange change;
    auto s = db_->Prepare(kDeliveryById);
    s.Bind(1, delivery_id);
    if (!s.Step()) throw DbError("delivery vanished inside a transaction: " + delivery_id);
    change.delivery = ReadDelivery(s);
    change.post_id = change.delivery.post_id;
    return change;
}

std::optional<domain::Job> SqliteStore::LoadJob(const std::string& job_id) {
    auto s = db_->Prepare(kJobById);
    s.Bind(1, job_id);
    if (!s.Step()) return std::nullopt;
    return ReadJob(s);
}

std::optional<int64_t> SqliteStore::FirstPendingDue() {
    std::optional<int64_t> first;
    for (int priority = domain::kMaxPriority; priority >= domain::kMinPriority; --priority) {
        auto s = db_->Prepare(kFirstDueAtPriority);
        s.Bind(1, priority);
        if (s.Step() && (!first || s.Int(0) < *first)) first = s.Int(0);
    }
    return first;
}

core::Result<std::optional<core::TimePoint>> SqliteStore::NextDueAt() {
    return Locked("next_due", [&]() -> core::Result<std::optional<core::TimePoint>> {
        std::optional<int64_t> due = FirstPendingDue(), lease;
        {
            // A lease running out is also a moment the scheduler must wake for (rescue).
            auto s = db_->Prepare(kNextLeaseEnd);
            if (s.Step()) lease = s.OptInt(0);
        }
        if (due && lease) return FromUnixMillis(std::min(*due, *lease));
        if (due) return FromUnixMillis(*due);
        if (lease) return FromUnixMillis(*lease);
        return std::optional<core::TimePoint>{};
    });
}

core::Result<std::vector<app::ClaimedJob>> SqliteStore::ClaimDueJobs(core::TimePoint now, int limit,
                                                                     core::TimePoint lease_until,
                                                                     const MarkAtClaim& mark_at_claim) {
    return Locked("claim_jobs", [&]() -> core::Result<std::vector<app::ClaimedJob>> {
        // Relaxed: a claim lost to a power cut is claimed again. Nothing was sent yet, or, for a
        // delivery marked here, only to a platform that drops the repeat (see MarkAtClaim).
        Transaction tx(*db_, Durability::kRelaxed);
        std::vector<app::ClaimedJob> out;
        // Highest priority first; within one, oldest due first.
        for (int priority = domain::kMaxPriority; priority >= domain::kMinPriority; --priority) {
            const int left = limit - static_cast<int>(out.size());
            if (left <= 0) break;
            const size_t before = out.size();
            auto s = db_->Prepare(kClaimJobsAtPriority);
            s.Bind(1, ToUnixMillis(now)).Bind(2, ToUnixMillis(lease_until)).Bind(3, left).Bind(4, priority);
            while (s.Step()) {
                app::ClaimedJob c;
                c.job.id = s.Text(0);
                c.job.workspace_id = s.Text(1);
                c.job.delivery_id = s.Text(2);
                c.job.state = domain::JobState::kRunning;
                c.job.priority = static_cast<int>(s.Int(3));
                c.job.attempts = static_cast<int>(s.Int(4));
                c.job.max_attempts = static_cast<int>(s.Int(5));
                c.job.due_at = FromUnixMillis(s.Int(6));
                c.job.lease_until = lease_until;
                c.job.uncertain = s.Int(7) != 0;
                c.job.kind = ParseKind(s.Text(8));
                c.job.payload = s.Text(9);
                out.push_back(std::move(c));
            }
            // RETURNING gives no order: keep "oldest first" within the priority, then by id (the
            // order ratelimit::PlanQueue gives jobs due at the same instant).
            std::sort(out.begin() + static_cast<std::ptrdiff_t>(before), out.end(),
                      [](const app::ClaimedJob& a, const app::ClaimedJob& b) {
                          return a.job.due_at != b.job.due_at ? a.job.due_at < b.job.due_at : a.job.id < b.job.id;
                      });
        }
        std::unordered_map<std::string, size_t> by_delivery;
        Rows deliveries(1);
        for (size_t i = 0; i < out.size(); ++i) {
            // A task has no delivery, account or text: the job is all its handler needs.
            if (!out[i].is_publish()) continue;
            by_delivery.emplace(out[i].job.delivery_id, i);
            deliveries.Add({out[i].job.delivery_id});
        }
        if (deliveries.empty()) {
            tx.Commit();
            return out;
        }
        {
            auto s = db_->Prepare(kClaimDetails);
            s.Bind(1, deliveries);
            while (s.Step()) {
                auto it = by_delivery.find(s.Text(0));
                if (it == by_delivery.end()) continue;
                auto& c = out[it->second];
                c.delivery = ReadDelivery(s);
                c.account.id = s.Text(11);
                c.account.workspace_id = s.Text(12);
                c.account.platform = s.Text(13);
                c.account.name = s.Text(14);
                c.account.settings_json = s.Text(15);
                c.account.has_credentials = s.Int(16) != 0;
                c.account.created_at = FromUnixMillis(s.Int(17));
                c.sealed_credentials = s.Text(18);
                c.text = s.Text(19);
                c.workspace_limits_json = s.Text(21);
                c.thread = ReadStringArray(s, 22);
                c.first_comment = s.OptText(23);
                c.media_ids = ReadStringArray(s, 24);
                if (const std::string variants = s.Text(20); variants != "{}") {
                    auto parsed = nlohmann::json::parse(variants, nullptr, false);
                    if (parsed.is_object() && parsed.contains(c.account.platform) &&
                        parsed[c.account.platform].is_string()) {
                        c.text = parsed[c.account.platform].get<std::string>();
                    }
                }
            }
        }
        const auto at = FromUnixMillis(ToUnixMillis(now));
        Rows moves(3);  // delivery, status, attempts
        std::vector<std::string> post_ids;
        std::vector<size_t> marked;
        for (size_t i = 0; i < out.size(); ++i) {
            auto& c = out[i];
            if (!c.is_publish()) continue;
            if (c.delivery.id.empty()) throw DbError("delivery, account or post vanished for job " + c.job.id);
            // Only a scheduled (or rate limited) delivery moves on. Any other was changed after its job was queued
            // (cancelled, edited): it stays as it is and the worker finds the job stale.
            if (c.delivery.status != DeliveryStatus::kScheduled && c.delivery.status != DeliveryStatus::kRateLimited) {
                continue;
            }
            const bool mark = mark_at_claim && mark_at_claim(c.account);
            c.delivery.status = mark ? DeliveryStatus::kPublishing : DeliveryStatus::kQueued;
            c.delivery.attempts = c.job.attempts;
            c.delivery.updated_at = at;
            moves.Add({c.delivery.id, std::string(S(c.delivery.status)), int64_t{c.job.attempts}});
            post_ids.push_back(c.delivery.post_id);
            if (mark) marked.push_back(i);
        }
        if (!moves.empty()) db_->Prepare(kClaimDeliveries).Bind(1, moves).Bind(2, ToUnixMillis(now)).Run();
        // A post with a delivery now publishing is publishing, whatever its others (the most
        // urgent state wins, domain::SummarizeStatus): set it without reading them.
        std::vector<std::string> publishing;
        for (const size_t i : marked) publishing.push_back(out[i].delivery.post_id);
        auto posts = RefreshPosts(publishing, now, DeliveryStatus::kPublishing);
        std::vector<std::string> others;
        for (const auto& id : post_ids) {
            if (!posts.count(id)) others.push_back(id);
        }
        posts.merge(RefreshPosts(others, now));
        for (const size_t i : marked) {
            auto& c = out[i];
            const auto& [post_status, workspace_id] = posts.at(c.delivery.post_id);
            c.marked = app::DeliveryChange{workspace_id, c.delivery.post_id, post_status, c.delivery};
        }
        tx.Commit();
        return out;
    });
}

core::Result<std::vector<std::optional<app::DeliveryChange>>> SqliteStore::MarkPublishingBatch(
    const std::vector<std::string>& job_ids, core::TimePoint now) {
    return Locked("mark_publishing", [&]() -> core::Result<std::vector<std::optional<app::DeliveryChange>>> {
        // Full: this commit is the evidence that the posts may have been sent; it must outlive
        // a power cut, or a restart would send them again as if never tried.
        Transaction tx(*db_, Durability::kFull);
        std::unordered_map<std::string, std::pair<std::string, std::string>> running;  // job → (delivery, workspace)
        {
            Rows jobs(1);
            for (const auto& id : job_ids) jobs.Add({id});
            auto s = db_->Prepare(kPublishJobsOf);
            s.Bind(1, jobs);
            while (s.Step()) {
                if (s.Text(3) == "running") running.emplace(s.Text(0), std::make_pair(s.Text(1), s.Text(2)));
            }
        }
        std::unordered_map<std::string, domain::Delivery> marked;  // by delivery id
        if (!running.empty()) {
            Rows deliveries(1);
            for (const auto& [_, job] : running) deliveries.Add({job.first});
            auto s = db_->Prepare(kMarkDeliveries);
            s.Bind(1, deliveries).Bind(2, ToUnixMillis(now));
            while (s.Step()) {
                auto d = ReadDelivery(s);
                marked.emplace(d.id, std::move(d));
            }
        }
        std::vector<std::string> post_ids;
        for (const auto& [job_id, job] : running) {
            auto it = marked.find(job.first);
            // The delivery moved on without this job (cancelled, edited): the job is stale.
            if (it == marked.end()) {
                db_->Prepare(kDeleteJob).Bind(1, job_id).Run();
            } else {
                post_ids.push_back(it->second.post_id);
            }
        }
        const auto posts = RefreshPosts(post_ids, now);
        std::vector<std::optional<app::DeliveryChange>> out(job_ids.size());
        for (size_t i = 0; i < job_ids.size(); ++i) {
            auto job = running.find(job_ids[i]);
            if (job == running.end()) continue;
            auto d = marked.find(job->second.first);
            if (d == marked.end()) continue;
            const auto& [post_status, workspace_id] = posts.at(d->second.post_id);
            out[i] = app::DeliveryChange{workspace_id, d->second.post_id, post_status, d->second};
        }
        tx.Commit();
        return out;
    });
}

core::Result<std::vector<app::DeliveryChange>> SqliteStore::RecordOutcomes(const std::vector<Completion>& done,
                                                                           core::TimePoint now) {
    return Locked("record_outcomes", [&]() -> core::Result<std::vector<app::DeliveryChange>> {
        // Relaxed: an outcome lost to a power cut leaves its delivery publishing (that mark was
        // synced, or the platform drops a repeat), so the restart treats it as uncertain and
        // checks before anything is resent.
        Transaction tx(*db_, Durability::kRelaxed);
        const auto at = ToUnixMillis(now);
        struct JobOf {
            std::string delivery_id, workspace_id, account_id;
        };
        std::unordered_map<std::string, JobOf> jobs;  // by job id
        {
            Rows ids(1);
            for (const auto& c : done) ids.Add({c.job_id});
            auto s = db_->Prepare(kPublishJobsOf);
            s.Bind(1, ids);
            while (s.Step()) jobs.emplace(s.Text(0), JobOf{s.Text(1), s.Text(2), s.Text(4)});
        }
        Rows outcomes(7);         // delivery, status, remote id, url, error, next attempt, published at
        Rows finished(3);         // job, outcome, error
        Rows settle(1), drop(1);  // job: its permit counts, or is given back
        for (const auto& c : done) {
            const auto& job_id = c.job_id;
            const auto& o = c.outcome;
            if (c.permit) {
                // The platform may have the post: it counts. Otherwise (refused, failed before
                // sending, told to slow down) nothing was posted.
                const bool posted = o.status == DeliveryStatus::kPublished ||
                                    o.status == DeliveryStatus::kUnconfirmed ||
                                    (o.status == DeliveryStatus::kScheduled && o.uncertain);
                (posted ? settle : drop).Add({job_id});
            }
            auto it = jobs.find(job_id);
            if (it == jobs.end()) continue;  // gone with its post (deleted meanwhile)
            const JobOf& job = it->second;
            if (o.quota) {
                db_->Prepare(kUpsertQuota)
                    .Bind(1, job.account_id)
                    .Bind(2, ratelimit::ToString(ratelimit::Action::kPost))
                    .Bind(3, o.quota->remaining)
                    .Bind(4, ToUnixMillis(o.quota->resets_at))
                    .Run();
            }
            outcomes.Add({job.delivery_id, std::string(S(o.status)), Rows::Of(o.remote_id), Rows::Of(o.url),
                          Rows::Of(o.error), Rows::Of(OptMillis(o.next_attempt_at)),
                          o.status == DeliveryStatus::kPublished ? Rows::Cell(at) : Rows::Cell()});
            if (o.status == DeliveryStatus::kRateLimited && o.next_attempt_at) {
                // The platform said "not now": wait as long as it asked, without using an
                // attempt, and hold every post of the account back until then.
                const auto until = ToUnixMillis(*o.next_attempt_at);
                std::string reason = o.error.value_or("the platform asked Herald to slow down");
                if (const auto cut = reason.rfind("; will publish at "); cut != std::string::npos) reason.resize(cut);
                db_->Prepare(kDeferJob).Bind(1, job_id).Bind(2, until).Bind(3, o.error).Bind(4, at).Run();
                db_->Prepare(kUpsertHold)
                    .Bind(1, job.account_id)
                    .Bind(2, ratelimit::ToString(ratelimit::Action::kPost))
                    .Bind(3, until)
                    .Bind(4, reason)
                    .Run();
                db_->Prepare(kRefundAttempt).Bind(1, job.delivery_id).Run();
            } else if (o.status == DeliveryStatus::kScheduled && o.next_attempt_at) {
                db_->Prepare(kRetryJob)
                    .Bind(1, job_id)
                    .Bind(2, ToUnixMillis(*o.next_attempt_at))
                    .Bind(3, o.error)
                    .Bind(4, at)
                    .Bind(5, o.uncertain ? 1 : 0)
                    .Run();
            } else if (o.job_dead) {
                db_->Prepare(kKillJob).Bind(1, job_id).Bind(2, o.error).Bind(3, at).Run();
            } else {
                finished.Add({job_id, std::string(S(o.status)), Rows::Of(o.error)});
            }
        }
        if (!finished.empty()) {
            db_->Prepare(kJobsToHistory).Bind(1, finished).Bind(2, at).Run();
            db_->Prepare(kDeleteJobs).Bind(1, finished).Run();
        }
        if (!settle.empty()) db_->Prepare(kSettlePermits).Bind(1, settle).Bind(2, at).Run();
        if (!drop.empty()) db_->Prepare(kDropPermits).Bind(1, drop).Run();
        std::unordered_map<std::string, domain::Delivery> recorded;  // by delivery id
        std::vector<std::string> post_ids;
        if (!outcomes.empty()) {
            auto s = db_->Prepare(kRecordDeliveries);
            s.Bind(1, outcomes).Bind(2, at);
            while (s.Step()) {
                auto d = ReadDelivery(s);
                post_ids.push_back(d.post_id);
                recorded.emplace(d.id, std::move(d));
            }
        }
        const auto posts = RefreshPosts(post_ids, now);
        std::vector<app::DeliveryChange> out(done.size());
        for (size_t i = 0; i < done.size(); ++i) {
            auto job = jobs.find(done[i].job_id);
            if (job == jobs.end()) continue;
            auto d = recorded.find(job->second.delivery_id);
            if (d == recorded.end())
                throw DbError("delivery vanished inside a transaction: " + job->second.delivery_id);
            const auto& [post_status, workspace_id] = posts.at(d->second.post_id);
            out[i] = app::DeliveryChange{workspace_id, d->second.post_id, post_status, d->second};
        }
        tx.Commit();
        return out;
    });
}

namespace {

// The index of an action's column in per-action arrays; nullopt for a name Herald does not know.
std::optional<size_t> ActionIndex(std::string_view name) {
    const auto action = ratelimit::ParseAction(name);
    if (!action) return std::nullopt;
    return static_cast<size_t>(*action);
}

}  // namespace

std::optional<app::AccountPlanInput> SqliteStore::ReadPlanInput(const std::string& account_id, core::TimePoint now,
                                                                core::Millis in_flight, bool with_jobs) {
    app::AccountPlanInput in;
    {
        auto s = db_->Prepare(kPlanAccount);
        s.Bind(1, account_id);
        if (!s.Step()) return std::nullopt;
        in.account = ReadAccount(s);
        in.workspace_limits_json = s.Text(7);
    }
    const auto t = ToUnixMillis(now);
    const auto horizon = core::Millis(std::chrono::hours(24)) + in_flight;
    {
        auto s = db_->Prepare(kRateLogOf);
        s.Bind(1, account_id).Bind(2, t - horizon.count());
        while (s.Step()) {
            const auto k = ActionIndex(s.View(0));
            if (!k) continue;
            const auto at = FromUnixMillis(s.Int(1));
            // In flight counts as happening now, and once its time is up (its worker died) as
            // having happened at the latest moment it could have.
            in.logs[*k].push_back(s.Int(2) != 0 ? std::min(std::max(at, now), at + in_flight) : at);
        }
        for (auto& log : in.logs) std::sort(log.begin(), log.end());
    }
    {
        auto s = db_->Prepare(kRateHoldOf);
        s.Bind(1, account_id).Bind(2, t);
        while (s.Step()) {
            const auto k = ActionIndex(s.View(0));
            if (!k) continue;
            in.platform[*k].hold_until = FromUnixMillis(s.Int(1));
            in.platform[*k].hold_reason = s.Text(2);
        }
    }
    {
        auto s = db_->Prepare(kRateQuotaOf);
        s.Bind(1, account_id).Bind(2, t);
        while (s.Step()) {
            const auto k = ActionIndex(s.View(0));
            if (!k) continue;
            in.platform[*k].quota = ratelimit::Quota{static_cast<int>(s.Int(1)), FromUnixMillis(s.Int(2))};
        }
    }
    if (!with_jobs) return in;
    std::unordered_set<std::string> permitted;
    {
        auto s = db_->Prepare(kPendingPermitsOf);
        s.Bind(1, account_id);
        while (s.Step()) permitted.insert(s.Text(0));
    }
    {
        auto s = db_->Prepare(kWaitingJobsOf);
        s.Bind(1, account_id);
        while (s.Step()) {
            if (auto w = ReadWaiting(s, in.ids, permitted)) in.waiting.push_back(*w);
        }
    }
    return in;
}

// Above this many accounts, LoadPlanInputs reads the jobs in one pass over the table.
constexpr size_t kPlanScanAccounts = 32;

core::Result<std::vector<app::AccountPlanInput>> SqliteStore::LoadPlanInputs(
    const std::vector<std::string>& account_ids, core::TimePoint now, core::Millis in_flight) {
    return Locked("load_plan_inputs", [&]() -> core::Result<std::vector<app::AccountPlanInput>> {
        Transaction tx(*db_);
        // Many accounts: their jobs in one pass over the table instead of one index range each.
        const bool scan = account_ids.size() > kPlanScanAccounts;
        std::vector<app::AccountPlanInput> out;
        std::unordered_map<std::string_view, size_t> index;  // into account_ids, alive throughout
        for (const auto& id : account_ids) {
            if (auto in = ReadPlanInput(id, now, in_flight, !scan)) {
                index.emplace(id, out.size());
                out.push_back(std::move(*in));
            }
        }
        if (scan && !out.empty()) {
            std::unordered_set<std::string> permitted;
            {
                auto s = db_->Prepare(kAllPendingPermits);
                while (s.Step()) permitted.insert(s.Text(0));
            }
            // Rows come in table order, the accounts interleaved. Growing every account's list
            // as they come would copy each row several times into ever fresh memory: collect
            // them in one list sized by the table's row count, then give each account exactly
            // its share.
            std::vector<app::AccountPlanInput::Waiting> rows;
            std::vector<uint32_t> owner;
            {
                auto count = db_->Prepare(kCountJobs);
                if (count.Step()) {
                    rows.reserve(static_cast<size_t>(count.Int(0)));
                    owner.reserve(static_cast<size_t>(count.Int(0)));
                }
            }
            std::vector<size_t> share(out.size(), 0);
            auto s = db_->Prepare(kAllWaitingJobs);
            while (s.Step()) {
                auto it = index.find(s.View(8));
                if (it == index.end()) continue;
                if (auto w = ReadWaiting(s, out[it->second].ids, permitted)) {
                    rows.push_back(*w);
                    owner.push_back(static_cast<uint32_t>(it->second));
                    ++share[it->second];
                }
            }
            for (size_t a = 0; a < out.size(); ++a) out[a].waiting.reserve(share[a]);
            for (size_t i = 0; i < rows.size(); ++i) out[owner[i]].waiting.push_back(rows[i]);
        }
        tx.Commit();
        return out;
    });
}

core::Result<std::unordered_map<std::string, std::string>> SqliteStore::PostsOfDeliveries(
    const std::vector<std::string>& delivery_ids) {
    return Locked("posts_of_deliveries", [&]() -> core::Result<std::unordered_map<std::string, std::string>> {
        Rows ids(1);
        for (const auto& id : delivery_ids) ids.Add({id});
        std::unordered_map<std::string, std::string> out;
        auto s = db_->Prepare(kPostsOfDeliveries);
        s.Bind(1, ids);
        while (s.Step()) out.emplace(s.Text(0), s.Text(1));
        return out;
    });
}

core::Result<std::vector<app::PermitDecision>> SqliteStore::TakePermits(const std::vector<app::PermitRequest>& requests,
                                                                        core::TimePoint now, core::Millis in_flight) {
    return Locked("take_permits", [&]() -> core::Result<std::vector<app::PermitDecision>> {
        // Full: a permit is the record that a post is about to go out; a restart that forgot
        // it could let the next one through too early.
        Transaction tx(*db_, Durability::kFull);
        const auto t = ToUnixMillis(now);
        const auto horizon = core::Millis(std::chrono::hours(24)) + in_flight;
        std::vector<app::PermitDecision> out(requests.size());
        std::vector<std::pair<std::string, std::string>> keys;  // (account, action) touched, to trim
        std::vector<size_t> deferred;
        std::vector<std::string> post_ids;
        for (size_t i = 0; i < requests.size(); ++i) {
            const auto& r = requests[i];
            auto& decision = out[i];
            const auto job = LoadJob(r.job_id);
            if (!job || job->state != domain::JobState::kRunning) continue;  // gone: not ours to send
            db_->Prepare(kRetirePermits).Bind(1, r.job_id).Bind(2, t).Bind(3, in_flight.count()).Run();
            auto in = ReadPlanInput(r.account_id, now, in_flight);
            if (!in) continue;  // the account is gone
            // This job's slot in the account's plan, competing with every job not yet holding
            // a permit (paused ones wait for their resume and take no slot).
            std::vector<ratelimit::QueueItem> items;
            size_t mine = SIZE_MAX;
            for (const auto& w : in->waiting) {
                if (w.paused) continue;
                if (w.job_id == r.job_id) mine = items.size();
                items.push_back(ratelimit::QueueItem{w.due, w.rank, w.priority, w.job_id, w.demand});
            }
            if (mine == SIZE_MAX) continue;
            const auto slot = ratelimit::PlanQueue(app::KeysOf(*in, r.limits), now, items)[mine];
            if (slot.at == ratelimit::kNever) {
                decision.kind = app::PermitDecision::Kind::kRefused;
                decision.reason = app::NeverReason(slot, r.limits, items[mine].demand);
                continue;
            }
            if (slot.at <= now) {
                // A permit for each action it performs: its post, its replies, its comment.
                for (size_t k = 0; k < ratelimit::kActions.size(); ++k) {
                    const int n = items[mine].demand[k];
                    if (n <= 0) continue;
                    const std::string action(ratelimit::ToString(ratelimit::kActions[k]));
                    for (int m = 0; m < n; ++m) {
                        db_->Prepare(kInsertPermit)
                            .Bind(1, r.account_id)
                            .Bind(2, action)
                            .Bind(3, t)
                            .Bind(4, r.job_id)
                            .Run();
                    }
                    db_->Prepare(kSpendQuota).Bind(1, r.account_id).Bind(2, action).Bind(3, t).Bind(4, n).Run();
                    keys.emplace_back(r.account_id, action);
                }
                decision.kind = app::PermitDecision::Kind::kGranted;
                decision.at = now;
                continue;
            }
            decision.kind = app::PermitDecision::Kind::kDeferred;
            decision.at = slot.at;
            decision.reason = app::WaitReason(in->platform, slot, r.limits);
            const std::string text = decision.reason + "; will publish at " + domain::FormatRfc3339(slot.at);
            db_->Prepare(kDeferJob).Bind(1, r.job_id).Bind(2, ToUnixMillis(slot.at)).Bind(3, text).Bind(4, t).Run();
            db_->Prepare(kDeferDelivery)
                .Bind(1, job->delivery_id)
                .Bind(2, text)
                .Bind(3, ToUnixMillis(slot.at))
                .Bind(4, t)
                .Run();
            decision.change = ChangeFor(job->delivery_id);
            decision.change->workspace_id = job->workspace_id;
            post_ids.push_back(decision.change->post_id);
            deferred.push_back(i);
        }
        const auto posts = RefreshPosts(post_ids, now);
        for (const size_t i : deferred) {
            auto& change = *out[i].change;
            change.post_status = posts.at(change.post_id).first;
        }
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
        for (const auto& [account, action] : keys) {
            // The log stays bounded: a day and a little of actions per key.
            db_->Prepare(kTrimRateLog).Bind(1, account).Bind(2, action).Bind(3, t - horizon.count()).Run();
        }
        tx.Commit();
        return out;
    });
}

core::Status SqliteStore::ExtendLeases(const std::vector<std::string>& job_ids, core::TimePoint until) {
    return Locked("extend_leases", [&]() -> core::Status {
        Transaction tx(*db_);
        for (const auto& id : job_ids) db_->Prepare(kExtendLease).Bind(1, id).Bind(2, ToUnixMillis(until)).Run();
        tx.Commit();
        return {};
    });
}

core::Result<app::DeliveryChange> SqliteStore::ReleaseJob(const std::string& job_id, core::TimePoint now) {
    return Locked("release_job", [&]() -> core::Result<app::DeliveryChange> {
        Transaction tx(*db_);
        const auto job = LoadJob(job_id);
        if (!job) return Fail(ErrorCode::kNotFound, "job not found", {{"job_id", job_id}});
        const std::string& delivery_id = job->delivery_id;
        const std::string& workspace_id = job->workspace_id;
        db_->Prepare(kReleaseJob).Bind(1, job_id).Bind(2, ToUnixMillis(now)).Run();
        if (job->kind != domain::JobKind::kPublish) {
            tx.Commit();
            return app::DeliveryChange{};  // a task: no delivery to hand back
        }
        auto change = ChangeFor(delivery_id);
        // Publishing too: a claim may mark a delivery, and the caller vouches it was not sent.
        if (change.delivery.status == DeliveryStatus::kQueued ||
            change.delivery.status == DeliveryStatus::kPublishing) {
            db_->Prepare(kSetDeliveryOutcome)
                .Bind(1, delivery_id)
                .Bind(2, S(DeliveryStatus::kScheduled))
                .BindNull(3)
                .BindNull(4)
                .Bind(5, change.delivery.error)
                .Bind(6, OptMillis(change.delivery.next_attempt_at))
                .BindNull(7)
                .Bind(8, ToUnixMillis(now))
                .Run();
            change = ChangeFor(delivery_id);
        }
        change.workspace_id = workspace_id;
        change.post_status = RefreshPostStatus(change.post_id, now);
        tx.Commit();
        return change;
    });
}

core::Result<std::vector<app::DeliveryChange>> SqliteStore::RescueExpiredLeases(core::TimePoint now) {
    return Rescue(now, now);
}

core::Result<std::vector<app::DeliveryChange>> SqliteStore::RescueAllLeases(core::TimePoint now) {
    return Rescue(now, core::TimePoint::max());
}

core::Result<std::vector<app::DeliveryChange>> SqliteStore::Rescue(core::TimePoint now,
                                                                   core::TimePoint expired_before) {
    return Locked("rescue_leases", [&]() -> core::Result<std::vector<app::DeliveryChange>> {
        Transaction tx(*db_);
        std::vector<std::string> job_ids;
        {
            auto s = db_->Prepare(kExpiredLeases);
            s.Bind(1, ToUnixMillis(expired_before));
            while (s.Step()) job_ids.push_back(s.Text(0));
        }
        std::vector<app::DeliveryChange> out;
        for (const auto& job_id : job_ids) {
            domain::Job job;
            {
                auto s = db_->Prepare(kJobById);
                s.Bind(1, job_id);
                if (!s.Step()) continue;
                job = ReadJob(s);
            }
            if (job.kind != domain::JobKind::kPublish) {
                RescueTask(job, now);
                continue;
            }
            auto change = ChangeFor(job.delivery_id);
            if (change.delivery.status == DeliveryStatus::kPublishing) {
                // The platform call may have gone through. Run it again, now, marked uncertain:
                // the dispatcher then resends only if the platform deduplicates, looks first if
                // it can, and otherwise marks the delivery unconfirmed without sending.
                const std::string why = "Herald stopped while this post was being sent; checking before trying again";
                db_->Prepare(kSetDeliveryOutcome)
                    .Bind(1, job.delivery_id)
                    .Bind(2, S(DeliveryStatus::kScheduled))
                    .BindNull(3)
                    .BindNull(4)
                    .Bind(5, why)
                    .BindNull(6)
                    .BindNull(7)
                    .Bind(8, ToUnixMillis(now))
                    .Run();
                db_->Prepare(kRequeueUncertain).Bind(1, job_id).Bind(2, ToUnixMillis(now)).Bind(3, why).Run();
            } else {
                // Claimed but never sent: safe to run again.
                db_->Prepare(kReleaseJob).Bind(1, job_id).Bind(2, ToUnixMillis(now)).Run();
                if (change.delivery.status == DeliveryStatus::kQueued) {
                    db_->Prepare(kSetDeliveryOutcome)
                        .Bind(1, job.delivery_id)
                        .Bind(2, S(DeliveryStatus::kScheduled))
                        .BindNull(3)
                        .BindNull(4)
                        .Bind(5, change.delivery.error)
                        .BindNull(6)
                        .BindNull(7)
                        .Bind(8, ToUnixMillis(now))
                        .Run();
                }
            }
            change = ChangeFor(job.delivery_id);
            change.workspace_id = job.workspace_id;
            change.post_status = RefreshPostStatus(change.post_id, now);
            out.push_back(std::move(change));
        }
        tx.Commit();
        return out;
    });
}

core::Result<core::Millis> SqliteStore::OldestDueAge(core::TimePoint now) {
    return Locked("oldest_due", [&]() -> core::Result<core::Millis> {
        auto first = FirstPendingDue();
        {
            auto s = db_->Prepare(kOldestClaimedUnsent);
            if (s.Step() && !s.IsNull(0) && (!first || s.Int(0) < *first)) first = s.Int(0);
        }
        if (first && *first <= ToUnixMillis(now)) return core::Millis(ToUnixMillis(now) - *first);
        return core::Millis(0);
    });
}

// ---- tasks ----------------------------------------------------------------------------------

void SqliteStore::RescueTask(const domain::Job& job, core::TimePoint now) {
    // A task's worker died (or the process stopped) while it ran: we cannot tell how far it
    // got. Handlers are written to be run again, so it is retried, and the attempt counts, so a
    // task that keeps killing its worker ends dead instead of looping.
    if (job.attempts >= job.max_attempts) {
        const std::string why =
            "the worker running it stopped before it finished, " + std::to_string(job.attempts) + " time(s); gave up";
        db_->Prepare(kKillJob).Bind(1, job.id).Bind(2, why).Bind(3, ToUnixMillis(now)).Run();
        spdlog::error("event=task_dead job_id={} kind={} attempts={} reason=lease_expired", job.id,
                      domain::ToString(job.kind), job.attempts);
        return;
    }
    const std::string why = "the worker running it stopped before it finished; running it again";
    db_->Prepare(kRetryJob)
        .Bind(1, job.id)
        .Bind(2, ToUnixMillis(now))
        .Bind(3, why)
        .Bind(4, ToUnixMillis(now))
        .Bind(5, 0)
        .Run();
    spdlog::warn("event=task_lease_expired job_id={} kind={} attempts={}", job.id, domain::ToString(job.kind),
                 job.attempts);
}

core::Result<bool> SqliteStore::EnqueueTask(const app::NewTask& t, core::TimePoint now) {
    if (t.kind == domain::JobKind::kPublish) {
        return Fail(ErrorCode::kInvalidArgument, "publish jobs come from posts, not from EnqueueTask");
    }
    if (t.id.empty() || t.priority < domain::kMinPriority || t.priority > domain::kMaxPriority || t.max_attempts < 1) {
        return Fail(ErrorCode::kInvalidArgument, "a task needs an id, a priority 1-10 and at least one attempt");
    }
    return Locked("enqueue_task", [&]() -> core::Result<bool> {
        const int n = db_->Prepare(kInsertTask)
                          .Bind(1, t.id)
                          .Bind(2, domain::ToString(t.kind))
                          .Bind(3, t.workspace_id)
                          .Bind(4, t.priority)
                          .Bind(5, t.max_attempts)
                          .Bind(6, ToUnixMillis(t.due_at))
                          .Bind(7, t.payload)
                          .Bind(8, ToUnixMillis(now))
                          .Run();
        return n == 1;
    });
}

core::Result<bool> SqliteStore::CompleteTask(const std::string& job_id, int attempt, const app::TaskOutcome& o,
                                             core::TimePoint now) {
    using Kind = app::TaskOutcome::Kind;
    return Locked("complete_task", [&]() -> core::Result<bool> {
        Transaction tx(*db_);
        const auto job = LoadJob(job_id);
        // Fenced by the attempt number: a worker whose lease ran out must not overwrite the
        // attempt of whoever took the job over.
        if (!job || job->kind == domain::JobKind::kPublish || job->state != domain::JobState::kRunning ||
            job->attempts != attempt) {
            return false;
        }
        switch (o.kind) {
            case Kind::kDone:
                db_->Prepare(kTaskToHistory).Bind(1, job_id).Bind(2, ToUnixMillis(now)).Run();
                db_->Prepare(kDeleteJob).Bind(1, job_id).Run();
                break;
            case Kind::kRetry:
                db_->Prepare(kRetryJob)
                    .Bind(1, job_id)
                    .Bind(2, ToUnixMillis(o.retry_at.value_or(now)))
                    .Bind(3, o.error)
                    .Bind(4, ToUnixMillis(now))
                    .Bind(5, 0)
                    .Run();
                break;
            case Kind::kDead:
                db_->Prepare(kKillJob).Bind(1, job_id).Bind(2, o.error).Bind(3, ToUnixMillis(now)).Run();
                break;
        }
        tx.Commit();
        return true;
    });
}

core::Result<std::optional<app::JobRecord>> SqliteStore::FindJob(const std::string& job_id) {
    return Locked("find_job", [&]() -> core::Result<std::optional<app::JobRecord>> {
        {
            auto s = db_->Prepare(kJobById);
            s.Bind(1, job_id);
            if (s.Step()) {
                app::JobRecord r;
                r.job = ReadJob(s);
                r.account_id = s.Text(12);
                r.last_error = s.OptText(13);
                r.created_at = FromUnixMillis(s.Int(14));
                r.updated_at = FromUnixMillis(s.Int(15));
                return std::optional<app::JobRecord>(std::move(r));
            }
        }
        auto s = db_->Prepare(kHistoryById);
        s.Bind(1, job_id);
        if (!s.Step()) return std::optional<app::JobRecord>{};
        app::JobRecord r;
        r.job.id = s.Text(0);
        r.job.kind = ParseKind(s.Text(1));
        r.job.workspace_id = s.Text(2);
        r.job.delivery_id = s.Text(3);
        r.account_id = s.Text(4);
        r.outcome = s.Text(5);
        r.job.state = domain::JobState::kDone;
        r.job.priority = static_cast<int>(s.Int(6));
        r.job.attempts = static_cast<int>(s.Int(7));
        r.job.due_at = FromUnixMillis(s.Int(8));
        r.last_error = s.OptText(9);
        r.created_at = FromUnixMillis(s.Int(10));
        r.updated_at = FromUnixMillis(s.Int(11));
        return std::optional<app::JobRecord>(std::move(r));
    });
}

// ---- periodic schedules ---------------------------------------------------------------------

namespace {}  // namespace

std::optional<domain::PeriodicSchedule> SqliteStore::LoadPeriodic(const std::string& name) {
    auto s = db_->Prepare(kPeriodicByName);
    s.Bind(1, name);
    if (!s.Step()) return std::nullopt;
    return ReadPeriodic(s);
}

core::Result<domain::PeriodicSchedule> SqliteStore::UpsertPeriodic(const domain::PeriodicSchedule& p,
                                                                   core::TimePoint first_run_at, core::TimePoint now) {
    if (auto ok = domain::CheckSchedule(p); !ok) return tl::unexpected(ok.error());
    return Locked("upsert_periodic", [&]() -> core::Result<domain::PeriodicSchedule> {
        Transaction tx(*db_);
        db_->Prepare(kUpsertPeriodic)
            .Bind(1, p.name)
            .Bind(2, domain::ToString(p.kind))
            .Bind(3, p.cron)
            .Bind(4, p.time_zone)
            .Bind(5, p.priority)
            .Bind(6, p.max_attempts)
            .Bind(7, p.enabled ? 1 : 0)
            .Bind(8, ToUnixMillis(first_run_at))
            .Bind(9, ToUnixMillis(now))
            .Run();
        auto stored = LoadPeriodic(p.name);
        tx.Commit();
        return *stored;
    });
}

core::Result<std::vector<domain::PeriodicSchedule>> SqliteStore::ListPeriodic() {
    return Locked("list_periodic", [&]() -> core::Result<std::vector<domain::PeriodicSchedule>> {
        auto s = db_->Prepare(kListPeriodic);
        std::vector<domain::PeriodicSchedule> out;
        while (s.Step()) out.push_back(ReadPeriodic(s));
        return out;
    });
}

core::Result<bool> SqliteStore::ClaimPeriodicTick(const app::PeriodicTick& t, core::TimePoint now) {
    return Locked("claim_periodic_tick", [&]() -> core::Result<bool> {
        Transaction tx(*db_);
        const int moved = db_->Prepare(kAdvancePeriodic)
                              .Bind(1, t.name)
                              .Bind(2, OptMillis(t.expected_next_run_at))
                              .Bind(3, ToUnixMillis(t.next_run_at))
                              .Bind(4, OptMillis(t.tick))
                              .Bind(5, ToUnixMillis(now))
                              .Run();
        if (moved == 0) return false;  // another process got there first (or it was disabled)
        bool queued = true;
        if (t.tick) {
            const std::string payload = nlohmann::json{{"schedule", t.name}, {"tick", ToUnixMillis(*t.tick)}}.dump();
            queued = db_->Prepare(kInsertTickJob)
                         .Bind(1, domain::PeriodicJobId(t.name, *t.tick))
                         .Bind(2, t.name)
                         .Bind(3, ToUnixMillis(now))
                         .Bind(4, payload)
                         .Run() == 1;
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

core::Result<domain::PeriodicSchedule> SqliteStore::UpdatePeriodic(const app::PeriodicUpdate& u, core::TimePoint now) {
    return Locked("update_periodic", [&]() -> core::Result<domain::PeriodicSchedule> {
        Transaction tx(*db_);
        auto current = LoadPeriodic(u.name);
        if (!current) return Fail(ErrorCode::kNotFound, "no periodic job is named '" + u.name + "'");
        auto next = *current;
        if (u.cron) next.cron = *u.cron;
        if (u.time_zone) next.time_zone = *u.time_zone;
        if (u.enabled) next.enabled = *u.enabled;
        if (auto ok = domain::CheckSchedule(next); !ok) return tl::unexpected(ok.error());
        db_->Prepare(kUpdatePeriodic)
            .Bind(1, u.name)
            .Bind(2, next.cron)
            .Bind(3, next.time_zone)
            .Bind(4, next.enabled ? 1 : 0)
            .Bind(5, ToUnixMillis(now))
            .Run();
        auto stored = LoadPeriodic(u.name);
        tx.Commit();
        return *stored;
    });
}

// ---- maintenance ----------------------------------------------------------------------------

core::Result<int> SqliteStore::PurgeHistory(core::TimePoint before, int limit) {
    return Locked("purge_history", [&]() -> core::Result<int> {
        return db_->Prepare(kPurgeHistory).Bind(1, ToUnixMillis(before)).Bind(2, limit).Run();
    });
}

core::Result<int> SqliteStore::PurgeDeadTasks(core::TimePoint before, int limit) {
    return Locked("purge_dead_tasks", [&]() -> core::Result<int> {
        return db_->Prepare(kPurgeDeadTasks).Bind(1, ToUnixMillis(before)).Bind(2, limit).Run();
    });
}

core::Result<int> SqliteStore::PurgeRefreshTokens(core::TimePoint now, int limit) {
    return Locked("purge_refresh_tokens", [&]() -> core::Result<int> {
        return db_->Prepare(kPurgeRefreshTokens).Bind(1, ToUnixMillis(now)).Bind(2, limit).Run();
    });
}

core::Result<app::StalledWork> SqliteStore::FindStalledWork(core::TimePoint now, core::Millis lag, int limit) {
    return Locked("find_stalled_work", [&]() -> core::Result<app::StalledWork> {
        app::StalledWork out;
        const int64_t cutoff = ToUnixMillis(now - lag);
        // One index range per priority (jobs_claim), as the claim reads it.
        for (int priority = domain::kMaxPriority; priority >= domain::kMinPriority; --priority) {
            auto s = db_->Prepare(kOverdueAtPriority);
            s.Bind(1, priority).Bind(2, cutoff).Bind(3, limit);
            while (s.Step()) {
                out.overdue_jobs.push_back(app::StalledJob{s.Text(0), ParseKind(s.Text(1)), s.Text(2),
                                                           FromUnixMillis(s.Int(3)), static_cast<int>(s.Int(4))});
            }
        }
        std::sort(out.overdue_jobs.begin(), out.overdue_jobs.end(),
                  [](const app::StalledJob& a, const app::StalledJob& b) { return a.due_at < b.due_at; });
        if (static_cast<int>(out.overdue_jobs.size()) > limit) out.overdue_jobs.resize(static_cast<size_t>(limit));
        auto s = db_->Prepare(kStuckPublishing);
        s.Bind(1, cutoff).Bind(2, limit);
        while (s.Step()) {
            app::StalledDelivery d;
            d.delivery_id = s.Text(0);
            d.post_id = s.Text(1);
            d.account_id = s.Text(2);
            d.publishing_since = FromUnixMillis(s.Int(3));
            d.job_id = s.OptText(4);
            if (auto state = s.OptText(5)) d.job_state = domain::ParseJobState(*state);
            d.lease_until = OptTime(s.OptInt(6));
            out.stuck_deliveries.push_back(std::move(d));
        }
        return out;
    });
}

// ---- sandbox --------------------------------------------------------------------------------

// The sandbox stands in for a platform's own servers, so it keeps its posts in a database file
// of its own (`<database>-sandbox`) with its own lock: a publish to it no longer queues behind
// Herald's claims and outcomes, as a call to a real platform would not. Versions before this
// kept them in the main file's sandbox_posts table; the first open copies those over.
constexpr const char* kSandboxSchema = R"SQL(
CREATE TABLE IF NOT EXISTS sandbox_posts (
    remote_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    text TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sandbox_posts_by_key ON sandbox_posts(account_id, idempotency_key);
)SQL";

void SqliteStore::OpenSandbox() {
    auto opened = Db::Open(sandbox_path_);
    if (!opened) throw DbError("cannot open the sandbox database: " + opened.error().message);
    auto db = std::move(*opened);
    // The schema and the copy of an older version's posts commit together, and user_version
    // says they did: a copy that failed half-way is simply done again on the next open.
    const bool copy = !main_path_.empty() && main_path_ != ":memory:";
    if (copy) {
        // ATTACH cannot run inside a transaction. It reads the main file through this
        // connection (WAL: beside the store's writer).
        auto attach = db->Prepare(Sql{"sandbox_attach_main", "ATTACH DATABASE ?1 AS herald_main"});
        attach.Bind(1, main_path_);
        attach.Run();
    }
    {
        Transaction tx(*db);
        int version = 0;
        {
            auto s = db->Prepare(Sql{"sandbox_user_version", "PRAGMA main.user_version"});
            if (s.Step()) version = static_cast<int>(s.Int(0));
        }
        if (version < 1) {
            db->Exec(kSandboxSchema);
            if (copy) {
                db->Exec(
                    "INSERT OR IGNORE INTO main.sandbox_posts SELECT remote_id, account_id, text, idempotency_key, "
                    "created_at FROM herald_main.sandbox_posts");
            }
            db->Exec("PRAGMA main.user_version = 1");
        }
        if (version < 2) {
            // Threads and comments: what each stored item is, and what it answers.
            db->Exec(
                "ALTER TABLE main.sandbox_posts ADD COLUMN kind TEXT NOT NULL DEFAULT 'post'; "
                "ALTER TABLE main.sandbox_posts ADD COLUMN parent TEXT; PRAGMA main.user_version = 2");
        }
        tx.Commit();
    }
    if (copy) db->Exec("DETACH DATABASE herald_main");
    sandbox_ = std::move(db);
}

core::Result<app::SandboxPost> SqliteStore::SandboxInsert(const app::SandboxPost& p, bool deduplicate) {
    return SandboxLocked("sandbox_insert", [&]() -> core::Result<app::SandboxPost> {
        Transaction tx(*sandbox_);
        if (deduplicate) {
            auto s = sandbox_->Prepare(kSandboxByKey);
            s.Bind(1, p.account_id).Bind(2, p.idempotency_key);
            if (s.Step()) return ReadSandbox(s);
        }
        sandbox_->Prepare(kSandboxInsert)
            .Bind(1, p.remote_id)
            .Bind(2, p.account_id)
            .Bind(3, p.text)
            .Bind(4, p.idempotency_key)
            .Bind(5, ToUnixMillis(p.created_at))
            .Bind(6, p.kind)
            .Bind(7, p.parent)
            .Run();
        tx.Commit();
        return p;
    });
}

core::Result<std::vector<app::SandboxPost>> SqliteStore::SandboxInsertBatch(const std::vector<app::SandboxPost>& posts,
                                                                            const std::vector<bool>& deduplicate) {
    return SandboxLocked("sandbox_insert_batch", [&]() -> core::Result<std::vector<app::SandboxPost>> {
        // The sandbox stands in for a platform's own servers; its writes are not Herald's records
        // and need not be synced before the answer (they survive a crash of the process).
        Transaction tx(*sandbox_, Durability::kRelaxed);
        const auto dedupes = [&](size_t i) { return i < deduplicate.size() && deduplicate[i]; };
        // What a deduplicating request already finds stored: the first post with its key.
        std::vector<std::optional<app::SandboxPost>> found(posts.size());
        Rows keys(3);
        for (size_t i = 0; i < posts.size(); ++i) {
            if (dedupes(i)) keys.Add({static_cast<int64_t>(i), posts[i].account_id, posts[i].idempotency_key});
        }
        if (!keys.empty()) {
            auto s = sandbox_->Prepare(kSandboxFindKeys);
            s.Bind(1, keys);
            while (s.Step()) {
                auto& f = found[static_cast<size_t>(s.Int(0))];
                app::SandboxPost p{s.Text(1), s.Text(2),   s.Text(3), s.Text(4), FromUnixMillis(s.Int(5)),
                                   s.Text(6), s.OptText(7)};
                if (!f || std::tie(p.created_at, p.remote_id) < std::tie(f->created_at, f->remote_id)) f = std::move(p);
            }
        }
        std::vector<app::SandboxPost> out;
        out.reserve(posts.size());
        Rows inserts(7);
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
            inserts.Add({p.remote_id, p.account_id, p.text, p.idempotency_key, ToUnixMillis(p.created_at), p.kind,
                         p.parent ? Rows::Cell(*p.parent) : Rows::Cell()});
            out.push_back(p);
        }
        if (!inserts.empty()) sandbox_->Prepare(kSandboxInsertRows).Bind(1, inserts).Run();
        tx.Commit();
        return out;
    });
}

core::Result<std::optional<app::SandboxPost>> SqliteStore::SandboxFind(const std::string& account_id,
                                                                       const std::string& idempotency_key) {
    return SandboxLocked("sandbox_find", [&]() -> core::Result<std::optional<app::SandboxPost>> {
        auto s = sandbox_->Prepare(kSandboxByKey);
        s.Bind(1, account_id).Bind(2, idempotency_key);
        if (!s.Step()) return std::optional<app::SandboxPost>{};
        return std::optional<app::SandboxPost>(ReadSandbox(s));
    });
}

core::Result<domain::Post> SqliteStore::ResolveDelivery(const std::string& workspace_id, const std::string& post_id,
                                                        const std::string& delivery_id,
                                                        const app::DeliveryResolution& r, core::TimePoint now) {
    return Locked("resolve_delivery", [&]() -> core::Result<domain::Post> {
        using Action = app::DeliveryResolution::Action;
        Transaction tx(*db_);
        auto post = LoadPost(workspace_id, post_id);
        if (!post) return Fail(ErrorCode::kNotFound, "post not found", {{"post_id", post_id}});
        const domain::Delivery* d = nullptr;
        for (const auto& x : post->deliveries) {
            if (x.id == delivery_id) d = &x;
        }
        if (d == nullptr) return Fail(ErrorCode::kNotFound, "delivery not found", {{"delivery_id", delivery_id}});
        const auto target = r.action == Action::kRetry ? DeliveryStatus::kScheduled : DeliveryStatus::kPublished;
        const bool allowed = r.action == Action::kRetry
                                 ? (d->status == DeliveryStatus::kFailed || d->status == DeliveryStatus::kUnconfirmed)
                                 : d->status == DeliveryStatus::kUnconfirmed;
        if (!allowed || !domain::CanTransition(d->status, target)) {
            return Fail(ErrorCode::kFailedPrecondition,
                        std::string("this delivery is ") + std::string(domain::ToString(d->status)) +
                            (r.action == Action::kRetry ? "; only failed or unconfirmed deliveries can be retried"
                                                        : "; only unconfirmed deliveries can be marked as published"),
                        {{"status", S(d->status)}, {"delivery_id", delivery_id}});
        }
        db_->Prepare(kDeleteJobsOfDelivery).Bind(1, delivery_id).Run();
        if (r.action == Action::kRetry) {
            db_->Prepare(kSetDeliveryOutcome)
                .Bind(1, delivery_id)
                .Bind(2, S(DeliveryStatus::kScheduled))
                .BindNull(3)
                .BindNull(4)
                .BindNull(5)
                .BindNull(6)
                .BindNull(7)
                .Bind(8, ToUnixMillis(now))
                .Run();
            db_->Prepare(kResetAttempts).Bind(1, delivery_id).Run();
            db_->Prepare(kInsertJobDue)
                .Bind(1, core::NewId(now))
                .Bind(2, workspace_id)
                .Bind(3, delivery_id)
                .Bind(4, options_.publish_max_attempts)
                .Bind(5, ToUnixMillis(now))
                .Run();
        } else {
            db_->Prepare(kSetDeliveryOutcome)
                .Bind(1, delivery_id)
                .Bind(2, S(DeliveryStatus::kPublished))
                .Bind(3, r.remote_id)
                .Bind(4, r.url)
                .BindNull(5)
                .BindNull(6)
                .Bind(7, ToUnixMillis(now))
                .Bind(8, ToUnixMillis(now))
                .Run();
        }
        RefreshPostStatus(post_id, now);
        auto out = LoadPost(workspace_id, post_id);
        tx.Commit();
        return *out;
    });
}

core::Result<std::vector<app::SandboxPost>> SqliteStore::SandboxList(const std::string& account_id) {
    return SandboxLocked("sandbox_list", [&]() -> core::Result<std::vector<app::SandboxPost>> {
        auto s = sandbox_->Prepare(kSandboxList);
        s.Bind(1, account_id);
        std::vector<app::SandboxPost> out;
        while (s.Step()) out.push_back(ReadSandbox(s));
        return out;
    });
}

// ---- operating the queue ----------------------------------------------------------------------

namespace {

// Filters shared by the live and the finished listing: ?1 workspace, ?2 state, ?3 kind,
// ?4 account, ?5 platform, ?6 cursor, ?7 limit.
constexpr Sql kListLiveJobs{
    "list_live_jobs",
    "SELECT j.id, j.kind, j.state, NULL, j.workspace_id, j.delivery_id, d.post_id, j.account_id, a.platform, "
    "j.priority, j.attempts, j.max_attempts, j.due_at, j.lease_until, j.last_error, j.uncertain, j.created_at, "
    "j.updated_at FROM jobs j LEFT JOIN deliveries d ON d.id = j.delivery_id "
    "LEFT JOIN accounts a ON a.id = j.account_id "
    "WHERE (?1 IS NULL OR j.workspace_id = ?1) AND (?2 IS NULL OR j.state = ?2) AND (?3 IS NULL OR j.kind = ?3) "
    "AND (?4 IS NULL OR j.account_id = ?4) AND (?5 IS NULL OR a.platform = ?5) AND (?6 IS NULL OR j.id < ?6) "
    "ORDER BY j.id DESC LIMIT ?7"};
constexpr Sql kListFinishedJobs{
    "list_finished_jobs",
    "SELECT j.id, j.kind, 'done', j.outcome, j.workspace_id, j.delivery_id, d.post_id, j.account_id, a.platform, "
    "j.priority, j.attempts, j.attempts, j.due_at, NULL, j.last_error, 0, j.created_at, j.finished_at "
    "FROM job_history j LEFT JOIN deliveries d ON d.id = j.delivery_id "
    "LEFT JOIN accounts a ON a.id = j.account_id "
    "WHERE (?1 IS NULL OR j.workspace_id = ?1) AND (?2 IS NULL OR ?2 = 'done') AND (?3 IS NULL OR j.kind = ?3) "
    "AND (?4 IS NULL OR j.account_id = ?4) AND (?5 IS NULL OR a.platform = ?5) AND (?6 IS NULL OR j.id < ?6) "
    "ORDER BY j.id DESC LIMIT ?7"};
constexpr Sql kLiveJobView{
    "live_job_view",
    "SELECT j.id, j.kind, j.state, NULL, j.workspace_id, j.delivery_id, d.post_id, j.account_id, a.platform, "
    "j.priority, j.attempts, j.max_attempts, j.due_at, j.lease_until, j.last_error, j.uncertain, j.created_at, "
    "j.updated_at FROM jobs j LEFT JOIN deliveries d ON d.id = j.delivery_id "
    "LEFT JOIN accounts a ON a.id = j.account_id WHERE j.id = ?1 AND (?2 IS NULL OR j.workspace_id = ?2)"};
constexpr Sql kFinishedJobView{
    "finished_job_view",
    "SELECT j.id, j.kind, 'done', j.outcome, j.workspace_id, j.delivery_id, d.post_id, j.account_id, a.platform, "
    "j.priority, j.attempts, j.attempts, j.due_at, NULL, j.last_error, 0, j.created_at, j.finished_at "
    "FROM job_history j LEFT JOIN deliveries d ON d.id = j.delivery_id "
    "LEFT JOIN accounts a ON a.id = j.account_id WHERE j.id = ?1 AND (?2 IS NULL OR j.workspace_id = ?2)"};
constexpr Sql kRequeueDeadJob{"requeue_dead_job",
                              "UPDATE jobs SET state = 'pending', attempts = 0, due_at = ?2, rank_at = NULL, "
                              "lease_until = NULL, "
                              "last_error = NULL, updated_at = ?2 WHERE id = ?1 AND state = 'dead'"};
constexpr Sql kRescheduleDelivery{"reschedule_delivery",
                                  "UPDATE deliveries SET status = 'scheduled', attempts = 0, error = NULL, "
                                  "next_attempt_at = NULL, updated_at = ?2 WHERE id = ?1"};
constexpr Sql kCancelDelivery{"cancel_delivery",
                              "UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL, updated_at = ?2 "
                              "WHERE id = ?1"};
constexpr Sql kJobsOfDeliveryToHistory{
    "jobs_of_delivery_to_history",
    "INSERT OR REPLACE INTO job_history(id, kind, workspace_id, delivery_id, account_id, outcome, priority, "
    "attempts, due_at, last_error, created_at, finished_at) "
    "SELECT id, kind, workspace_id, delivery_id, account_id, 'cancelled', priority, attempts, due_at, last_error, "
    "created_at, ?2 FROM jobs WHERE delivery_id = ?1"};

constexpr Sql kInsertPause{"insert_pause",
                           "INSERT INTO pauses(id, workspace_id, account_id, platform, reason, created_by, "
                           "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING"};
constexpr Sql kPauseByScope{"pause_by_scope",
                            "SELECT id, workspace_id, account_id, platform, reason, created_by, created_at "
                            "FROM pauses WHERE workspace_id IS ?1 AND account_id IS ?2 AND platform IS ?3"};
constexpr Sql kDeletePause{"delete_pause",
                           "DELETE FROM pauses WHERE workspace_id IS ?1 AND account_id IS ?2 AND platform IS ?3"};
constexpr Sql kListPauses{"list_pauses",
                          "SELECT id, workspace_id, account_id, platform, reason, created_by, created_at FROM pauses "
                          "WHERE ?1 IS NULL OR workspace_id = ?1 OR workspace_id IS NULL ORDER BY created_at, id"};
// ?1 workspace, ?2 account, ?3 platform: NULL matches everything.
#define HERALD_SCOPE_MATCH                                                                   \
    "(?1 IS NULL OR workspace_id = ?1) AND (?2 IS NULL OR account_id = ?2) AND (?3 IS NULL " \
    "OR account_id IN (SELECT id FROM accounts WHERE platform = ?3))"
constexpr Sql kPauseJobs{"pause_jobs",
                         "UPDATE jobs SET state = 'paused', updated_at = ?4 WHERE state = 'pending' AND "
                         "kind = 'publish' AND " HERALD_SCOPE_MATCH};
constexpr Sql kResumeJobs{"resume_jobs",
                          "UPDATE jobs SET state = 'pending', updated_at = ?4 WHERE state = 'paused' AND "
                          "kind = 'publish' AND " HERALD_SCOPE_MATCH};
constexpr Sql kCountPaused{"count_paused", "SELECT COUNT(*) FROM jobs WHERE state = 'paused' AND " HERALD_SCOPE_MATCH};
#undef HERALD_SCOPE_MATCH

constexpr Sql kCountByState{"count_jobs_by_state",
                            "SELECT state, COUNT(*) FROM jobs WHERE ?1 IS NULL OR workspace_id = ?1 GROUP BY state"};
constexpr Sql kCountDue{"count_due_jobs",
                        "SELECT COUNT(*), MIN(due_at) FROM jobs WHERE state = 'pending' AND due_at <= ?2 AND "
                        "(?1 IS NULL OR workspace_id = ?1)"};
constexpr Sql kCountByAccount{
    "count_jobs_by_account",
    "SELECT j.account_id, COALESCE(a.platform, ''), SUM(j.state = 'pending'), SUM(j.state = 'paused'), "
    "SUM(j.state = 'running'), SUM(j.state = 'dead') FROM jobs j JOIN accounts a ON a.id = j.account_id "
    "WHERE ?1 IS NULL OR j.workspace_id = ?1 GROUP BY j.account_id ORDER BY 3 DESC, 1 LIMIT 1000"};
constexpr Sql kFinishedSince{
    "finished_since",
    "SELECT COUNT(*), COALESCE(SUM(outcome IN ('published', 'done')), 0), COALESCE(SUM(outcome = 'failed'), 0) "
    "FROM job_history WHERE finished_at >= ?2 AND (?1 IS NULL OR workspace_id = ?1)"};
constexpr Sql kDeadSince{"dead_since",
                         "SELECT COUNT(*) FROM jobs WHERE state = 'dead' AND updated_at >= ?2 AND "
                         "(?1 IS NULL OR workspace_id = ?1)"};

constexpr Sql kReserveKey{"reserve_idempotency_key",
                          "INSERT INTO idempotency_keys(workspace_id, user_id, key, method, path, body_hash, status, "
                          "response, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, NULL, ?7) ON CONFLICT DO NOTHING"};
constexpr Sql kKeyByName{"idempotency_key_by_name",
                         "SELECT method, path, body_hash, status, response, created_at FROM idempotency_keys "
                         "WHERE workspace_id = ?1 AND user_id = ?2 AND key = ?3"};
constexpr Sql kFinishKey{"finish_idempotency_key",
                         "UPDATE idempotency_keys SET status = ?4, response = ?5 "
                         "WHERE workspace_id = ?1 AND user_id = ?2 AND key = ?3"};
constexpr Sql kDropKey{"drop_idempotency_key",
                       "DELETE FROM idempotency_keys WHERE workspace_id = ?1 AND user_id = ?2 AND key = ?3"};
constexpr Sql kPurgeKeys{"purge_idempotency_keys", "DELETE FROM idempotency_keys WHERE created_at < ?1"};

void BindScope(Stmt& s, const app::PauseScope& scope) {
    s.Bind(1, scope.workspace_id).Bind(2, scope.account_id).Bind(3, scope.platform);
}

}  // namespace

std::optional<app::JobView> SqliteStore::LoadJobView(const std::optional<std::string>& workspace_id,
                                                     const std::string& id) {
    for (const Sql* q : {&kLiveJobView, &kFinishedJobView}) {
        auto s = db_->Prepare(*q);
        s.Bind(1, id).Bind(2, workspace_id);
        if (s.Step()) return ReadJobView(s);
    }
    return std::nullopt;
}

core::Result<std::vector<app::JobView>> SqliteStore::ListJobs(const app::JobFilter& f) {
    return Locked("list_jobs", [&]() -> core::Result<std::vector<app::JobView>> {
        auto s = db_->Prepare(f.state && *f.state == "done" ? kListFinishedJobs : kListLiveJobs);
        s.Bind(1, f.workspace_id)
            .Bind(2, f.state)
            .Bind(3, f.kind)
            .Bind(4, f.account_id)
            .Bind(5, f.platform)
            .Bind(6, f.after_id)
            .Bind(7, f.limit);
        std::vector<app::JobView> out;
        while (s.Step()) out.push_back(ReadJobView(s));
        return out;
    });
}

core::Result<app::JobView> SqliteStore::GetJob(const std::optional<std::string>& workspace_id, const std::string& id) {
    return Locked("get_job", [&]() -> core::Result<app::JobView> {
        auto v = LoadJobView(workspace_id, id);
        if (!v) return Fail(ErrorCode::kNotFound, "job not found", {{"job_id", id}});
        return *v;
    });
}

core::Result<app::JobView> SqliteStore::RequeueJob(const std::optional<std::string>& workspace_id,
                                                   const std::string& id, core::TimePoint now) {
    return Locked("requeue_job", [&]() -> core::Result<app::JobView> {
        Transaction tx(*db_);
        auto v = LoadJobView(workspace_id, id);
        if (!v) return Fail(ErrorCode::kNotFound, "job not found", {{"job_id", id}});
        if (v->state != "dead") {
            return Fail(ErrorCode::kFailedPrecondition,
                        "only dead jobs can be requeued; this one is " + (v->outcome ? *v->outcome : v->state),
                        {{"job_id", id}, {"state", v->state}});
        }
        if (v->delivery_id) {
            const auto d = ChangeFor(*v->delivery_id).delivery;
            if (d.status != DeliveryStatus::kFailed) {
                return Fail(ErrorCode::kFailedPrecondition,
                            "its delivery is " + S(d.status) + ", not failed: nothing to requeue",
                            {{"job_id", id}, {"delivery_id", d.id}, {"status", S(d.status)}});
            }
            db_->Prepare(kRescheduleDelivery).Bind(1, d.id).Bind(2, ToUnixMillis(now)).Run();
            RefreshPostStatus(d.post_id, now);
        }
        db_->Prepare(kRequeueDeadJob).Bind(1, id).Bind(2, ToUnixMillis(now)).Run();
        auto out = LoadJobView(workspace_id, id);
        tx.Commit();
        return *out;
    });
}

core::Result<app::JobView> SqliteStore::CancelJob(const std::optional<std::string>& workspace_id, const std::string& id,
                                                  core::TimePoint now) {
    return Locked("cancel_job", [&]() -> core::Result<app::JobView> {
        Transaction tx(*db_);
        auto v = LoadJobView(workspace_id, id);
        if (!v) return Fail(ErrorCode::kNotFound, "job not found", {{"job_id", id}});
        if (v->state == "done") {
            return Fail(ErrorCode::kFailedPrecondition,
                        "this job has already finished (" + v->outcome.value_or("") + ")",
                        {{"job_id", id}, {"state", v->state}});
        }
        // A running publish job whose delivery is still queued has not been sent: the worker
        // holding it finds it gone when it marks the batch, and sends nothing (as when the post
        // is cancelled). Anything else running may be mid-call.
        const bool unsent = v->state == "running" && v->delivery_id &&
                            ChangeFor(*v->delivery_id).delivery.status == DeliveryStatus::kQueued;
        if (v->state == "running" && !unsent) {
            return Fail(ErrorCode::kFailedPrecondition,
                        "this job is running: its platform call may be in flight, so it cannot be called back; "
                        "wait for its outcome",
                        {{"job_id", id}, {"state", v->state}});
        }
        if (v->delivery_id) {
            const auto d = ChangeFor(*v->delivery_id).delivery;
            if (domain::CanTransition(d.status, DeliveryStatus::kCancelled)) {
                db_->Prepare(kCancelDelivery).Bind(1, d.id).Bind(2, ToUnixMillis(now)).Run();
            }
            RefreshPostStatus(d.post_id, now);
        }
        db_->Prepare(kJobToHistory)
            .Bind(1, id)
            .Bind(2, "cancelled")
            .Bind(3, v->last_error)
            .Bind(4, ToUnixMillis(now))
            .Run();
        db_->Prepare(kDeleteJob).Bind(1, id).Run();
        auto out = LoadJobView(workspace_id, id);
        tx.Commit();
        return *out;
    });
}

core::Result<domain::Post> SqliteStore::CancelDeliveries(const std::string& workspace_id, const std::string& post_id,
                                                         const std::optional<std::string>& delivery_id,
                                                         core::TimePoint now) {
    return Locked("cancel_deliveries", [&]() -> core::Result<domain::Post> {
        Transaction tx(*db_);
        auto post = LoadPost(workspace_id, post_id);
        if (!post) return Fail(ErrorCode::kNotFound, "post not found", {{"post_id", post_id}});
        std::vector<const domain::Delivery*> targets;
        for (const auto& d : post->deliveries) {
            if (!delivery_id || d.id == *delivery_id) targets.push_back(&d);
        }
        if (delivery_id && targets.empty()) {
            return Fail(ErrorCode::kNotFound, "delivery not found", {{"delivery_id", *delivery_id}});
        }
        int cancelled = 0;
        for (const auto* d : targets) {
            if (d->status == DeliveryStatus::kPublishing) {
                return Fail(ErrorCode::kFailedPrecondition,
                            "the delivery to account " + d->account_id +
                                " is being sent right now and cannot be called back; nothing was cancelled",
                            {{"delivery_id", d->id}, {"status", S(d->status)}});
            }
        }
        for (const auto* d : targets) {
            if (!domain::CanTransition(d->status, DeliveryStatus::kCancelled)) continue;
            db_->Prepare(kJobsOfDeliveryToHistory).Bind(1, d->id).Bind(2, ToUnixMillis(now)).Run();
            db_->Prepare(kDeleteJobsOfDelivery).Bind(1, d->id).Run();
            db_->Prepare(kCancelDelivery).Bind(1, d->id).Bind(2, ToUnixMillis(now)).Run();
            ++cancelled;
        }
        if (cancelled == 0) {
            const auto* d = targets.front();
            if (delivery_id) {
                return Fail(ErrorCode::kFailedPrecondition,
                            "this delivery is " + S(d->status) + ": there is nothing to cancel",
                            {{"delivery_id", d->id}, {"status", S(d->status)}});
            }
            return Fail(ErrorCode::kFailedPrecondition,
                        targets.size() == 1 ? "this post's delivery is " + S(d->status) + ": there is nothing to cancel"
                                            : "every delivery of this post has already finished: nothing to cancel",
                        {{"status", S(post->status)}});
        }
        RefreshPostStatus(post_id, now);
        auto out = LoadPost(workspace_id, post_id);
        tx.Commit();
        return *out;
    });
}

core::Result<app::PauseRecord> SqliteStore::Pause(const app::PauseScope& scope,
                                                  const std::optional<std::string>& reason,
                                                  const std::optional<std::string>& created_by, core::TimePoint now) {
    return Locked("pause", [&]() -> core::Result<app::PauseRecord> {
        Transaction tx(*db_);
        db_->Prepare(kInsertPause)
            .Bind(1, core::NewId(now))
            .Bind(2, scope.workspace_id)
            .Bind(3, scope.account_id)
            .Bind(4, scope.platform)
            .Bind(5, reason)
            .Bind(6, created_by)
            .Bind(7, ToUnixMillis(now))
            .Run();
        {
            auto s = db_->Prepare(kPauseJobs);
            BindScope(s, scope);
            s.Bind(4, ToUnixMillis(now)).Run();
        }
        app::PauseRecord out;
        {
            auto s = db_->Prepare(kPauseByScope);
            BindScope(s, scope);
            if (!s.Step()) throw DbError("pause vanished inside its transaction");
            out = ReadPause(s);
        }
        {
            auto s = db_->Prepare(kCountPaused);
            BindScope(s, scope);
            if (s.Step()) out.jobs_paused = s.Int(0);
        }
        tx.Commit();
        return out;
    });
}

core::Result<int64_t> SqliteStore::Resume(const app::PauseScope& scope, core::TimePoint now) {
    return Locked("resume", [&]() -> core::Result<int64_t> {
        Transaction tx(*db_);
        {
            auto s = db_->Prepare(kDeletePause);
            BindScope(s, scope);
            if (s.Run() == 0) return Fail(ErrorCode::kNotFound, "nothing is paused there");
        }
        int64_t released = 0;
        {
            // The triggers pause again whatever another pause still covers.
            auto s = db_->Prepare(kResumeJobs);
            BindScope(s, scope);
            released = s.Bind(4, ToUnixMillis(now)).Run();
        }
        {
            auto s = db_->Prepare(kCountPaused);
            BindScope(s, scope);
            if (s.Step()) released -= s.Int(0);
        }
        tx.Commit();
        return released;
    });
}

core::Result<std::vector<app::PauseRecord>> SqliteStore::ListPauses(const std::optional<std::string>& workspace_id) {
    return Locked("list_pauses", [&]() -> core::Result<std::vector<app::PauseRecord>> {
        std::vector<app::PauseRecord> out;
        {
            auto s = db_->Prepare(kListPauses);
            s.Bind(1, workspace_id);
            while (s.Step()) out.push_back(ReadPause(s));
        }
        for (auto& p : out) {
            // Installation-wide pauses are counted within the asker's workspace only.
            auto scope = p.scope;
            if (!scope.workspace_id) scope.workspace_id = workspace_id;
            auto s = db_->Prepare(kCountPaused);
            BindScope(s, scope);
            if (s.Step()) p.jobs_paused = s.Int(0);
        }
        return out;
    });
}

core::Result<app::QueueStats> SqliteStore::GetQueueStats(const std::optional<std::string>& workspace_id,
                                                         core::TimePoint now) {
    return Locked("queue_stats", [&]() -> core::Result<app::QueueStats> {
        app::QueueStats st;
        {
            auto s = db_->Prepare(kCountByState);
            s.Bind(1, workspace_id);
            while (s.Step()) {
                const auto state = s.Text(0);
                const int64_t n = s.Int(1);
                if (state == "pending") st.pending = n;
                if (state == "paused") st.paused = n;
                if (state == "running") st.running = n;
                if (state == "dead") st.dead = n;
            }
        }
        {
            auto s = db_->Prepare(kCountDue);
            s.Bind(1, workspace_id).Bind(2, ToUnixMillis(now));
            if (s.Step()) {
                st.due = s.Int(0);
                if (auto first = s.OptInt(1)) st.oldest_due_age = core::Millis(ToUnixMillis(now) - *first);
            }
        }
        {
            auto s = db_->Prepare(kCountByAccount);
            s.Bind(1, workspace_id);
            std::map<std::string, app::QueueCount> platforms;
            while (s.Step()) {
                app::QueueCount c{s.Text(0), s.Text(1), s.Int(2), s.Int(3), s.Int(4), s.Int(5)};
                auto& p = platforms[c.platform];
                p.key = p.platform = c.platform;
                p.pending += c.pending;
                p.paused += c.paused;
                p.running += c.running;
                p.dead += c.dead;
                st.by_account.push_back(std::move(c));
            }
            for (auto& [name, c] : platforms) st.by_platform.push_back(std::move(c));
        }
        const auto hour_ago = ToUnixMillis(now - std::chrono::hours(1));
        {
            auto s = db_->Prepare(kFinishedSince);
            s.Bind(1, workspace_id).Bind(2, ToUnixMillis(now - std::chrono::minutes(1)));
            if (s.Step()) st.finished_last_minute = s.Int(0);
        }
        {
            auto s = db_->Prepare(kFinishedSince);
            s.Bind(1, workspace_id).Bind(2, hour_ago);
            if (s.Step()) {
                st.finished_last_hour = s.Int(0);
                st.succeeded_last_hour = s.Int(1);
                st.failed_last_hour = s.Int(2);
            }
        }
        {
            // Jobs that failed for good stay in the hot table as dead: they count as finished.
            auto s = db_->Prepare(kDeadSince);
            s.Bind(1, workspace_id).Bind(2, hour_ago);
            if (s.Step()) {
                st.finished_last_hour += s.Int(0);
                st.failed_last_hour += s.Int(0);
            }
        }
        return st;
    });
}

core::Result<std::optional<app::IdempotencyRecord>> SqliteStore::ReserveIdempotencyKey(
    const std::string& workspace_id, const std::string& user_id, const std::string& key,
    const app::IdempotencyRecord& request) {
    return Locked("reserve_idempotency_key", [&]() -> core::Result<std::optional<app::IdempotencyRecord>> {
        Transaction tx(*db_);
        const int inserted = db_->Prepare(kReserveKey)
                                 .Bind(1, workspace_id)
                                 .Bind(2, user_id)
                                 .Bind(3, key)
                                 .Bind(4, request.method)
                                 .Bind(5, request.path)
                                 .Bind(6, request.body_hash)
                                 .Bind(7, ToUnixMillis(request.created_at))
                                 .Run();
        std::optional<app::IdempotencyRecord> existing;
        if (inserted == 0) {
            auto s = db_->Prepare(kKeyByName);
            s.Bind(1, workspace_id).Bind(2, user_id).Bind(3, key);
            if (s.Step()) {
                existing = app::IdempotencyRecord{s.Text(0),
                                                  s.Text(1),
                                                  s.Text(2),
                                                  static_cast<int>(s.Int(3)),
                                                  s.OptText(4).value_or(""),
                                                  FromUnixMillis(s.Int(5))};
            }
        }
        tx.Commit();
        return existing;
    });
}

core::Status SqliteStore::FinishIdempotencyKey(const std::string& workspace_id, const std::string& user_id,
                                               const std::string& key, int status, const std::string& response) {
    return Locked("finish_idempotency_key", [&]() -> core::Status {
        if (status == 0) {
            db_->Prepare(kDropKey).Bind(1, workspace_id).Bind(2, user_id).Bind(3, key).Run();
        } else {
            db_->Prepare(kFinishKey)
                .Bind(1, workspace_id)
                .Bind(2, user_id)
                .Bind(3, key)
                .Bind(4, status)
                .Bind(5, response)
                .Run();
        }
        return {};
    });
}

core::Result<int64_t> SqliteStore::PurgeIdempotencyKeys(core::TimePoint before) {
    return Locked("purge_idempotency_keys", [&]() -> core::Result<int64_t> {
        return static_cast<int64_t>(db_->Prepare(kPurgeKeys).Bind(1, ToUnixMillis(before)).Run());
    });
}

// ---- media ----------------------------------------------------------------------------------

namespace {
constexpr Sql kInsertMedia{
    "insert_media", "INSERT INTO media(" HERALD_MEDIA_COLUMNS
                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"};
constexpr Sql kMediaById{"media_by_id",
                         "SELECT " HERALD_MEDIA_COLUMNS " FROM media WHERE workspace_id = ?1 AND id = ?2"};
constexpr Sql kMediaBySha{"media_by_sha", "SELECT " HERALD_MEDIA_COLUMNS
                                          " FROM media WHERE workspace_id = ?1 AND sha256 = ?2 ORDER BY id LIMIT 1"};
constexpr Sql kListMedia{"list_media", "SELECT " HERALD_MEDIA_COLUMNS
                                       " FROM media WHERE workspace_id = ?1 AND (?2 IS NULL OR kind = ?2) "
                                       "AND (?3 IS NULL OR id < ?3) ORDER BY id DESC LIMIT ?4"};
constexpr Sql kSetMediaAlt{"set_media_alt_text", "UPDATE media SET alt_text = ?3 WHERE workspace_id = ?1 AND id = ?2"};
constexpr Sql kDeleteMedia{"delete_media",
                           "DELETE FROM media WHERE workspace_id = ?1 AND id = ?2 RETURNING storage_key"};
// The media column is a JSON array of ids; ids are hex, so the quoted id cannot match inside
// another one. A scan of the workspace's unfinished posts: only on delete.
constexpr Sql kPostUsingMedia{"post_using_media",
                              "SELECT id FROM posts WHERE workspace_id = ?1 AND media LIKE '%\"' || ?2 || '\"%' "
                              "AND status NOT IN ('published', 'failed', 'cancelled', 'unconfirmed') LIMIT 1"};
constexpr Sql kMediaUsingKey{"media_using_key", "SELECT count(*) FROM media WHERE storage_key = ?1"};
}  // namespace

core::Status SqliteStore::InsertMedia(const std::vector<domain::MediaItem>& items) {
    return Locked("insert_media", [&]() -> core::Status {
        Transaction tx(*db_);
        for (const auto& m : items) {
            db_->Prepare(kInsertMedia)
                .Bind(1, m.id)
                .Bind(2, m.workspace_id)
                .Bind(3, m.created_by)
                .Bind(4, domain::ToString(m.kind))
                .Bind(5, domain::MimeType(m.format))
                .Bind(6, static_cast<int64_t>(m.bytes))
                .Bind(7, m.sha256)
                .Bind(8, m.storage_key)
                .Bind(9, m.thumbnail_key)
                .Bind(10, m.original_name)
                .Bind(11, m.alt_text)
                .Bind(12, static_cast<int64_t>(m.width))
                .Bind(13, static_cast<int64_t>(m.height))
                .Bind(14, m.duration_ms)
                .Bind(15, FrameRateMilli(m))
                .Bind(16, m.video_codec)
                .Bind(17, m.audio_codec)
                .Bind(18, ToUnixMillis(m.created_at))
                .Run();
        }
        tx.Commit();
        return {};
    });
}

core::Result<domain::MediaItem> SqliteStore::GetMedia(const std::string& workspace_id, const std::string& id) {
    return Locked("get_media", [&]() -> core::Result<domain::MediaItem> {
        auto s = db_->Prepare(kMediaById);
        s.Bind(1, workspace_id).Bind(2, id);
        if (!s.Step()) return Fail(ErrorCode::kNotFound, "media not found", {{"media_id", id}});
        return ReadMedia(s);
    });
}

core::Result<std::vector<domain::MediaItem>> SqliteStore::ListMedia(const app::MediaFilter& f) {
    return Locked("list_media", [&]() -> core::Result<std::vector<domain::MediaItem>> {
        auto s = db_->Prepare(kListMedia);
        s.Bind(1, f.workspace_id);
        if (f.kind) {
            s.Bind(2, domain::ToString(*f.kind));
        } else {
            s.BindNull(2);
        }
        s.Bind(3, f.before_id).Bind(4, f.limit);
        std::vector<domain::MediaItem> out;
        while (s.Step()) out.push_back(ReadMedia(s));
        return out;
    });
}

core::Result<std::optional<domain::MediaItem>> SqliteStore::FindMediaBySha(const std::string& workspace_id,
                                                                           const std::string& sha256) {
    return Locked("find_media_by_sha", [&]() -> core::Result<std::optional<domain::MediaItem>> {
        auto s = db_->Prepare(kMediaBySha);
        s.Bind(1, workspace_id).Bind(2, sha256);
        if (!s.Step()) return std::optional<domain::MediaItem>();
        return std::optional(ReadMedia(s));
    });
}

core::Result<domain::MediaItem> SqliteStore::SetMediaAltText(const std::string& workspace_id, const std::string& id,
                                                             const std::string& alt_text) {
    return Locked("set_media_alt_text", [&]() -> core::Result<domain::MediaItem> {
        Transaction tx(*db_);
        db_->Prepare(kSetMediaAlt).Bind(1, workspace_id).Bind(2, id).Bind(3, alt_text).Run();
        auto s = db_->Prepare(kMediaById);
        s.Bind(1, workspace_id).Bind(2, id);
        if (!s.Step()) return Fail(ErrorCode::kNotFound, "media not found", {{"media_id", id}});
        auto m = ReadMedia(s);
        tx.Commit();
        return m;
    });
}

core::Result<std::optional<std::string>> SqliteStore::PostUsingMedia(const std::string& workspace_id,
                                                                     const std::string& media_id) {
    return Locked("post_using_media", [&]() -> core::Result<std::optional<std::string>> {
        auto s = db_->Prepare(kPostUsingMedia);
        s.Bind(1, workspace_id).Bind(2, media_id);
        if (!s.Step()) return std::optional<std::string>();
        return std::optional(s.Text(0));
    });
}

core::Result<int64_t> SqliteStore::DeleteMedia(const std::string& workspace_id, const std::string& id) {
    return Locked("delete_media", [&]() -> core::Result<int64_t> {
        Transaction tx(*db_);
        auto d = db_->Prepare(kDeleteMedia);
        d.Bind(1, workspace_id).Bind(2, id);
        if (!d.Step()) return Fail(ErrorCode::kNotFound, "media not found", {{"media_id", id}});
        const std::string key = d.Text(0);
        while (d.Step()) {
        }
        auto c = db_->Prepare(kMediaUsingKey);
        c.Bind(1, key);
        c.Step();
        const int64_t left = c.Int(0);
        tx.Commit();
        return left;
    });
}

}  // namespace herald::storage::sqlite
