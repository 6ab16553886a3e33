#include "queue/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <unordered_map>

#include "app/json_views.hpp"
#include "domain/time.hpp"

namespace herald::queue {

Dispatcher::Dispatcher(app::Store& store, const core::Clock& clock, const app::PlatformRegistry& platforms,
                       app::EventSink& events, const auth::TokenVault& vault, DispatcherSettings settings)
    : store_(store),
      clock_(clock),
      platforms_(platforms),
      events_(events),
      vault_(vault),
      settings_(std::move(settings)),
      marks_([this](const std::vector<std::string>& ids) { return store_.MarkPublishingBatch(ids, clock_.Now()); }),
      records_([this](const std::vector<app::Store::Completion>& done) {
          return store_.RecordOutcomes(done, clock_.Now());
      }),
      permits_([this](const std::vector<app::PermitRequest>& asks) {
          return store_.TakePermits(asks, clock_.Now(), settings_.lease);
      }),
      periodic_(store) {}

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
    last_heartbeat_ = clock_.Now();
    scheduler_ = std::thread([this] { SchedulerLoop(); });
    for (int i = 0; i < settings_.workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
    spdlog::info("event=dispatcher_started workers={} worker_batch={} claim_batch={}", settings_.workers,
                 settings_.worker_batch, settings_.claim_batch);
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
        for (const auto& c : unstarted) held_.erase(c.job.id);
    }
    scheduler_cv_.notify_all();
    worker_cv_.notify_all();
    for (const auto& c : unstarted) {
        auto change = store_.ReleaseJob(c.job.id, clock_.Now());
        if (change && !change->delivery.id.empty()) EmitChange(*change);
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

std::optional<core::TimePoint> Dispatcher::OldestWaitingDue() const {
    std::lock_guard lock(mu_);
    std::optional<core::TimePoint> oldest;
    for (const auto& c : ready_) {
        if (!oldest || c.job.due_at < *oldest) oldest = c.job.due_at;
    }
    return oldest;
}

void Dispatcher::EmitChange(const app::DeliveryChange& c) {
    if (!events_.Wants(c.workspace_id)) return;
    events_.Publish(app::Event{c.workspace_id, "delivery.updated", app::DeliveryEventText(c)});
}

double Dispatcher::Jitter() {
    std::lock_guard lock(rng_mu_);
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
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

void Dispatcher::Heartbeat() {
    const auto now = clock_.Now();
    if (now - last_heartbeat_ < settings_.lease / 3) return;
    last_heartbeat_ = now;
    std::vector<std::string> held;
    {
        std::lock_guard lock(mu_);
        held.assign(held_.begin(), held_.end());
    }
    if (held.empty()) return;
    if (auto ok = store_.ExtendLeases(held, now + settings_.lease); !ok) {
        spdlog::error("event=heartbeat_failed jobs={} error=\"{}\"", held.size(), ok.error().message);
    }
}

void Dispatcher::SchedulerLoop() {
    const int buffer = std::max(settings_.claim_batch, settings_.workers * settings_.worker_batch) * 2;
    while (true) {
        int capacity = 0;
        bool holding = false;
        {
            std::lock_guard lock(mu_);
            if (stopping_) return;
            notified_ = false;
            capacity = std::min(settings_.claim_batch, buffer - busy_jobs_ - static_cast<int>(ready_.size()));
            holding = !held_.empty();
        }
        Heartbeat();
        Rescue();
        const auto now = clock_.Now();
        if (now >= next_periodic_check_) RunPeriodic(now);
        if (capacity > 0) {
            auto claimed = Claim(now, capacity);
            if (!claimed) {
                spdlog::error("event=claim_failed error=\"{}\"", claimed.error().message);
            } else if (!claimed->empty()) {
                {
                    std::lock_guard lock(mu_);
                    for (auto& c : *claimed) {
                        held_.insert(c.job.id);
                        ready_.push_back(std::move(c));
                    }
                }
                worker_cv_.notify_all();
                continue;  // there may be more due right now
            }
        }
        // Sleep until the next due time, a change, a finished batch that frees room, or the
        // next heartbeat.
        auto next = store_.NextDueAt();
        auto wait = settings_.max_idle;
        if (holding) wait = std::min(wait, settings_.lease / 3);
        if (next && *next) {
            wait = std::clamp(std::chrono::duration_cast<core::Millis>(**next - clock_.Now()), core::Millis(0), wait);
        }
        wait = std::clamp(std::chrono::duration_cast<core::Millis>(next_periodic_check_ - clock_.Now()),
                          core::Millis(0), wait);
        std::unique_lock lock(mu_);
        if (capacity <= 0) {
            // The buffer is full: due jobs wait for the workers, not for the clock.
            scheduler_cv_.wait_for(lock, std::min(settings_.max_idle, settings_.lease / 3), [&] {
                return stopping_ || notified_ || busy_jobs_ + static_cast<int>(ready_.size()) < buffer;
            });
        } else if (wait > core::Millis(0)) {
            scheduler_cv_.wait_for(lock, wait, [&] { return stopping_ || notified_; });
        }
    }
}

void Dispatcher::WorkerLoop() {
    while (true) {
        std::vector<app::ClaimedJob> batch;
        {
            std::unique_lock lock(mu_);
            worker_cv_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
            if (stopping_) return;  // Stop() hands back what is still in ready_
            if (!ready_.front().is_publish()) {
                // A task runs alone: there is no platform to batch it with.
                batch.push_back(std::move(ready_.front()));
                ready_.pop_front();
            } else {
                // A fair share of what is waiting: one job when it is quiet, up to worker_batch
                // when work piles up (and only for a platform that takes batches), so no worker
                // sits idle while another holds a long batch.
                const size_t share = (ready_.size() + settings_.workers - 1) / settings_.workers;
                const std::string platform = ready_.front().account.platform;
                const auto* adapter = platforms_.Find(platform);
                const size_t take = std::clamp<size_t>(
                    std::min(share, static_cast<size_t>(adapter != nullptr ? adapter->MaxBatch() : 1)), 1,
                    static_cast<size_t>(settings_.worker_batch));
                do {
                    batch.push_back(std::move(ready_.front()));
                    ready_.pop_front();
                } while (batch.size() < take && !ready_.empty() && ready_.front().is_publish() &&
                         ready_.front().account.platform == platform);
            }
            ++busy_;
            busy_jobs_ += static_cast<int>(batch.size());
        }
        if (batch.front().is_publish()) {
            RunBatch(batch);
        } else {
            RunTask(batch.front());
        }
        {
            std::lock_guard lock(mu_);
            --busy_;
            busy_jobs_ -= static_cast<int>(batch.size());
            for (const auto& c : batch) held_.erase(c.job.id);
        }
        idle_cv_.notify_all();
        scheduler_cv_.notify_one();
    }
}

std::optional<app::PublishOutcome> Dispatcher::RenewGrant(const app::ClaimedJob& c, std::string& credentials) {
    if (settings_.credentials == nullptr) return app::AuthExpired{"the platform refused the account's token"};
    auto renewed = settings_.credentials->Renew(c.account.id, c.sealed_credentials);
    if (renewed) {
        credentials = std::move(*renewed);
        return std::nullopt;
    }
    if (renewed.error().code == core::ErrorCode::kPermissionDenied) return app::AuthExpired{renewed.error().message};
    return app::Retryable{"could not renew the account's sign-in: " + renewed.error().message};
}

std::optional<app::PublishOutcome> Dispatcher::AttachMedia(const app::ClaimedJob& c, app::PublishRequest& req) {
    if (settings_.media == nullptr) {
        return app::Rejected{"this post has media, and this Herald node has no media store to read it from"};
    }
    auto media = settings_.media->ForPublish(c.account.workspace_id, c.media_ids);
    if (!media) {
        spdlog::warn("event=media_unavailable delivery_id={} error=\"{}\"", c.delivery.id, media.error().message);
        if (media.error().code == core::ErrorCode::kNotFound) return app::Rejected{media.error().message};
        return app::Retryable{"the post's media cannot be read right now: " + media.error().message};
    }
    req.media = std::move(*media);
    return std::nullopt;
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
    RunPeriodic(now);
    auto claimed = Claim(now, 1000);
    if (!claimed) return 0;
    for (const auto& c : *claimed) {
        if (c.is_publish()) {
            RunBatch({c});
        } else {
            RunTask(c);
        }
    }
    return static_cast<int>(claimed->size());
}

core::Result<std::vector<app::ClaimedJob>> Dispatcher::Claim(core::TimePoint now, int limit) {
    // Where the platform drops a repeated request (idempotent publish), a resend can never
    // duplicate, so no durable mark is needed before the call: the claim itself moves the
    // delivery to publishing. The others are marked, synced, just before their call.
    std::unordered_map<std::string, bool> idempotent;  // by account settings, for this claim
    const auto mark_at_claim = [&](const domain::Account& account) {
        const auto* adapter = platforms_.Find(account.platform);
        if (adapter == nullptr) return false;
        auto [it, fresh] = idempotent.try_emplace(account.platform + '\n' + account.settings_json, false);
        if (fresh) it->second = adapter->Capabilities(account.settings_json).idempotent;
        return it->second;
    };
    return store_.ClaimDueJobs(now, limit, now + settings_.lease, mark_at_claim);
}

void Dispatcher::RunPeriodic(core::TimePoint now) {
    const auto round = periodic_.RunDue(now);
    next_periodic_check_ = now + settings_.max_idle;
    if (round.next_at && *round.next_at < next_periodic_check_) next_periodic_check_ = *round.next_at;
}

void Dispatcher::RunTask(const app::ClaimedJob& c) {
    using Kind = app::TaskOutcome::Kind;
    const std::string_view kind = domain::ToString(c.job.kind);
    const auto started = clock_.Now();
    app::TaskOutcome outcome;
    if (const auto* entry = settings_.tasks.Find(c.job.kind); entry == nullptr) {
        outcome = app::TaskOutcome{Kind::kDead,
                                   "no handler for jobs of kind " + std::string(kind) + " is registered on this server",
                                   std::nullopt};
    } else {
        core::Status result;
        try {
            result = entry->run(TaskContext{c.job, started});
        } catch (const std::exception& e) {
            result = core::Fail(core::ErrorCode::kInternal, std::string("the handler threw: ") + e.what());
        }
        RetryPolicy policy = entry->retry;
        policy.max_attempts = c.job.max_attempts;
        outcome = DecideTask(result, c.job.attempts, policy, clock_.Now(), Jitter());
    }
    const auto finished = clock_.Now();
    const char* what = outcome.kind == Kind::kDone ? "done" : outcome.kind == Kind::kRetry ? "retry" : "dead";
    auto recorded = store_.CompleteTask(c.job.id, c.job.attempts, outcome, finished);
    if (!recorded) {
        // The lease runs out and the task runs again.
        spdlog::error("event=task_record_failed job_id={} kind={} error=\"{}\"", c.job.id, kind,
                      recorded.error().message);
        return;
    }
    if (!*recorded) {
        spdlog::warn("event=task_claim_lost job_id={} kind={} attempt={} outcome={}", c.job.id, kind, c.job.attempts,
                     what);
        return;
    }
    if (outcome.kind == Kind::kDone) {
        spdlog::info("event=task_attempt job_id={} kind={} attempt={} outcome=done lateness_ms={} duration_ms={}",
                     c.job.id, kind, c.job.attempts, (started - c.job.due_at).count(), (finished - started).count());
    } else {
        auto log = outcome.kind == Kind::kDead ? spdlog::level::err : spdlog::level::warn;
        spdlog::log(log,
                    "event=task_attempt job_id={} kind={} attempt={} max_attempts={} outcome={} duration_ms={} "
                    "error=\"{}\"",
                    c.job.id, kind, c.job.attempts, c.job.max_attempts, what, (finished - started).count(),
                    outcome.error.value_or(""));
    }
}

ratelimit::Limits Dispatcher::LimitFor(const app::ClaimedJob& c, core::TimePoint now) {
    static const ratelimit::WorkspaceLimits kDefaults;
    const auto& table = settings_.limits != nullptr ? *settings_.limits : ratelimit::LimitTable::Defaults();
    const ratelimit::WorkspaceLimits* ws = &kDefaults;
    if (!c.workspace_limits_json.empty()) {
        std::lock_guard lock(limits_mu_);
        auto it = workspace_limits_.find(c.workspace_limits_json);
        if (it == workspace_limits_.end()) {
            it = workspace_limits_
                     .emplace(c.workspace_limits_json, ratelimit::WorkspaceLimits::ReadStored(c.workspace_limits_json))
                     .first;
        }
        ws = &it->second;
    }
    return ratelimit::Enforced(ratelimit::EffectiveAll(table, *ws, c.account.platform, c.account.created_at, now));
}

bool Dispatcher::Held(const std::string& account_id, core::TimePoint now) {
    std::lock_guard lock(limits_mu_);
    if (holds_.empty()) return false;
    auto it = holds_.find(account_id);
    if (it == holds_.end()) return false;
    if (it->second > now) return true;
    holds_.erase(it);
    return false;
}

void Dispatcher::TakePermits(const std::vector<app::ClaimedJob>& jobs, std::vector<bool>& permit,
                             std::vector<bool>& skip, std::vector<std::optional<std::string>>& refused) {
    const auto now = clock_.Now();
    std::vector<app::PermitRequest> asks;
    std::vector<size_t> asked;
    for (size_t i = 0; i < jobs.size(); ++i) {
        const auto& c = jobs[i];
        const auto limits = LimitFor(c, now);
        const bool capped = std::any_of(limits.begin(), limits.end(), [](const auto& l) { return ratelimit::Any(l); });
        if (!capped && !Held(c.account.id, now)) continue;
        asks.push_back(app::PermitRequest{c.job.id, c.account.id, limits});
        asked.push_back(i);
    }
    if (asks.empty()) return;
    auto decisions = permits_.Submit(asks);
    if (!decisions) {
        // Not sent: their leases run out and they are tried again.
        spdlog::error("event=take_permits_failed jobs={} error=\"{}\"", asks.size(), decisions.error().message);
        for (const size_t i : asked) skip[i] = true;
        return;
    }
    for (size_t k = 0; k < asked.size(); ++k) {
        const size_t i = asked[k];
        const auto& c = jobs[i];
        auto& d = (*decisions)[k];
        switch (d.kind) {
            case app::PermitDecision::Kind::kGranted:
                permit[i] = true;
                break;
            case app::PermitDecision::Kind::kGone:
                spdlog::info("event=job_stale job_id={} delivery_id={}", c.job.id, c.job.delivery_id);
                skip[i] = true;
                break;
            case app::PermitDecision::Kind::kRefused:
                refused[i] = std::move(d.reason);
                break;
            case app::PermitDecision::Kind::kDeferred:
                skip[i] = true;
                spdlog::info("event=rate_limited job_id={} delivery_id={} platform={} until={} reason=\"{}\"", c.job.id,
                             c.job.delivery_id, c.account.platform, domain::FormatRfc3339(d.at), d.reason);
                if (d.change) EmitChange(*d.change);
                if (settings_.on_attempt) {
                    settings_.on_attempt(AttemptReport{c.job.id, c.delivery.id, c.account.platform, c.job.due_at, now,
                                                       now, domain::DeliveryStatus::kRateLimited});
                }
                break;
        }
    }
}

void Dispatcher::RunBatch(const std::vector<app::ClaimedJob>& jobs) {
    // Limits first: a job they hold back is deferred before it is marked or sent.
    std::vector<bool> permit(jobs.size(), false);
    std::vector<bool> skip(jobs.size(), false);
    std::vector<std::optional<std::string>> refused(jobs.size());
    TakePermits(jobs, permit, skip, refused);
    // Durable before any call: after this, a crash leaves "publishing", which the next start
    // treats as "may have been sent". Jobs the claim marked already skip this.
    std::vector<std::optional<app::DeliveryChange>> marked(jobs.size());
    std::vector<bool> unmarked(jobs.size(), false);  // the mark failed: not sent, the lease runs out
    std::vector<std::string> ids;
    std::vector<size_t> to_mark;
    for (size_t i = 0; i < jobs.size(); ++i) {
        if (skip[i]) continue;
        if (jobs[i].marked) {
            marked[i] = jobs[i].marked;
        } else {
            ids.push_back(jobs[i].job.id);
            to_mark.push_back(i);
        }
    }
    if (!ids.empty()) {
        auto fresh = marks_.Submit(ids);
        if (!fresh) {
            spdlog::error("event=mark_publishing_failed jobs={} error=\"{}\"", ids.size(), fresh.error().message);
            for (const size_t i : to_mark) unmarked[i] = true;
        } else {
            for (size_t k = 0; k < to_mark.size(); ++k) marked[to_mark[k]] = std::move((*fresh)[k]);
        }
    }

    struct Attempt {
        const app::ClaimedJob* claimed;
        app::PlatformAdapter* adapter = nullptr;
        app::PublishCapabilities caps;
        app::PublishRequest req;
        std::optional<app::PublishOutcome> outcome;
        core::TimePoint started{};
        bool permit = false;
        bool renewed = false;  ///< the grant was renewed for this attempt already
    };
    std::vector<Attempt> attempts;
    attempts.reserve(jobs.size());
    for (size_t i = 0; i < jobs.size(); ++i) {
        const auto& c = jobs[i];
        if (skip[i] || unmarked[i]) continue;
        if (!marked[i]) {
            spdlog::info("event=job_stale job_id={} delivery_id={}", c.job.id, c.job.delivery_id);
            continue;
        }
        EmitChange(*marked[i]);
        Attempt a{&c};
        a.permit = permit[i];
        a.adapter = platforms_.Find(c.account.platform);
        std::string credentials;
        if (a.adapter == nullptr) {
            a.outcome = app::Rejected{"platform " + c.account.platform + " is not available on this server"};
        } else if (!c.sealed_credentials.empty()) {
            auto opened = vault_.Open(c.sealed_credentials);
            if (opened) {
                credentials = std::move(*opened);
            } else {
                a.outcome = app::AuthExpired{opened.error().message};
            }
        }
        if (a.adapter != nullptr) a.caps = a.adapter->Capabilities(c.account.settings_json);
        // A grant past its expiry (the periodic renewal did not get to it) is renewed first.
        if (!a.outcome && a.adapter != nullptr && a.adapter->Auth() == app::AuthMethod::kOAuth2) {
            const auto expires = app::CredentialsExpireAt(credentials);
            if (expires && *expires <= clock_.Now() + std::chrono::minutes(1)) {
                a.outcome = RenewGrant(c, credentials);
                a.renewed = true;
            }
        }
        a.req =
            app::PublishRequest{c.delivery.id, c.account.id,    c.account.settings_json, std::move(credentials), c.text,
                                c.thread,      c.first_comment, c.delivery.id,           c.job.attempts};
        if (!a.outcome && !c.media_ids.empty()) a.outcome = AttachMedia(c, a.req);
        a.started = clock_.Now();
        // An earlier attempt may have reached the platform: what the check finds (published,
        // unknown, or the check failed) stands; only a post that would be sent now is refused.
        if (!a.outcome && c.job.uncertain) a.outcome = Reconcile(*a.adapter, a.caps, a.req);
        if (refused[i] && !a.outcome) {
            a.outcome = app::Rejected{"Herald did not send it: " + *refused[i]};
        }
        attempts.push_back(std::move(a));
    }

    // Send what is left, one PublishBatch per platform.
    std::vector<bool> done(attempts.size(), false);
    for (size_t i = 0; i < attempts.size(); ++i) {
        if (done[i] || attempts[i].outcome) continue;
        std::vector<size_t> group;
        std::vector<app::PublishRequest> reqs;
        for (size_t k = i; k < attempts.size(); ++k) {
            if (!done[k] && !attempts[k].outcome && attempts[k].adapter == attempts[i].adapter) {
                group.push_back(k);
                reqs.push_back(attempts[k].req);
                done[k] = true;
            }
        }
        const auto started = clock_.Now();
        std::vector<app::PublishOutcome> outcomes;
        try {
            outcomes = attempts[i].adapter->PublishBatch(reqs);
        } catch (const std::exception& e) {
            // We cannot know how far the calls got before it threw.
            spdlog::error("event=adapter_threw platform={} jobs={} error=\"{}\"", attempts[i].claimed->account.platform,
                          group.size(), e.what());
        }
        for (size_t g = 0; g < group.size(); ++g) {
            auto& a = attempts[group[g]];
            a.started = started;
            a.outcome = g < outcomes.size() ? outcomes[g]
                                            : app::PublishOutcome(app::Unknown{"the publish call failed unexpectedly"});
        }
    }

    // A token the platform refused (401) is renewed and the post sent once more: the refusal
    // means nothing was published.
    for (auto& a : attempts) {
        if (a.renewed || a.adapter == nullptr || a.adapter->Auth() != app::AuthMethod::kOAuth2 ||
            !std::holds_alternative<app::AuthExpired>(*a.outcome)) {
            continue;
        }
        a.renewed = true;
        auto renewed = RenewGrant(*a.claimed, a.req.credentials);
        if (renewed) {
            a.outcome = std::move(renewed);
            continue;
        }
        try {
            a.outcome = a.adapter->Publish(a.req);
        } catch (const std::exception& e) {
            spdlog::error("event=adapter_threw platform={} jobs=1 error=\"{}\"", a.claimed->account.platform, e.what());
            a.outcome = app::Unknown{"the publish call failed unexpectedly"};
        }
    }

    const auto finished = clock_.Now();
    std::vector<app::Store::Completion> completions;
    completions.reserve(attempts.size());
    for (auto& a : attempts) {
        completions.push_back({a.claimed->job.id,
                               Decide(*a.outcome, a.claimed->job.attempts, settings_.retry, finished, a.caps,
                                      a.claimed->job.uncertain, Jitter()),
                               a.permit});
        std::optional<core::TimePoint> watch;  // until then, the account's jobs ask for permits
        if (const auto* slow = std::get_if<app::RateLimited>(&*a.outcome)) watch = slow->until;
        if (const auto* done = std::get_if<app::Published>(&*a.outcome); done != nullptr && done->quota) {
            watch = done->quota->resets_at;  // the permit path reads the reported quota
        }
        if (watch) {
            std::lock_guard lock(limits_mu_);
            auto& until = holds_[a.claimed->account.id];
            until = std::max(until, *watch);
        }
    }
    // A refused grant holds the whole account, its later posts too, until it is reconnected
    // (PUT /api/v1/accounts/{id}/credentials lifts the pause): they wait instead of failing one
    // by one. Paused before the outcome is recorded, so the job waits as it goes back.
    for (const auto& a : attempts) {
        const auto* auth = std::get_if<app::AuthExpired>(&*a.outcome);
        if (auth != nullptr) (void)app::HoldForReconnect(store_, a.claimed->account, auth->reason, finished);
    }
    if (completions.empty()) return;
    auto changes = records_.Submit(completions);
    if (!changes) {
        // Left as publishing: the lease runs out and the next attempt checks before resending.
        spdlog::error("event=record_outcome_failed jobs={} error=\"{}\"", completions.size(), changes.error().message);
        return;
    }
    for (size_t i = 0; i < attempts.size(); ++i) {
        const auto& a = attempts[i];
        const auto& c = *a.claimed;
        const auto status = completions[i].outcome.status;
        spdlog::info(
            "event=publish_attempt job_id={} delivery_id={} platform={} attempt={} status={} lateness_ms={} "
            "duration_ms={}",
            c.job.id, c.delivery.id, c.account.platform, c.job.attempts, domain::ToString(status),
            (a.started - c.job.due_at).count(), (finished - a.started).count());
        if ((*changes)[i].delivery.id.empty()) continue;  // deleted meanwhile
        EmitChange((*changes)[i]);
        if (completions[i].outcome.job_dead) {
            // For queue dashboards: a job that needs a person now sits in the dead list.
            events_.Publish(app::Event{(*changes)[i].workspace_id, "job.dead",
                                       nlohmann::json{{"job_id", c.job.id},
                                                      {"post_id", (*changes)[i].post_id},
                                                      {"delivery_id", c.delivery.id},
                                                      {"reason", completions[i].outcome.error.value_or("")}}
                                           .dump()});
        }
        if (settings_.on_attempt) {
            settings_.on_attempt(
                AttemptReport{c.job.id, c.delivery.id, c.account.platform, c.job.due_at, a.started, finished, status});
        }
    }
}

}  // namespace herald::queue
