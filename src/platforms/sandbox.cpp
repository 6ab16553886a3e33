#include "platforms/sandbox.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/ids.hpp"

namespace herald::platforms {
namespace {

core::Result<int> IntSetting(const nlohmann::json& v, const std::string& key, int min, int max) {
    if (!v.is_number_integer() || v.get<int64_t>() < min || v.get<int64_t>() > max) {
        return core::FieldError(
            "settings." + key, "range",
            "settings." + key + " must be a whole number from " + std::to_string(min) + " to " + std::to_string(max));
    }
    return static_cast<int>(v.get<int64_t>());
}

}  // namespace

core::Result<SandboxSettings> ParseSandboxSettings(const std::string& json) {
    SandboxSettings s;
    auto doc = nlohmann::json::parse(json.empty() ? "{}" : json, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        return core::FieldError("settings", "object", "settings must be a JSON object");
    }
    for (auto& [key, v] : doc.items()) {
        if (key == "mode") {
            static const std::pair<const char*, SandboxSettings::Mode> kModes[] = {
                {"ok", SandboxSettings::Mode::kOk},
                {"transient", SandboxSettings::Mode::kTransient},
                {"auth_expired", SandboxSettings::Mode::kAuthExpired},
                {"reject", SandboxSettings::Mode::kReject},
                {"rate_limit", SandboxSettings::Mode::kRateLimit},
                {"timeout_after_accept", SandboxSettings::Mode::kTimeoutAfterAccept}};
            bool found = false;
            for (const auto& [name, mode] : kModes) {
                if (v.is_string() && v.get<std::string>() == name) {
                    s.mode = mode;
                    found = true;
                }
            }
            if (!found) {
                return core::FieldError("settings.mode", "enum",
                                        "settings.mode must be one of ok, transient, reject, rate_limit, "
                                        "timeout_after_accept");
            }
        } else if (key == "delay_ms") {
            auto n = IntSetting(v, key, 0, 120000);
            if (!n) return tl::unexpected(n.error());
            s.delay_ms = *n;
        } else if (key == "answer_delay_ms") {
            auto n = IntSetting(v, key, 0, 120000);
            if (!n) return tl::unexpected(n.error());
            s.answer_delay_ms = *n;
        } else if (key == "fail_attempts") {
            auto n = IntSetting(v, key, 0, 1000000);
            if (!n) return tl::unexpected(n.error());
            s.fail_attempts = *n;
        } else if (key == "quota") {
            auto n = IntSetting(v, key, 1, 1000000);
            if (!n) return tl::unexpected(n.error());
            s.quota = *n;
        } else if (key == "quota_window_seconds") {
            auto n = IntSetting(v, key, 1, 7 * 86400);
            if (!n) return tl::unexpected(n.error());
            s.quota_window_seconds = *n;
        } else if (key == "retry_after_seconds") {
            auto n = IntSetting(v, key, 1, 86400);
            if (!n) return tl::unexpected(n.error());
            s.retry_after_seconds = *n;
        } else if (key == "reject_reason") {
            if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > 500) {
                return core::FieldError("settings.reject_reason", "string",
                                        "settings.reject_reason must be a text of 1 to 500 characters");
            }
            s.reject_reason = v.get<std::string>();
        } else if (key == "dedupe") {
            const std::string v_text = v.is_string() ? v.get<std::string>() : "";
            if (v_text == "idempotent") {
                s.dedupe = SandboxSettings::Dedupe::kIdempotent;
            } else if (v_text == "lookup") {
                s.dedupe = SandboxSettings::Dedupe::kLookup;
            } else if (v_text == "none") {
                s.dedupe = SandboxSettings::Dedupe::kNone;
            } else {
                return core::FieldError("settings.dedupe", "enum",
                                        "settings.dedupe must be one of idempotent, lookup, none");
            }
        } else {
            return core::FieldError(
                "settings." + key, "unknown_field",
                "settings." + key +
                    " is not a sandbox setting (known: mode, delay_ms, answer_delay_ms, "
                    "fail_attempts, retry_after_seconds, reject_reason, dedupe, quota, quota_window_seconds)");
        }
    }
    return s;
}

domain::PlatformLimits SandboxAdapter::Limits() const {
    domain::PlatformLimits l{500, 4, 25, true, {}};
    l.media.max_images = 4;
    l.media.max_videos = 1;
    l.media.max_image_bytes = 1'000'000;
    l.media.max_video_ms = 180'000;
    return l;
}

