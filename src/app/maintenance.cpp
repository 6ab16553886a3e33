#include "app/maintenance.hpp"

#include <spdlog/spdlog.h>

#include "domain/time.hpp"

namespace herald::app {
namespace {

// Calls `purge` until a chunk comes back short; returns the total.
template <typename Fn>
core::Result<int> InChunks(int chunk, Fn&& purge) {
    int total = 0;
    while (true) {
        auto n = purge(chunk);
        if (!n) return tl::unexpected(n.error());
        total += *n;
        if (*n < chunk) return total;
    }
}

}  // namespace

core::Result<Maintenance::CleanupReport> Maintenance::Cleanup(core::TimePoint now) {
    const auto before = now - settings_.history_retention;
    CleanupReport report;
    auto history = InChunks(settings_.purge_chunk, [&](int n) { return store_.PurgeHistory(before, n); });
    if (!history) return tl::unexpected(history.error());
    report.history = *history;
    auto dead = InChunks(settings_.purge_chunk, [&](int n) { return store_.PurgeDeadTasks(before, n); });
    if (!dead) return tl::unexpected(dead.error());
    report.dead_tasks = *dead;
    // A family may hold many tokens, so the chunk counts families, and the loop stops when
    // nothing more goes.
    int tokens = 0;
    while (true) {
        auto n = store_.PurgeRefreshTokens(now, settings_.purge_chunk);
        if (!n) return tl::unexpected(n.error());
        tokens += *n;
        if (*n == 0) break;
    }
    report.refresh_tokens = tokens;
    // Idempotency keys answer retries of a request for a day; older ones only take room.
    auto keys = store_.PurgeIdempotencyKeys(now - std::chrono::hours(24));
    if (!keys) return tl::unexpected(keys.error());
    report.idempotency_keys = static_cast<int>(*keys);
    spdlog::info(
        "event=cleanup history_purged={} dead_tasks_purged={} refresh_tokens_purged={} idempotency_keys_purged={} "
        "retention_days={}",
        report.history, report.dead_tasks, report.refresh_tokens, report.idempotency_keys,
        std::chrono::duration_cast<std::chrono::hours>(settings_.history_retention).count() / 24);
    return report;
}

core::Result<StalledWork> Maintenance::StalledCheck(core::TimePoint now) {
    auto found = store_.FindStalledWork(now, settings_.stalled_after, settings_.report_limit);
    if (!found) return tl::unexpected(found.error());
    for (const auto& j : found->overdue_jobs) {
        spdlog::warn("event=stalled_job job_id={} kind={} delivery_id={} due_at={} waiting_s={} attempts={}", j.job_id,
                     domain::ToString(j.kind), j.delivery_id.empty() ? "-" : j.delivery_id,
                     domain::FormatRfc3339(j.due_at),
                     std::chrono::duration_cast<std::chrono::seconds>(now - j.due_at).count(), j.attempts);
    }
    for (const auto& d : found->stuck_deliveries) {
        spdlog::warn(
            "event=stalled_delivery delivery_id={} post_id={} account_id={} publishing_since={} stuck_s={} job_id={} "
            "job_state={} lease_until={}",
            d.delivery_id, d.post_id, d.account_id, domain::FormatRfc3339(d.publishing_since),
            std::chrono::duration_cast<std::chrono::seconds>(now - d.publishing_since).count(),
            d.job_id.value_or("none"), d.job_state ? domain::ToString(*d.job_state) : "none",
            d.lease_until ? domain::FormatRfc3339(*d.lease_until) : "none");
    }
    spdlog::info("event=stalled_check overdue_jobs={} stuck_deliveries={} limit={}", found->overdue_jobs.size(),
                 found->stuck_deliveries.size(), settings_.report_limit);
    return found;
}

}  // namespace herald::app
