#include "queue/periodic.hpp"

#include <spdlog/spdlog.h>

#include "domain/cron.hpp"
#include "domain/time.hpp"

namespace herald::queue {

PeriodicRunner::Round PeriodicRunner::RunDue(core::TimePoint now) {
    Round round;
    auto schedules = store_.ListPeriodic();
    if (!schedules) {
        spdlog::error("event=periodic_list_failed error=\"{}\"", schedules.error().message);
        return round;
    }
    auto wake_at = [&](core::TimePoint t) {
        if (!round.next_at || t < *round.next_at) round.next_at = t;
    };
    for (const auto& s : *schedules) {
        if (!s.enabled) continue;
        auto cron = domain::CronSchedule::Parse(s.cron, s.time_zone);
        if (!cron) {
            std::lock_guard lock(mu_);
            if (reported_.insert(s.name + "|" + s.cron + "|" + s.time_zone).second) {
                spdlog::error("event=periodic_schedule_invalid name={} cron=\"{}\" timezone={} error=\"{}\"", s.name,
                              s.cron, s.time_zone, cron.error().message);
            }
            continue;
        }
        if (s.next_run_at && *s.next_run_at > now) {
            wake_at(*s.next_run_at);
            continue;
        }
        app::PeriodicTick tick{s.name, s.next_run_at, now, std::nullopt};
        bool coalesced = false;
        if (!s.next_run_at) {
            auto next = cron->Next(now);
            if (!next) {
                spdlog::error("event=periodic_schedule_never_fires name={} cron=\"{}\"", s.name, s.cron);
                continue;
            }
            tick.next_run_at = *next;
        } else {
            auto plan = domain::PlanTick(*cron, *s.next_run_at, now);
            if (!plan) {
                spdlog::error("event=periodic_plan_failed name={} cron=\"{}\" error=\"{}\"", s.name, s.cron,
                              plan.error().message);
                continue;
            }
            tick.tick = plan->tick;
            tick.next_run_at = plan->next;
            coalesced = plan->coalesced;
        }
        auto claimed = store_.ClaimPeriodicTick(tick, now);
        if (!claimed) {
            spdlog::error("event=periodic_claim_failed name={} error=\"{}\"", s.name, claimed.error().message);
            continue;
        }
        wake_at(tick.next_run_at);
        if (*claimed && tick.tick) {
            ++round.queued;
            spdlog::info("event=periodic_tick name={} kind={} tick={} coalesced={} next_run_at={}", s.name,
                         domain::ToString(s.kind), domain::FormatRfc3339(*tick.tick), coalesced,
                         domain::FormatRfc3339(tick.next_run_at));
        }
    }
    return round;
}

core::Status RegisterPeriodic(app::Store& store, const std::vector<domain::PeriodicSchedule>& schedules,
                              core::TimePoint now) {
    for (const auto& s : schedules) {
        auto cron = domain::CronSchedule::Parse(s.cron, s.time_zone);
        if (!cron) return tl::unexpected(cron.error());
        auto first = cron->Next(now);
        if (!first) return tl::unexpected(first.error());
        auto stored = store.UpsertPeriodic(s, *first, now);
        if (!stored) return tl::unexpected(stored.error());
        spdlog::info("event=periodic_registered name={} kind={} cron=\"{}\" timezone={} enabled={} next_run_at={}",
                     stored->name, domain::ToString(stored->kind), stored->cron, stored->time_zone, stored->enabled,
                     stored->next_run_at ? domain::FormatRfc3339(*stored->next_run_at) : "unplanned");
    }
    return {};
}

}  // namespace herald::queue
