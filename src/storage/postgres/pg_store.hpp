#pragma once

// The PostgreSQL store: the same contract as the SQLite one (app::Store), for installations
// where several herald processes share one database.
//
// pg_store.cpp: users, tokens, accounts, posts; pg_queue.cpp: the publish path and how its
// transactions lock rows; pg_store_ops.cpp: tasks, periodic jobs, purges, idempotency keys, the
// sandbox, job views, pauses and statistics.

#include <memory>

#include "app/ports.hpp"
#include "storage/postgres/pg.hpp"
#include "storage/store.hpp"

namespace herald::storage::postgres {

class PgStore final : public app::Store {
  public:
    PgStore(std::unique_ptr<PgPool> pool, StoreOptions options) : pool_(std::move(pool)), options_(options) {}

    core::Status Ping() override;

    core::Status CreateUserWithWorkspace(const domain::User& user, const std::string& password_hash,
                                         const domain::Workspace& workspace) override;
    core::Result<app::UserRecord> FindUserByEmail(const std::string& email) override;
    core::Result<domain::User> GetUser(const std::string& user_id) override;
    core::Result<app::Membership> PrimaryMembership(const std::string& user_id) override;
    core::Result<app::Membership> GetMembership(const std::string& user_id, const std::string& workspace_id) override;
    core::Result<std::vector<domain::Member>> ListMembers(const std::string& workspace_id) override;
    core::Status AddMember(const std::string& workspace_id, const std::string& user_id, domain::Role role,
                           core::TimePoint now) override;

    core::Result<std::optional<std::string>> GetPostingSchedule(const std::string& workspace_id,
                                                                const std::string& account_id) override;
    core::Status SetPostingSchedule(const std::string& workspace_id, const std::string& account_id,
                                    const std::optional<std::string>& schedule_json, core::TimePoint now) override;
    core::Result<std::vector<core::TimePoint>> QueuedTimes(const std::string& account_id,
                                                           core::TimePoint from) override;
    core::Result<std::string> GetWorkspaceLimits(const std::string& workspace_id) override;
    core::Status SetWorkspaceLimits(const std::string& workspace_id, const std::string& limits_json) override;
    core::Status InsertRefreshToken(const app::RefreshTokenRecord& token) override;
    core::Result<app::RefreshTokenRecord> RotateRefreshToken(const std::string& old_hash, app::RefreshTokenRecord next,
                                                             core::TimePoint now) override;
    core::Status RevokeRefreshFamily(const std::string& token_hash) override;
    core::Status InsertApiToken(const app::ApiTokenRecord& token) override;
    core::Result<app::ApiTokenRecord> FindApiToken(const std::string& token_hash) override;
    core::Result<std::vector<app::ApiTokenRecord>> ListApiTokens(const std::string& workspace_id,
                                                                 const std::string& user_id) override;
    core::Status RevokeApiToken(const std::string& workspace_id, const std::string& user_id,
                                const std::string& token_id) override;

    using app::Store::InsertAccount;
    using app::Store::ReconnectAccount;
    core::Status InsertAccount(const domain::Account& account, const std::string& sealed_credentials,
                               std::optional<core::TimePoint> refresh_at) override;
    core::Result<domain::Account> ReconnectAccount(
        const std::string& workspace_id, const std::string& id, const std::string& settings_json,
        const std::function<core::Result<std::string>(const std::string&)>& reseal,
        std::optional<core::TimePoint> refresh_at) override;
    core::Result<app::StoredCredentials> GetCredentials(const std::string& account_id) override;
    core::Result<bool> ReplaceCredentials(const std::string& account_id, const std::string& expected_sealed,
                                          const std::string& sealed,
                                          std::optional<core::TimePoint> refresh_at) override;
    core::Result<std::vector<std::string>> CredentialsDueForRefresh(core::TimePoint now, int limit) override;
    core::Status InsertOAuthState(const app::OAuthStateRecord& state) override;
    core::Result<app::OAuthStateRecord> TakeOAuthState(const std::string& state_hash, core::TimePoint now) override;
    core::Result<domain::Account> GetAccount(const std::string& workspace_id, const std::string& id) override;
    core::Result<std::vector<domain::Account>> ListAccounts(const std::string& workspace_id) override;

