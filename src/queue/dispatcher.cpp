#include "queue/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include "app/json_views.hpp"

namespace herald::queue {

Dispatcher::Dispatcher(app::Store& store, const core::Clock& clock, const app::PlatformRegistry& platforms,
                       app::EventSink& events, const auth::TokenVault& vault, DispatcherSettings settings)
    : store_(store), clock_(clock), platforms_(platforms), events_(events), vault_(vault), settings_(settings) {}

Dispatcher::~Dispatcher() {
    if (running_) Stop(core::Millis(0));
}

void Dispatcher::Start(bool sole_owner) {
    if (sole_owner) {
        auto rescued = store_.RescueAllLeases(clock_.Now());
        if (!rescued) {
            spdlog::error("event=startup_rescue_failed error=\"{}\"", rescued.error().message);
        } else {
            for (const auto& c : *rescued) {
                spdlog::warn("event=rescued_from_previous_run delivery_id={} status={}", c.delivery.id,
                             domain::ToString(c.delivery.status));
                EmitChange(c);
            }
        }
    }
    running_ = true;
    stopping_ = false;
    scheduler_ = std::thread([this] { SchedulerLoop(); });
    for (int i = 0; i < settings_.workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
    spdlog::info("event=dispatcher_started workers={}", settings_.workers);
}

void Dispatcher::Notify() {
    {
        std::lock_guard lock(mu_);
        notified_ = true;
    }
    scheduler_cv_.notify_one();
}

bool Dispatcher::Stop(core::Millis grace) {
    std::deque<app::ClaimedJob> unstarted;
    {
        std::lock_guard lock(mu_);
        if (!running_) return true;
        stopping_ = true;
        unstarted.swap(ready_);
    }
    scheduler_cv_.notify_all();
    worker_cv_.notify_all();
    for (const auto& c : unstarted) {
        auto change = store_.ReleaseJob(c.job.id, clock_.Now());
        if (change) EmitChange(*change);
    }
    bool clean = false;
    {
        std::unique_lock lock(mu_);
        clean = idle_cv_.wait_for(lock, grace, [&] { return busy_ == 0; });
    }
    if (scheduler_.joinable()) scheduler_.join();
    if (clean) {
        for (auto& w : workers_) w.join();
    } else {
        // A platform call still running past the grace period: leave it. Its lease runs out and
        // the next start marks it unconfirmed rather than sending it twice.
        spdlog::warn("event=dispatcher_stop_timeout busy={}", busy_);
        for (auto& w : workers_) w.detach();
    }
    workers_.clear();
    running_ = false;
    spdlog::info("event=dispatcher_stopped clean={}", clean);
    return clean;
}

void Dispatcher::EmitChange(const app::DeliveryChange& c) {
    events_.Publish(app::Event{c.workspace_id, "delivery.updated", app::DeliveryEventJson(c).dump()});
}

void Dispatcher::Rescue() {
    auto rescued = store_.RescueExpiredLeases(clock_.Now());
    if (!rescued) {
        spdlog::error("event=rescue_failed error=\"{}\"", rescued.error().message);
        return;
    }
    for (const auto& c : *rescued) {
        spdlog::warn("event=lease_expired delivery_id={} status={}", c.delivery.id,
                     domain::ToString(c.delivery.status));
        EmitChange(c);
    }
}

void Dispatcher::SchedulerLoop() {
    while (true) {
        int capacity = 0;
        {
            std::lock_guard lock(mu_);
            if (stopping_) return;
            notified_ = false;
            capacity = settings_.workers * 2 - busy_ - static_cast<int>(ready_.size());
        }
        Rescue();
        const auto now = clock_.Now();
        if (capacity > 0) {
            auto claimed = store_.ClaimDueJobs(now, capacity, now + settings_.lease);
            if (!claimed) {
                spdlog::error("event=claim_failed error=\"{}\"", claimed.error().message);
            } else if (!claimed->empty()) {
                {
                    std::lock_guard lock(mu_);
                    for (auto& c : *claimed) ready_.push_back(std::move(c));
                }
                worker_cv_.notify_all();
                continue;  // there may be more due right now
            }
        }
        // Sleep until the next due time, a change, or a finished job frees a worker.
        auto next = store_.NextDueAt();
        auto wait = settings_.max_idle;
        if (next && *next) {
            wait = std::clamp(std::chrono::duration_cast<core::Millis>(**next - clock_.Now()), core::Millis(0),
                              settings_.max_idle);
        }
        std::unique_lock lock(mu_);
        if (capacity <= 0) {
            // Every worker is busy: due jobs wait for a free one, not for the clock.
            scheduler_cv_.wait_for(lock, settings_.max_idle, [&] {
                return stopping_ || notified_ || busy_ + static_cast<int>(ready_.size()) < settings_.workers * 2;
            });
        } else if (wait > core::Millis(0)) {
            scheduler_cv_.wait_for(lock, wait, [&] { return stopping_ || notified_; });
        }
    }
}

void Dispatcher::WorkerLoop() {
    while (true) {
        app::ClaimedJob job;
        {
            std::unique_lock lock(mu_);
            worker_cv_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
            if (stopping_) return;  // Stop() hands back what is still in ready_
            job = std::move(ready_.front());
            ready_.pop_front();
            ++busy_;
        }
        Run(job);
        {
            std::lock_guard lock(mu_);
            --busy_;
        }
        idle_cv_.notify_all();
        scheduler_cv_.notify_one();
    }
}

std::optional<app::PublishOutcome> Dispatcher::Reconcile(app::PlatformAdapter& adapter,
                                                         const app::PublishCapabilities& caps,
                                                         const app::PublishRequest& req) {
    // An earlier attempt may have reached the platform. Resend only when that cannot duplicate.
    if (caps.lookup) {
        auto found = adapter.Lookup(req);
        if (!found) {
            return app::Retryable{"could not check whether the platform already has this post: " +
                                  found.error().message};
        }
        if (*found) {
            spdlog::info("event=reconciled_by_lookup delivery_id={}", req.delivery_id);
            return app::PublishOutcome(**found);
        }
        return std::nullopt;  // not there: sending is safe
    }
    if (caps.idempotent) return std::nullopt;  // the platform drops a repeat of the same key
    return app::Unknown{
        "Herald stopped while this post was being sent, so it cannot tell whether the platform "
        "published it"};
}

int Dispatcher::RunOnce() {
    Rescue();
    const auto now = clock_.Now();
    auto claimed = store_.ClaimDueJobs(now, 1000, now + settings_.lease);
    if (!claimed) return 0;
    for (const auto& c : *claimed) Run(c);
    return static_cast<int>(claimed->size());
}

void Dispatcher::Run(const app::ClaimedJob& c) {
    const auto started = clock_.Now();
    auto marked = store_.MarkPublishing(c.job.id, started);
    if (!marked) {
        spdlog::error("event=mark_publishing_failed job_id={} error=\"{}\"", c.job.id, marked.error().message);
        return;  // the lease will run out and the job is retried: nothing was sent
    }
    if (!*marked) {
        spdlog::info("event=job_stale job_id={} delivery_id={}", c.job.id, c.job.delivery_id);
        return;
    }
    EmitChange(**marked);

    // Set before the call only when something stops it from being made at all.
    std::optional<app::PublishOutcome> outcome;
    app::PlatformAdapter* adapter = platforms_.Find(c.account.platform);
    std::string credentials;
    if (adapter == nullptr) {
        outcome = app::Rejected{"platform " + c.account.platform + " is not available on this server"};
    } else if (!c.sealed_credentials.empty()) {
        auto opened = vault_.Open(c.sealed_credentials);
        if (opened) {
            credentials = std::move(*opened);
        } else {
            outcome = app::AuthExpired{opened.error().message};
        }
    }
    app::PublishCapabilities caps;
    if (adapter != nullptr) caps = adapter->Capabilities(c.account.settings_json);
    const app::PublishRequest req{c.delivery.id, c.account.id,  c.account.settings_json, credentials,
                                  c.text,        c.delivery.id, c.job.attempts};
    if (!outcome && c.job.uncertain) outcome = Reconcile(*adapter, caps, req);
    if (!outcome) {
        try {
            outcome = adapter->Publish(req);
        } catch (const std::exception& e) {
            // We cannot know how far the call got before it threw.
            spdlog::error("event=adapter_threw job_id={} platform={} error=\"{}\"", c.job.id, c.account.platform,
                          e.what());
            outcome = app::Unknown{"the publish call failed unexpectedly"};
        }
    }
    const auto finished = clock_.Now();
    auto record = Decide(*outcome, c.job.attempts, settings_.retry, finished, caps, c.job.uncertain);
    auto change = store_.RecordOutcome(c.job.id, record, finished);
    if (!change) {
        spdlog::error("event=record_outcome_failed job_id={} error=\"{}\"", c.job.id, change.error().message);
        return;
    }
    spdlog::info(
        "event=publish_attempt job_id={} delivery_id={} platform={} attempt={} status={} lateness_ms={} "
        "duration_ms={}",
        c.job.id, c.delivery.id, c.account.platform, c.job.attempts, domain::ToString(record.status),
        (started - c.job.due_at).count(), (finished - started).count());
    EmitChange(*change);
}

}  // namespace herald::queue