core::Status SandboxAdapter::ValidateSettings(const std::string& settings_json) const {
    auto s = ParseSandboxSettings(settings_json);
    if (!s) return tl::unexpected(s.error());
    return {};
}

app::PublishCapabilities SandboxAdapter::Capabilities(const std::string& settings_json) const {
    auto s = ParseSandboxSettings(settings_json);
    if (!s) return {};
    return {s->dedupe == SandboxSettings::Dedupe::kIdempotent, s->dedupe == SandboxSettings::Dedupe::kLookup};
}

namespace {

std::string SandboxUrl(const std::string& account_id, const std::string& remote_id) {
    return "https://sandbox.herald.invalid/" + account_id + "/posts/" + remote_id;
}

}  // namespace

core::Result<std::optional<app::Published>> SandboxAdapter::Lookup(const app::PublishRequest& req) {
    auto found = store_.SandboxFind(req.account_id, req.idempotency_key);
    if (!found) return tl::unexpected(found.error());
    if (!*found) return std::optional<app::Published>{};
    // The post is there; its thread may not be complete (the earlier attempt stopped half-way):
    // each missing item is found missing by its own key and sent, as an adapter that can look
    // up does item by item.
    if (auto follow = StoreFollowUps(req, (*found)->remote_id, /*dedupe=*/true); !follow) {
        return tl::unexpected(follow.error());
    }
    return std::optional<app::Published>(
        app::Published{(*found)->remote_id, SandboxUrl(req.account_id, (*found)->remote_id)});
}

app::PublishOutcome SandboxAdapter::Publish(const app::PublishRequest& req) { return PublishBatch({req}).front(); }

std::optional<ratelimit::Quota> SandboxAdapter::QuotaLeft(const std::string& account_id, int quota,
                                                          core::Millis window) {
    auto posts = store_.SandboxList(account_id);
    if (!posts) return std::nullopt;
    const auto now = clock_.Now();
    int used = 0;
    auto oldest = now;
    for (const auto& p : *posts) {
        if (p.kind == "post" && p.created_at > now - window) {
            ++used;
            oldest = std::min(oldest, p.created_at);
        }
    }
    return ratelimit::Quota{std::max(0, quota - used), oldest + window};
}

core::Status SandboxAdapter::StoreFollowUps(const app::PublishRequest& req, const std::string& head, bool dedupe) {
    std::string parent = head;
    for (size_t i = 0; i < req.thread.size(); ++i) {
        auto stored = store_.SandboxInsert(
            app::SandboxPost{core::NewId(clock_.Now()), req.account_id, req.thread[i],
                             req.idempotency_key + "/reply/" + std::to_string(i + 1), clock_.Now(), "reply", parent},
            dedupe);
        if (!stored) return tl::unexpected(stored.error());
        parent = stored->remote_id;
    }
    if (req.first_comment) {
        auto stored =
            store_.SandboxInsert(app::SandboxPost{core::NewId(clock_.Now()), req.account_id, *req.first_comment,
                                                  req.idempotency_key + "/comment", clock_.Now(), "comment", head},
                                 dedupe);
        if (!stored) return tl::unexpected(stored.error());
    }
    return {};
}

