#include <algorithm>
#include <unordered_map>

#include "core/ids.hpp"
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

}  // namespace

core::Result<bool> PgStore::EnqueueTask(const app::NewTask& /*task*/, core::TimePoint /*now*/) {
    return NotBuilt("enqueue_task");
}

core::Result<bool> PgStore::CompleteTask(const std::string& /*job_id*/, int /*attempt*/,
                                         const app::TaskOutcome& /*outcome*/, core::TimePoint /*now*/) {
    return NotBuilt("complete_task");
}

core::Result<std::optional<app::JobRecord>> PgStore::FindJob(const std::string& /*job_id*/) {
    return NotBuilt("find_job");
}

core::Result<domain::PeriodicSchedule> PgStore::UpsertPeriodic(const domain::PeriodicSchedule& /*schedule*/,
                                                               core::TimePoint /*first_run_at*/,
                                                               core::TimePoint /*now*/) {
    return NotBuilt("upsert_periodic");
}

core::Result<std::vector<domain::PeriodicSchedule>> PgStore::ListPeriodic() { return NotBuilt("list_periodic"); }

core::Result<bool> PgStore::ClaimPeriodicTick(const app::PeriodicTick& /*tick*/, core::TimePoint /*now*/) {
    return NotBuilt("claim_periodic_tick");
}

core::Result<domain::PeriodicSchedule> PgStore::UpdatePeriodic(const app::PeriodicUpdate& /*update*/,
                                                               core::TimePoint /*now*/) {
    return NotBuilt("update_periodic");
}

core::Result<int> PgStore::PurgeHistory(core::TimePoint /*before*/, int /*limit*/) { return NotBuilt("purge_history"); }

core::Result<int> PgStore::PurgeDeadTasks(core::TimePoint /*before*/, int /*limit*/) {
    return NotBuilt("purge_dead_tasks");
}

core::Result<int> PgStore::PurgeRefreshTokens(core::TimePoint /*now*/, int /*limit*/) {
    return NotBuilt("purge_refresh_tokens");
}

core::Result<app::StalledWork> PgStore::FindStalledWork(core::TimePoint /*now*/, core::Millis /*lag*/, int /*limit*/) {
    return NotBuilt("find_stalled_work");
}

core::Result<app::SandboxPost> PgStore::SandboxInsert(const app::SandboxPost& /*post*/, bool /*deduplicate*/) {
    return NotBuilt("sandbox_insert");
}

core::Result<std::vector<app::SandboxPost>> PgStore::SandboxInsertBatch(const std::vector<app::SandboxPost>& /*posts*/,
                                                                        const std::vector<bool>& /*deduplicate*/) {
    return NotBuilt("sandbox_insert_batch");
}

core::Result<std::optional<app::SandboxPost>> PgStore::SandboxFind(const std::string& /*account_id*/,
                                                                   const std::string& /*idempotency_key*/) {
    return NotBuilt("sandbox_find");
}

core::Result<std::vector<app::SandboxPost>> PgStore::SandboxList(const std::string& /*account_id*/) {
    return NotBuilt("sandbox_list");
}

core::Result<std::vector<app::JobView>> PgStore::ListJobs(const app::JobFilter& /*filter*/) {
    return NotBuilt("list_jobs");
}

core::Result<app::JobView> PgStore::GetJob(const std::optional<std::string>& /*workspace_id*/,
                                           const std::string& /*id*/) {
    return NotBuilt("get_job");
}

core::Result<app::PauseRecord> PgStore::Pause(const app::PauseScope& /*scope*/,
                                              const std::optional<std::string>& /*reason*/,
                                              const std::optional<std::string>& /*created_by*/,
                                              core::TimePoint /*now*/) {
    return NotBuilt("pause");
}

core::Result<int64_t> PgStore::Resume(const app::PauseScope& /*scope*/, core::TimePoint /*now*/) {
    return NotBuilt("resume");
}

core::Result<std::vector<app::PauseRecord>> PgStore::ListPauses(const std::optional<std::string>& /*workspace_id*/) {
    return NotBuilt("list_pauses");
}

core::Result<app::QueueStats> PgStore::GetQueueStats(const std::optional<std::string>& /*workspace_id*/,
                                                     core::TimePoint /*now*/) {
    return NotBuilt("get_queue_stats");
}

core::Result<std::optional<app::IdempotencyRecord>> PgStore::ReserveIdempotencyKey(
    const std::string& /*workspace_id*/, const std::string& /*user_id*/, const std::string& /*key*/,
    const app::IdempotencyRecord& /*request*/) {
    return NotBuilt("reserve_idempotency_key");
}

core::Status PgStore::FinishIdempotencyKey(const std::string& /*workspace_id*/, const std::string& /*user_id*/,
                                           const std::string& /*key*/, int /*status*/,
                                           const std::string& /*response*/) {
    return NotBuilt("finish_idempotency_key");
}

core::Result<int64_t> PgStore::PurgeIdempotencyKeys(core::TimePoint /*before*/) {
    return NotBuilt("purge_idempotency_keys");
}

}  // namespace herald::storage::postgres