    core::Status CreatePost(const domain::Post& post) override;
    core::Status CreatePosts(const std::vector<domain::Post>& posts) override;
    core::Result<domain::Post> GetPost(const std::string& workspace_id, const std::string& id) override;
    core::Result<std::vector<domain::Post>> ListPosts(const std::string& workspace_id,
                                                      const app::PostFilter& filter) override;
    core::Result<domain::Post> UpdatePost(
        const std::string& workspace_id, const std::string& id,
        const std::function<core::Result<domain::Post>(const domain::Post&)>& edit) override;
    core::Status DeletePost(const std::string& workspace_id, const std::string& id,
                            const std::function<core::Status(const domain::Post&)>& check) override;

    core::Result<std::optional<core::TimePoint>> NextDueAt() override;
    using app::Store::ClaimDueJobs;
    core::Result<std::vector<app::ClaimedJob>> ClaimDueJobs(core::TimePoint now, int limit, core::TimePoint lease_until,
                                                            const MarkAtClaim& mark_at_claim) override;
    core::Result<std::vector<std::optional<app::DeliveryChange>>> MarkPublishingBatch(
        const std::vector<std::string>& job_ids, core::TimePoint now) override;
    core::Result<std::unordered_map<std::string, std::string>> PostsOfDeliveries(
        const std::vector<std::string>& delivery_ids) override;
    core::Result<std::vector<app::PermitDecision>> TakePermits(const std::vector<app::PermitRequest>& requests,
                                                               core::TimePoint now, core::Millis in_flight) override;
    core::Result<std::vector<app::AccountPlanInput>> LoadPlanInputs(const std::vector<std::string>& account_ids,
                                                                    core::TimePoint now,
                                                                    core::Millis in_flight) override;
    core::Result<std::vector<app::DeliveryChange>> RecordOutcomes(const std::vector<Completion>& done,
                                                                  core::TimePoint now) override;
    core::Status ExtendLeases(const std::vector<std::string>& job_ids, core::TimePoint until) override;
    core::Result<app::DeliveryChange> ReleaseJob(const std::string& job_id, core::TimePoint now) override;
    core::Result<std::vector<app::DeliveryChange>> RescueExpiredLeases(core::TimePoint now) override;
    core::Result<std::vector<app::DeliveryChange>> RescueAllLeases(core::TimePoint now) override;
    core::Result<core::Millis> OldestDueAge(core::TimePoint now) override;

    core::Result<bool> EnqueueTask(const app::NewTask& task, core::TimePoint now) override;
    core::Result<bool> CompleteTask(const std::string& job_id, int attempt, const app::TaskOutcome& outcome,
                                    core::TimePoint now) override;
    core::Result<std::optional<app::JobRecord>> FindJob(const std::string& job_id) override;

    core::Result<domain::PeriodicSchedule> UpsertPeriodic(const domain::PeriodicSchedule& schedule,
                                                          core::TimePoint first_run_at, core::TimePoint now) override;
    core::Result<std::vector<domain::PeriodicSchedule>> ListPeriodic() override;
    core::Result<bool> ClaimPeriodicTick(const app::PeriodicTick& tick, core::TimePoint now) override;
    core::Result<domain::PeriodicSchedule> UpdatePeriodic(const app::PeriodicUpdate& update,
                                                          core::TimePoint now) override;