std::vector<app::PublishOutcome> SandboxAdapter::PublishBatch(const std::vector<app::PublishRequest>& requests) {
    using Mode = SandboxSettings::Mode;
    std::vector<std::optional<app::PublishOutcome>> outcomes(requests.size());
    std::vector<app::SandboxPost> to_store;
    std::vector<bool> dedupe;
    std::vector<bool> follow_dedupe;                        // per stored post: whether its thread items deduplicate
    std::vector<size_t> stored_for;                         // request index of each post in to_store
    std::vector<bool> answer_lost(requests.size(), false);  // accepted, then no answer
    std::vector<std::pair<int, int>> quota(requests.size(), {0, 0});  // (posts, window seconds) to report
    int delay_ms = 0;
    int answer_delay_ms = 0;
    for (size_t i = 0; i < requests.size(); ++i) {
        const auto& req = requests[i];
        auto settings = ParseSandboxSettings(req.account_settings_json);
        if (!settings) {
            outcomes[i] = app::Rejected{"the sandbox account's settings are invalid: " + settings.error().message};
            continue;
        }
        delay_ms = std::max(delay_ms, settings->delay_ms);
        quota[i] = {settings->quota, settings->quota_window_seconds};
        bool misbehave = req.attempt <= settings->fail_attempts;
        if (settings->mode == Mode::kRateLimit) {
            std::lock_guard lock(mu_);
            misbehave = ++sends_[req.idempotency_key] <= settings->fail_attempts;
        }
        if (misbehave) {
            switch (settings->mode) {
                case Mode::kOk:
                    break;
                case Mode::kTransient:
                    outcomes[i] = app::Retryable{"the sandbox is temporarily unavailable (HTTP 503)"};
                    break;
                case Mode::kAuthExpired:
                    outcomes[i] =
                        app::AuthExpired{"the sandbox no longer accepts the account's token (mode auth_expired)"};
                    break;
                case Mode::kReject:
                    outcomes[i] = app::Rejected{settings->reject_reason};
                    break;
                case Mode::kRateLimit:
                    outcomes[i] = app::RateLimited{clock_.Now() + std::chrono::seconds(settings->retry_after_seconds),
                                                   "the sandbox rate limit was hit (HTTP 429, Retry-After " +
                                                       std::to_string(settings->retry_after_seconds) + "s)"};
                    break;
                case Mode::kTimeoutAfterAccept:
                    answer_lost[i] = true;  // stored below, then no answer
                    break;
            }
        }
        // A platform reads every byte it is sent: so does the sandbox, and refuses a file that
        // is not what the media library says it is.
        for (const auto& m : req.media) {
            std::error_code ec;
            if (outcomes[i]) break;
            if (std::filesystem::file_size(m.path, ec) != m.bytes || ec) {
                outcomes[i] = app::Rejected{"the sandbox could not read media item " + m.id + " (" +
                                            std::to_string(m.bytes) + " bytes expected)"};
            }
        }
        if (outcomes[i]) continue;
        answer_delay_ms = std::max(answer_delay_ms, settings->answer_delay_ms);
        to_store.push_back(
            app::SandboxPost{core::NewId(clock_.Now()), req.account_id, req.text, req.idempotency_key, clock_.Now()});
        dedupe.push_back(settings->dedupe == SandboxSettings::Dedupe::kIdempotent);
        // Where the platform can deduplicate or be asked, a thread's items are checked one by
        // one on a retry: only the missing ones are sent.
        follow_dedupe.push_back(settings->dedupe != SandboxSettings::Dedupe::kNone);
        stored_for.push_back(i);
    }
    // "Slow" is real time on purpose: it exercises timeouts and in-flight shutdown.
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    if (!to_store.empty()) {
        // One transaction for the lot, as a platform taking a burst of requests at once would.
        auto stored = store_.SandboxInsertBatch(to_store, dedupe);
        // Stored and not yet answered: what a crash here leaves behind is a post the platform
        // has and Herald does not know about.
        if (stored && answer_delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(answer_delay_ms));
        for (size_t k = 0; k < stored_for.size(); ++k) {
            const size_t i = stored_for[k];
            if (!stored) {
                outcomes[i] = app::Retryable{"the sandbox could not store the post: " + stored.error().message};
            } else if (auto follow = StoreFollowUps(requests[i], (*stored)[k].remote_id, follow_dedupe[k]); !follow) {
                // The post is there, its thread is not complete: what a platform failing half-way
                // through a thread leaves. A retry (or a lookup) finds what is stored, by its key,
                // and sends the rest.
                outcomes[i] =
                    app::Unknown{"the sandbox stored the post but not all of its thread: " + follow.error().message};
            } else if (answer_lost[i]) {  // all of it stored, then no answer
                outcomes[i] = app::Unknown{"the sandbox accepted the request but never answered (timed out)"};
            } else {
                const auto& post = (*stored)[k];
                outcomes[i] = app::Published{post.remote_id, SandboxUrl(requests[i].account_id, post.remote_id),
                                             quota[i].first > 0 ? QuotaLeft(requests[i].account_id, quota[i].first,
                                                                            std::chrono::seconds(quota[i].second))
                                                                : std::nullopt};
            }
        }
    }
    std::vector<app::PublishOutcome> out;
    out.reserve(outcomes.size());
    for (auto& o : outcomes) out.push_back(std::move(*o));
    return out;
}

}  // namespace herald::platforms
