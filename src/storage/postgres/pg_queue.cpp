// The PostgreSQL store's publish path: claim, mark, record, permits, plan inputs, leases,
// rescue and a person's decisions about a delivery. The rules are the SQLite store's
// (storage/sqlite/sqlite_store.cpp); what differs is how several processes stay correct on one
// database, since there is no single writer here:
// - claims take rows with FOR UPDATE SKIP LOCKED, so two workers never claim one job;
// - every transaction locks rows in one order, jobs, then deliveries, then posts (each set by
//   id), so that claims, outcomes, edits and permits cannot deadlock each other;
// - a post's status is recomputed in its own statement after the post rows are locked, so it
//   reads every delivery as committed by whoever held the post before (READ COMMITTED takes
//   a snapshot per statement);
// - a batch reaches a table by the ids it was given (`t.id = ANY($1)` beside a join with
//   unnest on the primary key), and a subquery that locks rows is an InitPlan (`= ANY(ARRAY(...))`),
//   never `IN (subquery)`: the statistics of a queue's tables are often taken while they are
//   nearly empty, and generic plans built on them ran the locking subquery once per row of
//   jobs, or scanned jobs or deliveries in full inside a nested loop (the soak logged such
//   statements at 9 to 64 s each);
// - permits lock the account row first: one account's limits are decided by one process at a
//   time, whichever node asks.

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "core/ids.hpp"
#include "domain/time.hpp"
#include "storage/postgres/pg_common.hpp"
#include "storage/postgres/pg_store.hpp"
#include "storage/readers.hpp"