    core::Result<int> PurgeHistory(core::TimePoint before, int limit) override;
    core::Status InsertMedia(const std::vector<domain::MediaItem>& items) override;
    core::Result<domain::MediaItem> GetMedia(const std::string& workspace_id, const std::string& id) override;
    core::Result<std::vector<domain::MediaItem>> ListMedia(const app::MediaFilter& filter) override;
    core::Result<std::optional<domain::MediaItem>> FindMediaBySha(const std::string& workspace_id,
                                                                  const std::string& sha256) override;
    core::Result<domain::MediaItem> SetMediaAltText(const std::string& workspace_id, const std::string& id,
                                                    const std::string& alt_text) override;
    core::Result<std::optional<std::string>> PostUsingMedia(const std::string& workspace_id,
                                                            const std::string& media_id) override;
    core::Result<int64_t> DeleteMedia(const std::string& workspace_id, const std::string& id) override;
    core::Result<int> PurgeDeadTasks(core::TimePoint before, int limit) override;
    core::Result<int> PurgeRefreshTokens(core::TimePoint now, int limit) override;
    core::Result<app::StalledWork> FindStalledWork(core::TimePoint now, core::Millis lag, int limit) override;

    core::Result<app::SandboxPost> SandboxInsert(const app::SandboxPost& post, bool deduplicate) override;
    core::Result<std::vector<app::SandboxPost>> SandboxInsertBatch(const std::vector<app::SandboxPost>& posts,
                                                                   const std::vector<bool>& deduplicate) override;
    core::Result<std::optional<app::SandboxPost>> SandboxFind(const std::string& account_id,
                                                              const std::string& idempotency_key) override;
    core::Result<domain::Post> ResolveDelivery(const std::string& workspace_id, const std::string& post_id,
                                               const std::string& delivery_id,
                                               const app::DeliveryResolution& resolution, core::TimePoint now) override;
    core::Result<std::vector<app::SandboxPost>> SandboxList(const std::string& account_id) override;

    core::Result<std::vector<app::JobView>> ListJobs(const app::JobFilter& filter) override;
    core::Result<app::JobView> GetJob(const std::optional<std::string>& workspace_id, const std::string& id) override;
    core::Result<app::JobView> RequeueJob(const std::optional<std::string>& workspace_id, const std::string& id,
                                          core::TimePoint now) override;
    core::Result<app::JobView> CancelJob(const std::optional<std::string>& workspace_id, const std::string& id,
                                         core::TimePoint now) override;
    core::Result<domain::Post> CancelDeliveries(const std::string& workspace_id, const std::string& post_id,
                                                const std::optional<std::string>& delivery_id,
                                                core::TimePoint now) override;
    core::Result<app::PauseRecord> Pause(const app::PauseScope& scope, const std::optional<std::string>& reason,
                                         const std::optional<std::string>& created_by, core::TimePoint now) override;
    core::Result<int64_t> Resume(const app::PauseScope& scope, core::TimePoint now) override;
    core::Result<std::vector<app::PauseRecord>> ListPauses(const std::optional<std::string>& workspace_id) override;
    core::Result<app::QueueStats> GetQueueStats(const std::optional<std::string>& workspace_id,
                                                core::TimePoint now) override;
    core::Result<std::optional<app::IdempotencyRecord>> ReserveIdempotencyKey(
        const std::string& workspace_id, const std::string& user_id, const std::string& key,
        const app::IdempotencyRecord& request) override;
    core::Status FinishIdempotencyKey(const std::string& workspace_id, const std::string& user_id,
                                      const std::string& key, int status, const std::string& response) override;
    core::Result<int64_t> PurgeIdempotencyKeys(core::TimePoint before) override;

  private:
    // Runs `fn` with a connection (the one this thread already uses inside a transaction, for
    // the edit callbacks of UpdatePost and DeletePost), and turns infrastructure failures into
    // errors.
    template <typename Fn>
    auto WithConn(const char* op, Fn&& fn) -> decltype(fn(std::declval<PgConn&>()));

    std::optional<domain::Post> LoadPost(PgConn& c, const std::string& workspace_id, const std::string& id,
                                         bool for_update);
    std::vector<domain::Delivery> LoadDeliveries(PgConn& c, const std::string& post_id);
    void WritePostRow(PgConn& c, const domain::Post& post, bool insert);
    void WriteDeliveriesAndJobs(PgConn& c, const domain::Post& post);
    core::Result<std::vector<app::DeliveryChange>> Rescue(core::TimePoint now, core::TimePoint expired_before);

    std::unique_ptr<PgPool> pool_;
    StoreOptions options_;
};

}  // namespace herald::storage::postgres
