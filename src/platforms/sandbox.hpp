#pragma once

#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "app/ports.hpp"

namespace herald::platforms {

/// How a sandbox account behaves, from its settings JSON. Lets a user try Herald and a test
/// drive every outcome the queue must handle, through the same interface as real platforms.
struct SandboxSettings {
    enum class Mode { kOk, kTransient, kReject, kRateLimit, kTimeoutAfterAccept, kAuthExpired };
    Mode mode = Mode::kOk;
    int delay_ms = 0;  ///< wait this long before answering ("slow")
    /// Wait this long after storing the post before answering: the platform has it and Herald
    /// does not know yet. A crash in this window is the one that can publish a post twice.
    int answer_delay_ms = 0;
    /// The mode applies to attempts 1..N, then it behaves (ok). For rate_limit, to the first N
    /// sends of each post: waiting out a 429 uses no attempt, so attempts would not count up.
    int fail_attempts = 1000000;
    int retry_after_seconds = 60;  ///< for rate_limit: the Retry-After it answers with
    std::string reject_reason = "the sandbox rejected this post (mode reject)";
    /// What the sandbox promises about a repeated send (app::PublishCapabilities):
    /// kIdempotent dedupes by idempotency key; kLookup does not dedupe but can be asked whether
    /// a post exists; kNone does neither, so a second send is a second post.
    enum class Dedupe { kIdempotent, kLookup, kNone };
    Dedupe dedupe = Dedupe::kIdempotent;
    /// Reports a publishing quota with every published post, as Instagram and X do: `quota`
    /// posts per rolling `quota_window_seconds` (0: no report). It does not refuse beyond it:
    /// keeping to it is Herald's job.
    int quota = 0;
    int quota_window_seconds = 3600;
};

/// Parses settings: {"mode": "ok|transient|reject|rate_limit|timeout_after_accept|auth_expired",
/// "delay_ms", "answer_delay_ms", "fail_attempts", "retry_after_seconds", "reject_reason",
/// "dedupe": "idempotent|lookup|none", "quota", "quota_window_seconds"}. Unknown keys are errors.
core::Result<SandboxSettings> ParseSandboxSettings(const std::string& json);

/// A platform that keeps what it publishes in Herald's own database (sandbox_posts), with the
/// limits of a real one (500 characters, 4 media). It deduplicates by idempotency key.
class SandboxAdapter final : public app::PlatformAdapter {
  public:
    SandboxAdapter(app::Store& store, const core::Clock& clock) : store_(store), clock_(clock) {}
    std::string_view Name() const override { return "sandbox"; }
    app::AuthMethod Auth() const override { return app::AuthMethod::kNone; }
    /// Threads of up to 25 replies, and first comments. Media like Bluesky's: up to 4 images
    /// of at most 1,000,000 bytes, or one video up to 3 minutes, not both.
    domain::PlatformLimits Limits() const override;
    core::Status ValidateSettings(const std::string& settings_json) const override;
    app::PublishCapabilities Capabilities(const std::string& settings_json) const override;
    app::PublishOutcome Publish(const app::PublishRequest& request) override;
    /// Takes bursts, like a platform answering many requests at once: a batch waits delay_ms
    /// (and answer_delay_ms) once, the longest of its accounts', not once per post.
    int MaxBatch() const override { return 256; }
    /// Stores every well-behaved request of the batch in one transaction.
    std::vector<app::PublishOutcome> PublishBatch(const std::vector<app::PublishRequest>& requests) override;
    core::Result<std::optional<app::Published>> Lookup(const app::PublishRequest& request) override;

  private:
    // What a quota of `quota` posts per rolling `window` leaves the account, now.
    std::optional<ratelimit::Quota> QuotaLeft(const std::string& account_id, int quota, core::Millis window);
    /// Stores the post's thread replies (each answering the one before) and its first comment,
    /// under keys derived from the post's, so that a retry finds what is already there.
    core::Status StoreFollowUps(const app::PublishRequest& req, const std::string& head, bool dedupe);

    app::Store& store_;
    const core::Clock& clock_;
    std::mutex mu_;
    std::unordered_map<std::string, int> sends_;  ///< rate_limit mode: sends seen, by idempotency key
};

}  // namespace herald::platforms