namespace herald::storage::postgres {
namespace {

using core::ErrorCode;
using core::Fail;
using core::FromUnixMillis;
using core::ToUnixMillis;
using domain::DeliveryStatus;

#define HERALD_DELIVERY_COLUMNS(d)                                                                         \
    d ".id, " d ".post_id, " d ".account_id, " d ".status, " d ".attempts, " d ".remote_id, " d ".url, " d \
      ".error, " d ".next_attempt_at, " d ".published_at, " d ".updated_at"

constexpr PgSql kDuePriorities{"due_priorities",
                               "SELECT p FROM generate_series(1, 10) AS p WHERE EXISTS (SELECT 1 FROM jobs "
                               "WHERE state = 'pending' AND priority = p AND due_at <= $1) ORDER BY p DESC"};
// SKIP LOCKED: a job another worker is claiming right now is simply not this one's. A claim
// waits for no lock, so the order it locks in cannot deadlock with the id-ordered locking
// elsewhere.
// ORDER BY exactly the index's order (jobs_claim: priority, due_at; ties in the index's own
// order), so the scan stops after LIMIT rows. `ORDER BY due_at, id` put an incremental sort over
// the scan that read and sorted every pending job of the first due time (all 50,000 of a
// bulk-scheduled minute) on every claim, and again in the recheck of each row another worker
// had just claimed.
// `id = ANY(ARRAY(subquery))` makes the locking subquery an InitPlan that runs once, whatever
// the statistics say; `id IN (subquery)` leaves the planner free to join the two. The soak saw
// two claims spin on a core each for five minutes, once with the sort and once without it
// (both while the queue held exactly one fresh chunk); the cause was not pinned down, so the
// statement now leaves the planner no such choice. bench/queue.sh logs any statement over 5 s
// with its plan, should it come back.
constexpr PgSql kClaimJobsAtPriority{
    "claim_jobs_at_priority",
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = $2, updated_at = $1 "
    "WHERE id = ANY(ARRAY(SELECT id FROM jobs WHERE state = 'pending' AND priority = $4 AND due_at <= $1 "
    "ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED)) "
    "RETURNING id, workspace_id, delivery_id, priority, attempts, max_attempts, due_at, uncertain, kind, payload"};
constexpr PgSql kClaimDetails{
    "claim_details",
    "SELECT " HERALD_DELIVERY_COLUMNS("d") ", a.id, a.workspace_id, a.platform, a.name, a.settings, "
                                          "a.credentials <> '', a.created_at, a.credentials, p.text, p.variants, "
                                          "w.limits, p.thread, p.first_comment, p.media "
                                          "FROM unnest($1::text[]) AS r(id) JOIN deliveries d ON d.id = r.id "
                                          "JOIN accounts a ON a.id = d.account_id JOIN posts p ON p.id = d.post_id "
                                          "JOIN workspaces w ON w.id = a.workspace_id WHERE d.id = ANY($1::text[])"};
// One statement per (status, attempts) group of a claim, usually one or two: no join with an
// unnest of per-row values. That join, on a deliveries estimate of one row (its statistics seen
// with no delivery scheduled), was planned as a nested loop rescanning the unnest for every
// delivery: a quadratic 1-1.4 s per claim of 2,000, the largest cost of the soak.
constexpr PgSql kClaimDeliveries{"claim_deliveries",
                                 "UPDATE deliveries SET status = $2, attempts = $3, updated_at = $4 "
                                 "WHERE id = ANY($1::text[]) AND status IN ('scheduled', 'rate_limited')"};
// Locks the jobs (by id, the order every transaction takes them in) and says which still exist.
constexpr PgSql kPublishJobsOf{"publish_jobs_of",
                               "SELECT j.id, j.delivery_id, j.workspace_id, j.state, j.account_id FROM jobs j "
                               "WHERE j.id = ANY($1::text[]) AND j.kind = 'publish' ORDER BY j.id FOR UPDATE"};
constexpr PgSql kMarkDeliveries{"mark_deliveries",
                                "UPDATE deliveries SET status = 'publishing', updated_at = $2 "
                                "WHERE id = ANY($1::text[]) AND status = 'queued' "
                                "RETURNING " HERALD_DELIVERY_COLUMNS("deliveries")};
constexpr PgSql kRecordDeliveries{
    "record_deliveries",
    "UPDATE deliveries SET status = r.status, remote_id = COALESCE(r.remote_id, deliveries.remote_id), "
    "url = COALESCE(r.url, deliveries.url), error = r.error, next_attempt_at = r.next_attempt, "
    "published_at = r.published_at, updated_at = $8 "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[]) "
    "AS r(id, status, remote_id, url, error, next_attempt, published_at) "
    "WHERE deliveries.id = ANY($1::text[]) AND deliveries.id = r.id "
    "RETURNING " HERALD_DELIVERY_COLUMNS("deliveries")};
constexpr PgSql kDeliveryById{"delivery_by_id",
                              "SELECT " HERALD_DELIVERY_COLUMNS("d") " FROM deliveries d WHERE d.id = $1"};
#undef HERALD_DELIVERY_COLUMNS
constexpr PgSql kJobsToHistory{
    "jobs_to_history",
    "INSERT INTO job_history(id, kind, workspace_id, delivery_id, account_id, outcome, priority, attempts, due_at, "
    "last_error, created_at, finished_at) "
    "SELECT j.id, j.kind, j.workspace_id, j.delivery_id, j.account_id, r.outcome, j.priority, j.attempts, j.due_at, "
    "r.error, j.created_at, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS r(id, outcome, error) "
    "JOIN jobs j ON j.id = r.id WHERE j.id = ANY($1::text[]) "
    "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, workspace_id = excluded.workspace_id, "
    "delivery_id = excluded.delivery_id, account_id = excluded.account_id, outcome = excluded.outcome, "
    "priority = excluded.priority, attempts = excluded.attempts, due_at = excluded.due_at, "
    "last_error = excluded.last_error, created_at = excluded.created_at, finished_at = excluded.finished_at"};
constexpr PgSql kJobsOfDeliveryToHistory{
    "jobs_of_delivery_to_history",
    "INSERT INTO job_history(id, kind, workspace_id, delivery_id, account_id, outcome, priority, attempts, due_at, "
    "last_error, created_at, finished_at) "
    "SELECT id, kind, workspace_id, delivery_id, account_id, 'cancelled', priority, attempts, due_at, last_error, "
    "created_at, $2 FROM jobs WHERE delivery_id = $1 "
    "ON CONFLICT (id) DO UPDATE SET outcome = excluded.outcome, finished_at = excluded.finished_at"};
constexpr PgSql kDeleteJobs{"delete_jobs", "DELETE FROM jobs WHERE id = ANY($1::text[])"};
constexpr PgSql kDeleteJob{"delete_job", "DELETE FROM jobs WHERE id = $1"};
constexpr PgSql kDeleteJobsOfDelivery{"delete_jobs_of_delivery", "DELETE FROM jobs WHERE delivery_id = $1"};
constexpr PgSql kJobById{"job_by_id",
                         "SELECT id, workspace_id, delivery_id, state, priority, attempts, max_attempts, due_at, "
                         "lease_until, kind, payload, uncertain FROM jobs WHERE id = $1"};
constexpr PgSql kJobByIdForUpdate{"job_by_id_for_update",
                                  "SELECT id, workspace_id, delivery_id, state, priority, attempts, max_attempts, "
                                  "due_at, lease_until, kind, payload, uncertain FROM jobs WHERE id = $1 FOR UPDATE"};
constexpr PgSql kSetDeliveryOutcome{"set_delivery_outcome",
                                    "UPDATE deliveries SET status = $2, remote_id = COALESCE($3, remote_id), "
                                    "url = COALESCE($4, url), error = $5, next_attempt_at = $6, published_at = $7, "
                                    "updated_at = $8 WHERE id = $1"};
constexpr PgSql kCancelDelivery{"cancel_delivery",
                                "UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL, updated_at = $2 "
                                "WHERE id = $1"};
constexpr PgSql kRequeueDeadJob{
    "requeue_dead_job",
    "UPDATE jobs SET state = 'pending', attempts = 0, due_at = $2, rank_at = NULL, "
    "lease_until = NULL, last_error = NULL, updated_at = $2 WHERE id = $1 AND state = 'dead'"};
constexpr PgSql kRescheduleDelivery{"reschedule_delivery",
                                    "UPDATE deliveries SET status = 'scheduled', attempts = 0, error = NULL, "
                                    "next_attempt_at = NULL, updated_at = $2 WHERE id = $1"};
constexpr PgSql kJobToHistory{
    "job_to_history",
    "INSERT INTO job_history(id, kind, workspace_id, delivery_id, account_id, outcome, priority, attempts, due_at, "
    "last_error, created_at, finished_at) "
    "SELECT id, kind, workspace_id, delivery_id, account_id, $2, priority, attempts, due_at, $3, created_at, $4 "
    "FROM jobs WHERE id = $1 "
    "ON CONFLICT (id) DO UPDATE SET outcome = excluded.outcome, last_error = excluded.last_error, "
    "finished_at = excluded.finished_at"};
constexpr PgSql kResetAttempts{"reset_delivery_attempts", "UPDATE deliveries SET attempts = 0 WHERE id = $1"};
constexpr PgSql kInsertJobDue{"insert_job_due",
                              "INSERT INTO jobs(id, kind, workspace_id, delivery_id, account_id, state, priority, "
                              "attempts, max_attempts, due_at, created_at, updated_at, replies, comments) "
                              "SELECT $1, 'publish', $2, $3, d.account_id, 'pending', 5, 0, $4, $5, $5, $5, "
                              "COALESCE(json_array_length(p.thread::json), 0), (p.first_comment IS NOT NULL)::int "
                              "FROM deliveries d JOIN posts p ON p.id = d.post_id WHERE d.id = $3"};

// A post's status summarises its deliveries' (domain::SummarizeStatus), as in the SQLite store.
#define HERALD_POST_STATUS                                                                                          \
    "(SELECT CASE WHEN COUNT(*) = 0 THEN (CASE WHEN posts.scheduled_at IS NULL THEN 'draft' ELSE 'scheduled' END) " \
    "WHEN COUNT(*) FILTER (WHERE d.status = 'publishing') > 0 THEN 'publishing' "                                   \
    "WHEN COUNT(*) FILTER (WHERE d.status = 'queued') > 0 THEN 'queued' "                                           \
    "WHEN COUNT(*) FILTER (WHERE d.status = 'unconfirmed') > 0 THEN 'unconfirmed' "                                 \
    "WHEN COUNT(*) FILTER (WHERE d.status = 'needs_approval') > 0 THEN 'needs_approval' "                           \
    "WHEN COUNT(*) FILTER (WHERE d.status = 'rate_limited') > 0 THEN 'rate_limited' "                               \
    "WHEN COUNT(*) FILTER (WHERE d.status = 'scheduled') > 0 THEN 'scheduled' "                                     \
    "WHEN COUNT(*) FILTER (WHERE d.status = 'draft') > 0 THEN 'draft' "                                             \
    "WHEN COUNT(*) FILTER (WHERE d.status = 'failed') > 0 THEN 'failed' "                                           \
    "WHEN COUNT(*) FILTER (WHERE d.status = 'published') > 0 THEN 'published' ELSE 'cancelled' END "                \
    "FROM deliveries d WHERE d.post_id = posts.id)"
constexpr PgSql kLockPosts{"lock_posts", "SELECT id FROM posts WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE"};
constexpr PgSql kRefreshPosts{"refresh_posts",
                              "UPDATE posts SET status = " HERALD_POST_STATUS
                              ", updated_at = $2 WHERE id = ANY($1::text[]) RETURNING id, status, workspace_id"};
#undef HERALD_POST_STATUS
constexpr PgSql kSetPostsStatus{"set_posts_status",
                                "UPDATE posts SET status = $3, updated_at = $2 WHERE id = ANY($1::text[]) "
                                "RETURNING id, status, workspace_id"};

// ---- jobs: retry, defer, kill, release ----
constexpr PgSql kRetryJob{"retry_job",
                          "UPDATE jobs SET state = 'pending', due_at = $2, rank_at = NULL, lease_until = NULL, "
                          "last_error = $3, updated_at = $4, uncertain = $5 WHERE id = $1"};
constexpr PgSql kRequeueUncertain{"requeue_uncertain",
                                  "UPDATE jobs SET state = 'pending', due_at = $2, rank_at = NULL, lease_until = NULL, "
                                  "uncertain = 1, last_error = $3, updated_at = $2 WHERE id = $1"};
constexpr PgSql kKillJob{"kill_job",
                         "UPDATE jobs SET state = 'dead', lease_until = NULL, last_error = $2, updated_at = $3 "
                         "WHERE id = $1"};
constexpr PgSql kReleaseJob{"release_job",
                            "UPDATE jobs SET state = 'pending', attempts = GREATEST(attempts - 1, 0), "
                            "lease_until = NULL, updated_at = $2 WHERE id = $1"};
constexpr PgSql kDeferJob{"defer_job",
                          "UPDATE jobs SET state = 'pending', rank_at = COALESCE(rank_at, due_at), due_at = $2, "
                          "lease_until = NULL, attempts = GREATEST(attempts - 1, 0), last_error = $3, "
                          "updated_at = $4 WHERE id = $1"};
constexpr PgSql kDeferDelivery{"defer_delivery",
                               "UPDATE deliveries SET status = 'rate_limited', attempts = GREATEST(attempts - 1, 0), "
                               "error = $2, next_attempt_at = $3, updated_at = $4 WHERE id = $1"};
constexpr PgSql kRefundAttempt{"refund_attempt",
                               "UPDATE deliveries SET attempts = GREATEST(attempts - 1, 0) WHERE id = $1"};
// The heartbeat locks its rows in id order like every other batch, and skips a job whose
// outcome is being recorded right now (it is about to leave anyway): an unordered UPDATE here
// deadlocked with RecordOutcomes' ordered FOR UPDATE (found by the 2M-job soak).
constexpr PgSql kExtendLeases{"extend_leases",
                              "UPDATE jobs SET lease_until = $2 WHERE id = ANY(ARRAY(SELECT id FROM jobs "
                              "WHERE id = ANY($1::text[]) AND state = 'running' ORDER BY id FOR UPDATE SKIP LOCKED))"};
// SKIP LOCKED: two nodes rescuing at once each take different jobs, never one twice.
constexpr PgSql kExpiredLeases{"expired_leases",
                               "SELECT id FROM jobs WHERE state = 'running' AND lease_until < $1 "
                               "ORDER BY id FOR UPDATE SKIP LOCKED"};
constexpr PgSql kFirstPendingDue{"first_pending_due",
                                 "SELECT MIN(d) FROM (SELECT (SELECT due_at FROM jobs WHERE state = 'pending' "
                                 "AND priority = p ORDER BY due_at LIMIT 1) AS d FROM generate_series(1, 10) AS p) f"};
constexpr PgSql kOldestClaimedUnsent{"oldest_claimed_unsent",
                                     "SELECT MIN(j.due_at) FROM jobs j JOIN deliveries d ON d.id = j.delivery_id "
                                     "WHERE j.state = 'running' AND d.status = 'queued'"};

// ---- rate limits ----
constexpr PgSql kLockAccounts{"lock_accounts",
                              "SELECT id FROM accounts WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE"};
constexpr PgSql kPlanAccount{"plan_account",
                             "SELECT a.id, a.workspace_id, a.platform, a.name, a.settings, a.credentials <> '', "
                             "a.created_at, w.limits FROM accounts a JOIN workspaces w ON w.id = a.workspace_id "
                             "WHERE a.id = $1"};
constexpr PgSql kRateLogOf{"rate_log_of",
                           "SELECT action, at, pending FROM rate_log WHERE account_id = $1 AND at > $2 ORDER BY at"};
constexpr PgSql kRateHoldOf{"rate_hold_of",
                            "SELECT action, until, reason FROM rate_holds WHERE account_id = $1 AND until > $2"};
constexpr PgSql kRateQuotaOf{"rate_quota_of",
                             "SELECT action, remaining, resets_at FROM rate_quotas WHERE account_id = $1 "
                             "AND resets_at > $2"};
constexpr PgSql kPendingPermitsOf{"pending_permits_of",
                                  "SELECT job_id FROM rate_log WHERE account_id = $1 AND pending = 1"};
constexpr PgSql kAllPendingPermits{"all_pending_permits", "SELECT job_id FROM rate_log WHERE pending = 1"};
constexpr PgSql kWaitingJobsOf{
    "waiting_jobs_of",
    "SELECT id, delivery_id, due_at, priority, state, COALESCE(rank_at, due_at), replies, "
    "comments FROM jobs WHERE account_id = $1 AND state IN ('pending', 'running', 'paused')"};
constexpr PgSql kWaitingJobsOfMany{"waiting_jobs_of_many",
                                   "SELECT id, delivery_id, due_at, priority, state, COALESCE(rank_at, due_at), "
                                   "replies, comments, account_id FROM jobs WHERE account_id = ANY($1::text[]) "
                                   "AND state IN ('pending', 'running', 'paused')"};
constexpr PgSql kPostsOfDeliveries{"posts_of_deliveries",
                                   "SELECT id, post_id FROM deliveries WHERE id = ANY($1::text[])"};
constexpr PgSql kSpendQuota{"spend_quota",
                            "UPDATE rate_quotas SET remaining = remaining - $4 WHERE account_id = $1 AND action = $2 "
                            "AND resets_at > $3"};
constexpr PgSql kUpsertQuota{
    "upsert_quota",
    "INSERT INTO rate_quotas(account_id, action, remaining, resets_at) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT(account_id, action) DO UPDATE SET remaining = excluded.remaining, "
    "resets_at = excluded.resets_at"};
constexpr PgSql kInsertPermit{
    "insert_permit", "INSERT INTO rate_log(account_id, action, at, job_id, pending) VALUES ($1, $2, $3, $4, 1)"};
constexpr PgSql kTrimRateLog{"trim_rate_log",
                             "DELETE FROM rate_log WHERE account_id = $1 AND action = $2 AND at <= $3"};
constexpr PgSql kRetirePermits{"retire_permits",
                               "UPDATE rate_log SET pending = 0, at = LEAST(GREATEST(at, $2), at + $3) "
                               "WHERE job_id = $1 AND pending = 1"};
constexpr PgSql kSettlePermits{
    "settle_permits", "UPDATE rate_log SET at = $2, pending = 0 WHERE job_id = ANY($1::text[]) AND pending = 1"};
constexpr PgSql kDropPermits{"drop_permits", "DELETE FROM rate_log WHERE pending = 1 AND job_id = ANY($1::text[])"};
constexpr PgSql kUpsertHold{"upsert_hold",
                            "INSERT INTO rate_holds(account_id, action, until, reason) VALUES ($1, $2, $3, $4) "
                            "ON CONFLICT(account_id, action) DO UPDATE SET until = GREATEST(rate_holds.until, "
                            "excluded.until), reason = excluded.reason"};

// ---- helpers ----

std::string Array(const std::vector<std::string>& values) {
    ArrayParam a;
    for (const auto& v : values) a.Add(v);
    return a.Take();
}

std::optional<domain::Job> LoadJob(PgConn& c, const std::string& job_id, bool for_update = false) {
    auto r = c.Exec(for_update ? kJobByIdForUpdate : kJobById, Params().Add(job_id));
    if (r.rows() == 0) return std::nullopt;
    return ReadJob(PgRow(r, 0));
}

app::DeliveryChange ChangeFor(PgConn& c, const std::string& delivery_id) {
    auto r = c.Exec(kDeliveryById, Params().Add(delivery_id));
    if (r.rows() == 0) throw StoreError("delivery vanished inside a transaction: " + delivery_id);
    app::DeliveryChange change;
    change.delivery = ReadDelivery(PgRow(r, 0));
    change.post_id = change.delivery.post_id;
    return change;
}

// Locks the posts, then refreshes each one's status from its deliveries (or sets `known`);
// returns post id → (status, workspace id).
std::unordered_map<std::string, std::pair<domain::PostStatus, std::string>> RefreshPosts(
    PgConn& c, const std::vector<std::string>& post_ids, core::TimePoint now,
    std::optional<domain::PostStatus> known = std::nullopt) {
    std::unordered_map<std::string, std::pair<domain::PostStatus, std::string>> out;
    if (post_ids.empty()) return out;
    std::vector<std::string> unique(post_ids);
    std::sort(unique.begin(), unique.end());
    unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
    const std::string ids = Array(unique);
    c.Exec(kLockPosts, Params().Add(ids));
    Params p;
    p.Add(ids).Add(ToUnixMillis(now));
    if (known) p.Add(S(*known));
    auto r = c.Exec(known ? kSetPostsStatus : kRefreshPosts, p);
    for (int i = 0; i < r.rows(); ++i) {
        out.emplace(r.Text(i, 0), std::make_pair(ParseStatus(r.Text(i, 1)), r.Text(i, 2)));
    }
    if (out.size() != unique.size()) throw StoreError("a post vanished inside a transaction");
    return out;
}

domain::PostStatus RefreshPostStatus(PgConn& c, const std::string& post_id, core::TimePoint now) {
    return RefreshPosts(c, {post_id}, now).at(post_id).first;
}

void SetDeliveryOutcome(PgConn& c, const std::string& delivery_id, DeliveryStatus status,
                        const std::optional<std::string>& remote_id, const std::optional<std::string>& url,
                        const std::optional<std::string>& error, std::optional<int64_t> next_attempt_at,
                        std::optional<int64_t> published_at, core::TimePoint now) {
    c.Exec(kSetDeliveryOutcome, Params()
                                    .Add(delivery_id)
                                    .Add(S(status))
                                    .Add(remote_id)
                                    .Add(url)
                                    .Add(error)
                                    .Add(next_attempt_at)
                                    .Add(published_at)
                                    .Add(ToUnixMillis(now)));
}

std::optional<size_t> ActionIndex(std::string_view name) {
    const auto action = ratelimit::ParseAction(name);
    if (!action) return std::nullopt;
    return static_cast<size_t>(*action);
}

// Columns: id, delivery_id, due_at, priority, state, rank, replies, comments.
std::optional<app::AccountPlanInput::Waiting> ReadWaiting(const PgRow& s, core::StringArena& ids,
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

// The account's rate log, holds, quotas and (with_jobs) waiting jobs, as the SQLite store reads
// them; nullopt for an unknown account.
std::optional<app::AccountPlanInput> ReadPlanInput(PgConn& c, const std::string& account_id, core::TimePoint now,
                                                   core::Millis in_flight, bool with_jobs) {
    app::AccountPlanInput in;
    {
        auto r = c.Exec(kPlanAccount, Params().Add(account_id));
        if (r.rows() == 0) return std::nullopt;
        in.account = ReadAccount(PgRow(r, 0));
        in.workspace_limits_json = r.Text(0, 7);
    }
    const auto t = ToUnixMillis(now);
    const auto horizon = core::Millis(std::chrono::hours(24)) + in_flight;
    {
        auto r = c.Exec(kRateLogOf, Params().Add(account_id).Add(t - horizon.count()));
        for (int i = 0; i < r.rows(); ++i) {
            const auto k = ActionIndex(r.View(i, 0));
            if (!k) continue;
            const auto at = FromUnixMillis(r.Int(i, 1));
            // In flight counts as happening now, and once its time is up (its worker died) as
            // having happened at the latest moment it could have.
            in.logs[*k].push_back(r.Int(i, 2) != 0 ? std::min(std::max(at, now), at + in_flight) : at);
        }
        for (auto& log : in.logs) std::sort(log.begin(), log.end());
    }
    {
        auto r = c.Exec(kRateHoldOf, Params().Add(account_id).Add(t));
        for (int i = 0; i < r.rows(); ++i) {
            const auto k = ActionIndex(r.View(i, 0));
            if (!k) continue;
            in.platform[*k].hold_until = FromUnixMillis(r.Int(i, 1));
            in.platform[*k].hold_reason = r.Text(i, 2);
        }
    }
    {
        auto r = c.Exec(kRateQuotaOf, Params().Add(account_id).Add(t));
        for (int i = 0; i < r.rows(); ++i) {
            const auto k = ActionIndex(r.View(i, 0));
            if (!k) continue;
            in.platform[*k].quota = ratelimit::Quota{static_cast<int>(r.Int(i, 1)), FromUnixMillis(r.Int(i, 2))};
        }
    }
    if (!with_jobs) return in;
    std::unordered_set<std::string> permitted;
    {
        auto r = c.Exec(kPendingPermitsOf, Params().Add(account_id));
        for (int i = 0; i < r.rows(); ++i) permitted.insert(r.Text(i, 0));
    }
    auto r = c.Exec(kWaitingJobsOf, Params().Add(account_id));
    for (int i = 0; i < r.rows(); ++i) {
        if (auto w = ReadWaiting(PgRow(r, i), in.ids, permitted)) in.waiting.push_back(*w);
    }
    return in;
}

// A task's worker died while it ran: retried, the attempt counting, or dead after the last one.
void RescueTask(PgConn& c, const domain::Job& job, core::TimePoint now) {
    if (job.attempts >= job.max_attempts) {
        const std::string why =
            "the worker running it stopped before it finished, " + std::to_string(job.attempts) + " time(s); gave up";
        c.Exec(kKillJob, Params().Add(job.id).Add(why).Add(ToUnixMillis(now)));
        spdlog::error("event=task_dead job_id={} kind={} attempts={} reason=lease_expired", job.id,
                      domain::ToString(job.kind), job.attempts);
        return;
    }
    const std::string why = "the worker running it stopped before it finished; running it again";
    c.Exec(kRetryJob, Params().Add(job.id).Add(ToUnixMillis(now)).Add(why).Add(ToUnixMillis(now)).Add(0));
    spdlog::warn("event=task_lease_expired job_id={} kind={} attempts={}", job.id, domain::ToString(job.kind),
                 job.attempts);
}

std::optional<int64_t> FirstPendingDue(PgConn& c) {
    auto r = c.Exec(kFirstPendingDue);
    return r.OptInt(0, 0);
}

}  // namespace

// ---- claim, mark, record ----------------------------------------------------------------------

core::Result<std::vector<app::ClaimedJob>> PgStore::ClaimDueJobs(core::TimePoint now, int limit,
                                                                 core::TimePoint lease_until,
                                                                 const MarkAtClaim& mark_at_claim) {
    return WithConn("claim_jobs", [&](PgConn& c) -> core::Result<std::vector<app::ClaimedJob>> {
        // Relaxed: a claim lost to a power cut is claimed again (see the SQLite store).
        PgTransaction tx(c, Durability::kRelaxed);
        std::vector<app::ClaimedJob> out;
        std::vector<int> priorities;
        {
            auto r = c.Exec(kDuePriorities, Params().Add(ToUnixMillis(now)));
            for (int i = 0; i < r.rows(); ++i) priorities.push_back(static_cast<int>(r.Int(i, 0)));
        }
        for (const int priority : priorities) {  // highest first; within one, oldest due first
            const int left = limit - static_cast<int>(out.size());
            if (left <= 0) break;
            const size_t before = out.size();
            auto r = c.Exec(kClaimJobsAtPriority,
                            Params().Add(ToUnixMillis(now)).Add(ToUnixMillis(lease_until)).Add(left).Add(priority));
            for (int i = 0; i < r.rows(); ++i) {
                app::ClaimedJob cj;
                cj.job.id = r.Text(i, 0);
                cj.job.workspace_id = r.Text(i, 1);
                cj.job.delivery_id = r.Text(i, 2);
                cj.job.state = domain::JobState::kRunning;
                cj.job.priority = static_cast<int>(r.Int(i, 3));
                cj.job.attempts = static_cast<int>(r.Int(i, 4));
                cj.job.max_attempts = static_cast<int>(r.Int(i, 5));
                cj.job.due_at = FromUnixMillis(r.Int(i, 6));
                cj.job.lease_until = lease_until;
                cj.job.uncertain = r.Int(i, 7) != 0;
                cj.job.kind = ParseKind(r.Text(i, 8));
                cj.job.payload = r.Text(i, 9);
                out.push_back(std::move(cj));
            }
            std::sort(out.begin() + static_cast<std::ptrdiff_t>(before), out.end(),
                      [](const app::ClaimedJob& a, const app::ClaimedJob& b) {
                          return a.job.due_at != b.job.due_at ? a.job.due_at < b.job.due_at : a.job.id < b.job.id;
                      });
        }
        std::unordered_map<std::string, size_t> by_delivery;
        ArrayParam deliveries;
        for (size_t i = 0; i < out.size(); ++i) {
            if (!out[i].is_publish()) continue;  // a task: the job is all its handler needs
            by_delivery.emplace(out[i].job.delivery_id, i);
            deliveries.Add(out[i].job.delivery_id);
        }
        if (deliveries.empty()) {
            tx.Commit();
            return out;
        }
        {
            auto r = c.Exec(kClaimDetails, Params().Add(deliveries.Take()));
            for (int i = 0; i < r.rows(); ++i) {
                auto it = by_delivery.find(r.Text(i, 0));
                if (it == by_delivery.end()) continue;
                auto& cj = out[it->second];
                cj.delivery = ReadDelivery(PgRow(r, i));
                cj.account.id = r.Text(i, 11);
                cj.account.workspace_id = r.Text(i, 12);
                cj.account.platform = r.Text(i, 13);
                cj.account.name = r.Text(i, 14);
                cj.account.settings_json = r.Text(i, 15);
                cj.account.has_credentials = r.Int(i, 16) != 0;
                cj.account.created_at = FromUnixMillis(r.Int(i, 17));
                cj.sealed_credentials = r.Text(i, 18);
                cj.text = r.Text(i, 19);
                cj.workspace_limits_json = r.Text(i, 21);
                cj.thread = ReadStringArray(PgRow(r, i), 22);
                cj.first_comment = r.OptText(i, 23);
                cj.media_ids = ReadStringArray(PgRow(r, i), 24);
                if (const std::string variants = r.Text(i, 20); variants != "{}") {
                    auto parsed = nlohmann::json::parse(variants, nullptr, false);
                    if (parsed.is_object() && parsed.contains(cj.account.platform) &&
                        parsed[cj.account.platform].is_string()) {
                        cj.text = parsed[cj.account.platform].get<std::string>();
                    }
                }
            }
        }
        const auto at = FromUnixMillis(ToUnixMillis(now));
        std::map<std::pair<DeliveryStatus, int>, ArrayParam> moves;  // by new status and attempts
        std::vector<std::string> post_ids, publishing;
        std::vector<size_t> marked;
        for (size_t i = 0; i < out.size(); ++i) {
            auto& cj = out[i];
            if (!cj.is_publish()) continue;
            if (cj.delivery.id.empty()) throw StoreError("delivery, account or post vanished for job " + cj.job.id);
            // Only a scheduled (or rate limited) delivery moves on; any other was changed after
            // its job was queued, and the worker finds the job stale.
            if (cj.delivery.status != DeliveryStatus::kScheduled &&
                cj.delivery.status != DeliveryStatus::kRateLimited) {
                continue;
            }
            const bool mark = mark_at_claim && mark_at_claim(cj.account);
            cj.delivery.status = mark ? DeliveryStatus::kPublishing : DeliveryStatus::kQueued;
            cj.delivery.attempts = cj.job.attempts;
            cj.delivery.updated_at = at;
            moves[{cj.delivery.status, cj.job.attempts}].Add(cj.delivery.id);
            (mark ? publishing : post_ids).push_back(cj.delivery.post_id);
            if (mark) marked.push_back(i);
        }
        for (auto& [group, ids] : moves) {
            c.Exec(kClaimDeliveries, Params()
                                         .Add(ids.Take())
                                         .Add(S(group.first))
                                         .Add(static_cast<int64_t>(group.second))
                                         .Add(ToUnixMillis(now)));
        }
        // A post with a delivery now publishing is publishing, whatever its others.
        auto posts = RefreshPosts(c, publishing, now, DeliveryStatus::kPublishing);
        std::vector<std::string> others;
        for (const auto& id : post_ids) {
            if (!posts.count(id)) others.push_back(id);
        }
        posts.merge(RefreshPosts(c, others, now));
        for (const size_t i : marked) {
            auto& cj = out[i];
            const auto& [post_status, workspace_id] = posts.at(cj.delivery.post_id);
            cj.marked = app::DeliveryChange{workspace_id, cj.delivery.post_id, post_status, cj.delivery};
        }
        tx.Commit();
        return out;
    });
}

core::Result<std::vector<std::optional<app::DeliveryChange>>> PgStore::MarkPublishingBatch(
    const std::vector<std::string>& job_ids, core::TimePoint now) {
    return WithConn("mark_publishing", [&](PgConn& c) -> core::Result<std::vector<std::optional<app::DeliveryChange>>> {
        // Full: this commit is the evidence that the posts may have been sent.
        PgTransaction tx(c, Durability::kFull);
        std::unordered_map<std::string, std::pair<std::string, std::string>> running;  // job → (delivery, workspace)
        {
            auto r = c.Exec(kPublishJobsOf, Params().Add(Array(job_ids)));
            for (int i = 0; i < r.rows(); ++i) {
                if (r.View(i, 3) == "running")
                    running.emplace(r.Text(i, 0), std::make_pair(r.Text(i, 1), r.Text(i, 2)));
            }
        }
        std::unordered_map<std::string, domain::Delivery> marked;  // by delivery id
        if (!running.empty()) {
            ArrayParam deliveries;
            for (const auto& [_, job] : running) deliveries.Add(job.first);
            auto r = c.Exec(kMarkDeliveries, Params().Add(deliveries.Take()).Add(ToUnixMillis(now)));
            for (int i = 0; i < r.rows(); ++i) {
                auto d = ReadDelivery(PgRow(r, i));
                marked.emplace(d.id, std::move(d));
            }
        }
        std::vector<std::string> post_ids;
        for (const auto& [job_id, job] : running) {
            auto it = marked.find(job.first);
            if (it == marked.end()) {
                c.Exec(kDeleteJob, Params().Add(job_id));  // the delivery moved on without it: stale
            } else {
                post_ids.push_back(it->second.post_id);
            }
        }
        const auto posts = RefreshPosts(c, post_ids, now);
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

core::Result<std::vector<app::DeliveryChange>> PgStore::RecordOutcomes(const std::vector<Completion>& done,
                                                                       core::TimePoint now) {
    return WithConn("record_outcomes", [&](PgConn& c) -> core::Result<std::vector<app::DeliveryChange>> {
        // Relaxed: an outcome lost to a power cut leaves its delivery publishing, which the
        // restart checks before anything is resent.
        PgTransaction tx(c, Durability::kRelaxed);
        const auto at = ToUnixMillis(now);
        struct JobOf {
            std::string delivery_id, workspace_id, account_id;
        };
        std::unordered_map<std::string, JobOf> jobs;  // by job id
        {
            std::vector<std::string> ids;
            for (const auto& d : done) ids.push_back(d.job_id);
            auto r = c.Exec(kPublishJobsOf, Params().Add(Array(ids)));
            for (int i = 0; i < r.rows(); ++i)
                jobs.emplace(r.Text(i, 0), JobOf{r.Text(i, 1), r.Text(i, 2), r.Text(i, 4)});
        }
        ArrayParam o_id, o_status, o_remote, o_url, o_error, o_next, o_published;
        ArrayParam f_id, f_outcome, f_error;
        std::vector<std::string> settle, drop;
        for (const auto& d : done) {
            const auto& job_id = d.job_id;
            const auto& o = d.outcome;
            if (d.permit) {
                // The platform may have the post: it counts. Otherwise nothing was posted.
                const bool posted = o.status == DeliveryStatus::kPublished ||
                                    o.status == DeliveryStatus::kUnconfirmed ||
                                    (o.status == DeliveryStatus::kScheduled && o.uncertain);
                (posted ? settle : drop).push_back(job_id);
            }
            auto it = jobs.find(job_id);
            if (it == jobs.end()) continue;  // gone with its post (deleted meanwhile)
            const JobOf& job = it->second;
            if (o.quota) {
                c.Exec(kUpsertQuota, Params()
                                         .Add(job.account_id)
                                         .Add(ratelimit::ToString(ratelimit::Action::kPost))
                                         .Add(static_cast<int64_t>(o.quota->remaining))
                                         .Add(ToUnixMillis(o.quota->resets_at)));
            }
            o_id.Add(job.delivery_id);
            o_status.Add(S(o.status));
            o.remote_id ? o_remote.Add(*o.remote_id) : o_remote.AddNull();
            o.url ? o_url.Add(*o.url) : o_url.AddNull();
            o.error ? o_error.Add(*o.error) : o_error.AddNull();
            o.next_attempt_at ? o_next.Add(ToUnixMillis(*o.next_attempt_at)) : o_next.AddNull();
            o.status == DeliveryStatus::kPublished ? o_published.Add(at) : o_published.AddNull();
            if (o.status == DeliveryStatus::kRateLimited && o.next_attempt_at) {
                // The platform said "not now": wait as long as it asked, without using an
                // attempt, and hold every post of the account back until then.
                const auto until = ToUnixMillis(*o.next_attempt_at);
                std::string reason = o.error.value_or("the platform asked Herald to slow down");
                if (const auto cut = reason.rfind("; will publish at "); cut != std::string::npos) reason.resize(cut);
                c.Exec(kDeferJob, Params().Add(job_id).Add(until).Add(o.error).Add(at));
                c.Exec(kUpsertHold, Params()
                                        .Add(job.account_id)
                                        .Add(ratelimit::ToString(ratelimit::Action::kPost))
                                        .Add(until)
                                        .Add(reason));
                c.Exec(kRefundAttempt, Params().Add(job.delivery_id));
            } else if (o.status == DeliveryStatus::kScheduled && o.next_attempt_at) {
                c.Exec(kRetryJob, Params()
                                      .Add(job_id)
                                      .Add(ToUnixMillis(*o.next_attempt_at))
                                      .Add(o.error)
                                      .Add(at)
                                      .Add(o.uncertain ? 1 : 0));
            } else if (o.job_dead) {
                c.Exec(kKillJob, Params().Add(job_id).Add(o.error).Add(at));
            } else {
                f_id.Add(job_id);
                f_outcome.Add(S(o.status));
                o.error ? f_error.Add(*o.error) : f_error.AddNull();
            }
        }
        if (!f_id.empty()) {
            const std::string ids = f_id.Take();
            c.Exec(kJobsToHistory, Params().Add(ids).Add(f_outcome.Take()).Add(f_error.Take()).Add(at));
            c.Exec(kDeleteJobs, Params().Add(ids));
        }
        if (!settle.empty()) c.Exec(kSettlePermits, Params().Add(Array(settle)).Add(at));
        if (!drop.empty()) c.Exec(kDropPermits, Params().Add(Array(drop)));
        std::unordered_map<std::string, domain::Delivery> recorded;  // by delivery id
        std::vector<std::string> post_ids;
        if (!o_id.empty()) {
            auto r = c.Exec(kRecordDeliveries, Params()
                                                   .Add(o_id.Take())
                                                   .Add(o_status.Take())
                                                   .Add(o_remote.Take())
                                                   .Add(o_url.Take())
                                                   .Add(o_error.Take())
                                                   .Add(o_next.Take())
                                                   .Add(o_published.Take())
                                                   .Add(at));
            for (int i = 0; i < r.rows(); ++i) {
                auto d = ReadDelivery(PgRow(r, i));
                post_ids.push_back(d.post_id);
                recorded.emplace(d.id, std::move(d));
            }
        }
        const auto posts = RefreshPosts(c, post_ids, now);
        std::vector<app::DeliveryChange> out(done.size());
        for (size_t i = 0; i < done.size(); ++i) {
            auto job = jobs.find(done[i].job_id);
            if (job == jobs.end()) continue;
            auto d = recorded.find(job->second.delivery_id);
            if (d == recorded.end())
                throw StoreError("delivery vanished inside a transaction: " + job->second.delivery_id);
            const auto& [post_status, workspace_id] = posts.at(d->second.post_id);
            out[i] = app::DeliveryChange{workspace_id, d->second.post_id, post_status, d->second};
        }
        tx.Commit();
        return out;
    });
}

// ---- limits -----------------------------------------------------------------------------------

// Above this many accounts, LoadPlanInputs reads their jobs in one statement.
constexpr size_t kPlanManyAccounts = 32;

core::Result<std::vector<app::AccountPlanInput>> PgStore::LoadPlanInputs(const std::vector<std::string>& account_ids,
                                                                         core::TimePoint now, core::Millis in_flight) {
    return WithConn("load_plan_inputs", [&](PgConn& c) -> core::Result<std::vector<app::AccountPlanInput>> {
        // One snapshot for every read: the plan sees one moment of the queue. Called inside a
        // caller's transaction, it reads in that one and must not end it.
        const bool own = !c.InTransaction();
        if (own) c.Run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        struct End {
            PgConn& c;
            bool own;
            ~End() {
                if (!own) return;
                try {
                    c.Run("COMMIT");
                } catch (const PgError&) {
                }
            }
        } end{c, own};
        const bool many = account_ids.size() > kPlanManyAccounts;
        std::vector<app::AccountPlanInput> out;
        std::unordered_map<std::string_view, size_t> index;  // into account_ids, alive throughout
        for (const auto& id : account_ids) {
            if (auto in = ReadPlanInput(c, id, now, in_flight, !many)) {
                index.emplace(id, out.size());
                out.push_back(std::move(*in));
            }
        }
        if (many && !out.empty()) {
            std::unordered_set<std::string> permitted;
            {
                auto r = c.Exec(kAllPendingPermits);
                for (int i = 0; i < r.rows(); ++i) permitted.insert(r.Text(i, 0));
            }
            std::vector<std::string> ids;
            for (const auto& in : out) ids.push_back(in.account.id);
            auto r = c.Exec(kWaitingJobsOfMany, Params().Add(Array(ids)));
            std::vector<size_t> share(out.size(), 0);
            std::vector<uint32_t> owner(static_cast<size_t>(r.rows()), UINT32_MAX);
            for (int i = 0; i < r.rows(); ++i) {
                auto it = index.find(r.View(i, 8));
                if (it == index.end()) continue;
                owner[static_cast<size_t>(i)] = static_cast<uint32_t>(it->second);
                ++share[it->second];
            }
            for (size_t a = 0; a < out.size(); ++a) out[a].waiting.reserve(share[a]);
            for (int i = 0; i < r.rows(); ++i) {
                const auto o = owner[static_cast<size_t>(i)];
                if (o == UINT32_MAX) continue;
                if (auto w = ReadWaiting(PgRow(r, i), out[o].ids, permitted)) out[o].waiting.push_back(*w);
            }
        }
        return out;
    });
}

core::Result<std::unordered_map<std::string, std::string>> PgStore::PostsOfDeliveries(
    const std::vector<std::string>& delivery_ids) {
    return WithConn("posts_of_deliveries",
                    [&](PgConn& c) -> core::Result<std::unordered_map<std::string, std::string>> {
                        auto r = c.Exec(kPostsOfDeliveries, Params().Add(Array(delivery_ids)));
                        std::unordered_map<std::string, std::string> out;
                        for (int i = 0; i < r.rows(); ++i) out.emplace(r.Text(i, 0), r.Text(i, 1));
                        return out;
                    });
}

core::Result<std::vector<app::PermitDecision>> PgStore::TakePermits(const std::vector<app::PermitRequest>& requests,
                                                                    core::TimePoint now, core::Millis in_flight) {
    return WithConn("take_permits", [&](PgConn& c) -> core::Result<std::vector<app::PermitDecision>> {
        // Full: a permit is the record that a post is about to go out.
        PgTransaction tx(c, Durability::kFull);
        {
            // One process at a time decides an account's permits, whichever node asks.
            std::vector<std::string> accounts;
            for (const auto& r : requests) accounts.push_back(r.account_id);
            std::sort(accounts.begin(), accounts.end());
            accounts.erase(std::unique(accounts.begin(), accounts.end()), accounts.end());
            c.Exec(kLockAccounts, Params().Add(Array(accounts)));
        }
        const auto t = ToUnixMillis(now);
        const auto horizon = core::Millis(std::chrono::hours(24)) + in_flight;
        std::vector<app::PermitDecision> out(requests.size());
        std::vector<std::pair<std::string, std::string>> keys;  // (account, action) touched, to trim
        std::vector<size_t> deferred;
        std::vector<std::string> post_ids;
        for (size_t i = 0; i < requests.size(); ++i) {
            const auto& r = requests[i];
            auto& decision = out[i];
            const auto job = LoadJob(c, r.job_id);
            if (!job || job->state != domain::JobState::kRunning) continue;  // gone: not ours to send
            c.Exec(kRetirePermits, Params().Add(r.job_id).Add(t).Add(static_cast<int64_t>(in_flight.count())));
            auto in = ReadPlanInput(c, r.account_id, now, in_flight, /*with_jobs=*/true);
            if (!in) continue;  // the account is gone
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
                for (size_t k = 0; k < ratelimit::kActions.size(); ++k) {
                    const int n = items[mine].demand[k];
                    if (n <= 0) continue;
                    const std::string action(ratelimit::ToString(ratelimit::kActions[k]));
                    for (int m = 0; m < n; ++m) {
                        c.Exec(kInsertPermit, Params().Add(r.account_id).Add(action).Add(t).Add(r.job_id));
                    }
                    c.Exec(kSpendQuota, Params().Add(r.account_id).Add(action).Add(t).Add(n));
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
            c.Exec(kDeferJob, Params().Add(r.job_id).Add(ToUnixMillis(slot.at)).Add(text).Add(t));
            c.Exec(kDeferDelivery, Params().Add(job->delivery_id).Add(text).Add(ToUnixMillis(slot.at)).Add(t));
            decision.change = ChangeFor(c, job->delivery_id);
            decision.change->workspace_id = job->workspace_id;
            post_ids.push_back(decision.change->post_id);
            deferred.push_back(i);
        }
        const auto posts = RefreshPosts(c, post_ids, now);
        for (const size_t i : deferred) {
            auto& change = *out[i].change;
            change.post_status = posts.at(change.post_id).first;
        }
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
        for (const auto& [account, action] : keys) {
            c.Exec(kTrimRateLog, Params().Add(account).Add(action).Add(t - horizon.count()));
        }
        tx.Commit();
        return out;
    });
}

// ---- leases -----------------------------------------------------------------------------------

core::Status PgStore::ExtendLeases(const std::vector<std::string>& job_ids, core::TimePoint until) {
    return WithConn("extend_leases", [&](PgConn& c) -> core::Status {
        c.Exec(kExtendLeases, Params().Add(Array(job_ids)).Add(ToUnixMillis(until)));
        return {};
    });
}

core::Result<app::DeliveryChange> PgStore::ReleaseJob(const std::string& job_id, core::TimePoint now) {
    return WithConn("release_job", [&](PgConn& c) -> core::Result<app::DeliveryChange> {
        PgTransaction tx(c);
        const auto job = LoadJob(c, job_id, /*for_update=*/true);
        if (!job) return Fail(ErrorCode::kNotFound, "job not found", {{"job_id", job_id}});
        c.Exec(kReleaseJob, Params().Add(job_id).Add(ToUnixMillis(now)));
        if (job->kind != domain::JobKind::kPublish) {
            tx.Commit();
            return app::DeliveryChange{};  // a task: no delivery to hand back
        }
        auto change = ChangeFor(c, job->delivery_id);
        // Publishing too: a claim may mark a delivery, and the caller vouches it was not sent.
        if (change.delivery.status == DeliveryStatus::kQueued ||
            change.delivery.status == DeliveryStatus::kPublishing) {
            SetDeliveryOutcome(c, job->delivery_id, DeliveryStatus::kScheduled, std::nullopt, std::nullopt,
                               change.delivery.error, OptMillis(change.delivery.next_attempt_at), std::nullopt, now);
            change = ChangeFor(c, job->delivery_id);
        }
        change.workspace_id = job->workspace_id;
        change.post_status = RefreshPostStatus(c, change.post_id, now);
        tx.Commit();
        return change;
    });
}

core::Result<std::vector<app::DeliveryChange>> PgStore::RescueExpiredLeases(core::TimePoint now) {
    return Rescue(now, now);
}

core::Result<std::vector<app::DeliveryChange>> PgStore::RescueAllLeases(core::TimePoint now) {
    return Rescue(now, core::TimePoint::max());
}

core::Result<std::vector<app::DeliveryChange>> PgStore::Rescue(core::TimePoint now, core::TimePoint expired_before) {
    return WithConn("rescue_leases", [&](PgConn& c) -> core::Result<std::vector<app::DeliveryChange>> {
        PgTransaction tx(c);
        std::vector<std::string> job_ids;
        {
            auto r = c.Exec(kExpiredLeases, Params().Add(ToUnixMillis(expired_before)));
            for (int i = 0; i < r.rows(); ++i) job_ids.push_back(r.Text(i, 0));
        }
        std::vector<app::DeliveryChange> out;
        for (const auto& job_id : job_ids) {
            const auto job = LoadJob(c, job_id);
            if (!job) continue;
            if (job->kind != domain::JobKind::kPublish) {
                RescueTask(c, *job, now);
                continue;
            }
            auto change = ChangeFor(c, job->delivery_id);
            if (change.delivery.status == DeliveryStatus::kPublishing) {
                // The platform call may have gone through: run it again now, marked uncertain,
                // so the dispatcher resends only where that cannot duplicate.
                const std::string why = "Herald stopped while this post was being sent; checking before trying again";
                SetDeliveryOutcome(c, job->delivery_id, DeliveryStatus::kScheduled, std::nullopt, std::nullopt, why,
                                   std::nullopt, std::nullopt, now);
                c.Exec(kRequeueUncertain, Params().Add(job_id).Add(ToUnixMillis(now)).Add(why));
            } else {
                // Claimed but never sent: safe to run again.
                c.Exec(kReleaseJob, Params().Add(job_id).Add(ToUnixMillis(now)));
                if (change.delivery.status == DeliveryStatus::kQueued) {
                    SetDeliveryOutcome(c, job->delivery_id, DeliveryStatus::kScheduled, std::nullopt, std::nullopt,
                                       change.delivery.error, std::nullopt, std::nullopt, now);
                }
            }
            change = ChangeFor(c, job->delivery_id);
            change.workspace_id = job->workspace_id;
            change.post_status = RefreshPostStatus(c, change.post_id, now);
            out.push_back(std::move(change));
        }
        tx.Commit();
        return out;
    });
}

core::Result<core::Millis> PgStore::OldestDueAge(core::TimePoint now) {
    return WithConn("oldest_due", [&](PgConn& c) -> core::Result<core::Millis> {
        auto first = FirstPendingDue(c);
        {
            auto r = c.Exec(kOldestClaimedUnsent);
            if (!r.IsNull(0, 0) && (!first || r.Int(0, 0) < *first)) first = r.Int(0, 0);
        }
        if (first && *first <= ToUnixMillis(now)) return core::Millis(ToUnixMillis(now) - *first);
        return core::Millis(0);
    });
}

// ---- a person's decisions ---------------------------------------------------------------------

core::Result<domain::Post> PgStore::ResolveDelivery(const std::string& workspace_id, const std::string& post_id,
                                                    const std::string& delivery_id, const app::DeliveryResolution& res,
                                                    core::TimePoint now) {
    return WithConn("resolve_delivery", [&](PgConn& c) -> core::Result<domain::Post> {
        using Action = app::DeliveryResolution::Action;
        PgTransaction tx(c);
        auto post = LoadPost(c, workspace_id, post_id, /*for_update=*/true);
        if (!post) return Fail(ErrorCode::kNotFound, "post not found", {{"post_id", post_id}});
        const domain::Delivery* d = nullptr;
        for (const auto& x : post->deliveries) {
            if (x.id == delivery_id) d = &x;
        }
        if (d == nullptr) return Fail(ErrorCode::kNotFound, "delivery not found", {{"delivery_id", delivery_id}});
        const auto target = res.action == Action::kRetry ? DeliveryStatus::kScheduled : DeliveryStatus::kPublished;
        const bool allowed = res.action == Action::kRetry
                                 ? (d->status == DeliveryStatus::kFailed || d->status == DeliveryStatus::kUnconfirmed)
                                 : d->status == DeliveryStatus::kUnconfirmed;
        if (!allowed || !domain::CanTransition(d->status, target)) {
            return Fail(ErrorCode::kFailedPrecondition,
                        std::string("this delivery is ") + std::string(domain::ToString(d->status)) +
                            (res.action == Action::kRetry ? "; only failed or unconfirmed deliveries can be retried"
                                                          : "; only unconfirmed deliveries can be marked as published"),
                        {{"status", S(d->status)}, {"delivery_id", delivery_id}});
        }
        c.Exec(kDeleteJobsOfDelivery, Params().Add(delivery_id));
        if (res.action == Action::kRetry) {
            SetDeliveryOutcome(c, delivery_id, DeliveryStatus::kScheduled, std::nullopt, std::nullopt, std::nullopt,
                               std::nullopt, std::nullopt, now);
            c.Exec(kResetAttempts, Params().Add(delivery_id));
            c.Exec(kInsertJobDue, Params()
                                      .Add(core::NewId(now))
                                      .Add(workspace_id)
                                      .Add(delivery_id)
                                      .Add(options_.publish_max_attempts)
                                      .Add(ToUnixMillis(now)));
        } else {
            SetDeliveryOutcome(c, delivery_id, DeliveryStatus::kPublished, res.remote_id, res.url, std::nullopt,
                               std::nullopt, ToUnixMillis(now), now);
        }
        RefreshPostStatus(c, post_id, now);
        auto out = LoadPost(c, workspace_id, post_id, /*for_update=*/false);
        tx.Commit();
        return *out;
    });
}

core::Result<domain::Post> PgStore::CancelDeliveries(const std::string& workspace_id, const std::string& post_id,
                                                     const std::optional<std::string>& delivery_id,
                                                     core::TimePoint now) {
    return WithConn("cancel_deliveries", [&](PgConn& c) -> core::Result<domain::Post> {
        PgTransaction tx(c);
        auto post = LoadPost(c, workspace_id, post_id, /*for_update=*/true);
        if (!post) return Fail(ErrorCode::kNotFound, "post not found", {{"post_id", post_id}});
        std::vector<const domain::Delivery*> targets;
        for (const auto& d : post->deliveries) {
            if (!delivery_id || d.id == *delivery_id) targets.push_back(&d);
        }
        if (delivery_id && targets.empty()) {
            return Fail(ErrorCode::kNotFound, "delivery not found", {{"delivery_id", *delivery_id}});
        }
        for (const auto* d : targets) {
            if (d->status == DeliveryStatus::kPublishing) {
                return Fail(ErrorCode::kFailedPrecondition,
                            "the delivery to account " + d->account_id +
                                " is being sent right now and cannot be called back; nothing was cancelled",
                            {{"delivery_id", d->id}, {"status", S(d->status)}});
            }
        }
        int cancelled = 0;
        for (const auto* d : targets) {
            if (!domain::CanTransition(d->status, DeliveryStatus::kCancelled)) continue;
            c.Exec(kJobsOfDeliveryToHistory, Params().Add(d->id).Add(ToUnixMillis(now)));
            c.Exec(kDeleteJobsOfDelivery, Params().Add(d->id));
            c.Exec(kCancelDelivery, Params().Add(d->id).Add(ToUnixMillis(now)));
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
        RefreshPostStatus(c, post_id, now);
        auto out = LoadPost(c, workspace_id, post_id, /*for_update=*/false);
        tx.Commit();
        return *out;
    });
}

// ---- operating the queue ----------------------------------------------------------------------

core::Result<app::JobView> PgStore::RequeueJob(const std::optional<std::string>& workspace_id, const std::string& id,
                                               core::TimePoint now) {
    return WithConn("requeue_job", [&](PgConn& c) -> core::Result<app::JobView> {
        PgTransaction tx(c);
        LoadJob(c, id, /*for_update=*/true);  // the job first, as every transaction locks them
        auto v = LoadJobView(c, workspace_id, id);
        if (!v) return Fail(ErrorCode::kNotFound, "job not found", {{"job_id", id}});
        if (v->state != "dead") {
            return Fail(ErrorCode::kFailedPrecondition,
                        "only dead jobs can be requeued; this one is " + (v->outcome ? *v->outcome : v->state),
                        {{"job_id", id}, {"state", v->state}});
        }
        if (v->delivery_id) {
            const auto d = ChangeFor(c, *v->delivery_id).delivery;
            if (d.status != DeliveryStatus::kFailed) {
                return Fail(ErrorCode::kFailedPrecondition,
                            "its delivery is " + S(d.status) + ", not failed: nothing to requeue",
                            {{"job_id", id}, {"delivery_id", d.id}, {"status", S(d.status)}});
            }
            c.Exec(kRescheduleDelivery, Params().Add(d.id).Add(ToUnixMillis(now)));
            RefreshPostStatus(c, d.post_id, now);
        }
        c.Exec(kRequeueDeadJob, Params().Add(id).Add(ToUnixMillis(now)));
        auto out = LoadJobView(c, workspace_id, id);
        tx.Commit();
        return *out;
    });
}

core::Result<app::JobView> PgStore::CancelJob(const std::optional<std::string>& workspace_id, const std::string& id,
                                              core::TimePoint now) {
    return WithConn("cancel_job", [&](PgConn& c) -> core::Result<app::JobView> {
        PgTransaction tx(c);
        LoadJob(c, id, /*for_update=*/true);
        auto v = LoadJobView(c, workspace_id, id);
        if (!v) return Fail(ErrorCode::kNotFound, "job not found", {{"job_id", id}});
        if (v->state == "done") {
            return Fail(ErrorCode::kFailedPrecondition,
                        "this job has already finished (" + v->outcome.value_or("") + ")",
                        {{"job_id", id}, {"state", v->state}});
        }
        // A running publish job whose delivery is still queued has not been sent: the worker
        // holding it finds it gone when it marks the batch, and sends nothing.
        const bool unsent = v->state == "running" && v->delivery_id &&
                            ChangeFor(c, *v->delivery_id).delivery.status == DeliveryStatus::kQueued;
        if (v->state == "running" && !unsent) {
            return Fail(ErrorCode::kFailedPrecondition,
                        "this job is running: its platform call may be in flight, so it cannot be called back; "
                        "wait for its outcome",
                        {{"job_id", id}, {"state", v->state}});
        }
        if (v->delivery_id) {
            const auto d = ChangeFor(c, *v->delivery_id).delivery;
            if (domain::CanTransition(d.status, DeliveryStatus::kCancelled)) {
                c.Exec(kCancelDelivery, Params().Add(d.id).Add(ToUnixMillis(now)));
            }
            RefreshPostStatus(c, d.post_id, now);
        }
        c.Exec(kJobToHistory, Params().Add(id).Add("cancelled").Add(v->last_error).Add(ToUnixMillis(now)));
        c.Exec(kDeleteJob, Params().Add(id));
        auto out = LoadJobView(c, workspace_id, id);
        tx.Commit();
        return *out;
    });
}

}  // namespace herald::storage::postgres
