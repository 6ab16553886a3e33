#pragma once

// The ports: what the services need from the outside world. storage/ implements Store,
// platforms/ implements PlatformAdapter and the registry, net/ implements EventSink.

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/arena.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "domain/account.hpp"
#include "domain/job.hpp"
#include "domain/media.hpp"
#include "domain/periodic.hpp"
#include "domain/post.hpp"
#include "domain/text.hpp"
#include "ratelimit/limits.hpp"

namespace herald::app {

// ---- platform adapters --------------------------------------------------------------------

/// One media item of a post, ready for an adapter to upload or to hand over as a link.
struct PublishMedia {
    std::string id;
    domain::MediaKind kind = domain::MediaKind::kImage;
    domain::MediaFormat format = domain::MediaFormat::kJpeg;
    std::filesystem::path path;  ///< a local file with the bytes (the store's own, or its cache)
    uint64_t bytes = 0;
    int width = 0;
    int height = 0;
    int64_t duration_ms = 0;
    std::string alt_text;
    /// A signed link anyone can download it from (Instagram, Threads, TikTok pull media);
    /// nullopt when the server has no public base URL.
    std::optional<std::string> public_url;
};

/// What an adapter gets to publish one delivery.
struct PublishRequest {
    std::string delivery_id;
    std::string account_id;
    std::string account_settings_json;  ///< non-secret settings
    std::string credentials;            ///< decrypted, never logged
    std::string text;                   ///< the variant for this platform, or the post's text
    /// Replies to post under it, in order, each answering the one before (a thread); they go
    /// out with the post, and the queue took a permit for each (Action::kReply).
    std::vector<std::string> thread;
    /// A comment to post on it once published (Action::kComment).
    std::optional<std::string> first_comment;
    std::string idempotency_key;      ///< stable across retries of the same delivery
    int attempt = 1;                  ///< 1-based
    std::vector<PublishMedia> media;  ///< the post's media, in the post's order
};

struct Published {
    std::string remote_id;
    std::string url;
    /// What the platform says is left for the account, where it says (it wins over Herald's own
    /// count of the caps).
    std::optional<ratelimit::Quota> quota;
};
struct Retryable {
    std::string reason;
};
struct RateLimited {
    core::TimePoint until;
    std::string reason;
};
struct AuthExpired {
    std::string reason;
};
struct Rejected {
    std::string reason;  ///< in plain words, shown to the user
};
struct Unknown {
    std::string reason;  ///< sent, no answer: the platform may have the post
};

/// The typed outcome of a platform call. The queue decides from the type alone.
using PublishOutcome = std::variant<Published, Retryable, RateLimited, AuthExpired, Rejected, Unknown>;

/// What an adapter can promise about a publish whose outcome is unknown (a timeout after
/// sending, or a crash mid-call). The queue never sends such a post again unless one holds.
struct PublishCapabilities {
    /// The platform deduplicates a repeated request carrying the same idempotency key
    /// (a client-chosen record key, an Idempotency-Key header): resending is safe.
    bool idempotent = false;
    /// The adapter can ask the platform whether our post exists (by a marker or fingerprint):
    /// check first, resend only if it is not there.
    bool lookup = false;
};

/// What an OAuth 2.0 grant gave, as the adapter keeps it.
struct OAuthGrant {
    std::string credentials_json;  ///< handed back to the adapter as PublishRequest::credentials
    /// When to renew it, ahead of its expiry (the periodic job does); nullopt: it does not expire.
    std::optional<core::TimePoint> refresh_at;
};

/// How a platform's accounts are connected (GET /api/v1/platforms says it to the dashboard).
enum class AuthMethod {
    kNone,         ///< nothing to give (the sandbox)
    kOAuth2,       ///< authorization code with PKCE, through the platform's consent page
    kAppPassword,  ///< handle + app password (Bluesky)
    kBotToken,     ///< a bot's token and a chat (Telegram)
    kWebhookUrl,   ///< a webhook URL (Discord)
    kPrivateKey,   ///< a signing key (Nostr)
};
std::string_view ToString(AuthMethod method);

class PlatformAdapter {
  public:
    virtual ~PlatformAdapter() = default;
    virtual std::string_view Name() const = 0;
    virtual AuthMethod Auth() const = 0;
    /// OAuth 2.0 platforms: whether the operator configured Herald's client for it
    /// (oauth_clients), without which no account can be connected.
    virtual bool OAuthReady() const { return false; }
    /// The platform's consent page for a new grant: `state` and the PKCE S256 `code_challenge`
    /// come from Herald, and the platform sends the person back to `redirect_uri`.
    virtual core::Result<std::string> AuthorizeUrl(const std::string& state, const std::string& code_challenge,
                                                   const std::string& redirect_uri) const;
    /// Trades the code the platform sent back for tokens.
    virtual core::Result<OAuthGrant> ExchangeCode(const std::string& code, const std::string& code_verifier,
                                                  const std::string& redirect_uri);
    /// Starting a consent: the page's address, and anything the adapter needs kept (sealed,
    /// with the state) until the platform sends the person back. The default is AuthorizeUrl
    /// and nothing kept; a platform whose client is registered per server (each Mastodon
    /// instance) registers here and keeps that client.
    struct OAuthStart {
        std::string url;
        std::string context;  ///< handed back to FinishOAuth
    };
    virtual core::Result<OAuthStart> BeginOAuth(const std::string& state, const std::string& code_challenge,
                                                const std::string& redirect_uri, const std::string& settings_json);
    /// The person came back with `code`: the default is ExchangeCode.
    virtual core::Result<OAuthGrant> FinishOAuth(const std::string& code, const std::string& code_verifier,
                                                 const std::string& redirect_uri, const std::string& context);
    /// A renewed grant from the stored one. kPermissionDenied: the platform says the grant is
    /// revoked or expired for good (the account must be reconnected); any other error is
    /// transient.
    virtual core::Result<OAuthGrant> RefreshGrant(const std::string& credentials_json);
    virtual domain::PlatformLimits Limits() const = 0;
    /// Checks adapter settings given when connecting or updating an account (JSON object text).
    virtual core::Status ValidateSettings(const std::string& settings_json) const = 0;
    /// Checks the credentials given when an account is connected (signing in where the
    /// platform allows it) and returns the settings to keep, with anything learned added (the
    /// account's id and handle on the platform). The default accepts them as they are.
    virtual core::Result<std::string> VerifyConnection(const std::string& settings_json,
                                                       const std::string& credentials_json) {
        (void)credentials_json;
        return settings_json;
    }
    /// What this account's platform promises; may depend on the account's settings.
    virtual PublishCapabilities Capabilities(const std::string& settings_json) const = 0;
    /// Blocking; called on a worker thread, never on an I/O thread.
    virtual PublishOutcome Publish(const PublishRequest& request) = 0;
    /// How many requests PublishBatch takes at once to good effect. 1 (the default): the
    /// platform takes one post per call, and a worker sends one job at a time, so a slow call
    /// never holds other posts back.
    virtual int MaxBatch() const { return 1; }
    /// Several deliveries at once (a worker's share of a busy moment), one outcome per request
    /// in the same order. The default sends them one after the other; an adapter whose
    /// platform takes several posts in one call (or the sandbox, which stores them in one
    /// transaction) overrides it.
    virtual std::vector<PublishOutcome> PublishBatch(const std::vector<PublishRequest>& requests) {
        std::vector<PublishOutcome> out;
        out.reserve(requests.size());
        for (const auto& r : requests) out.push_back(Publish(r));
        return out;
    }
    /// Only called when Capabilities().lookup: whether the post of `request` (same idempotency
    /// key) exists on the platform. nullopt: it does not; an error: the check itself failed.
    /// The default serves platforms that cannot be asked (and never are).
    virtual core::Result<std::optional<Published>> Lookup(const PublishRequest& request) {
        (void)request;
        return std::optional<Published>();
    }
};

/// Turns the media ids a post names into what an adapter needs (MediaService implements it).
class MediaResolver {
  public:
    virtual ~MediaResolver() = default;
    /// In the order given. kNotFound, naming the item, when one no longer exists (deleted
    /// after the post was written); kUnavailable when the media store cannot be read now.
    virtual core::Result<std::vector<PublishMedia>> ForPublish(const std::string& workspace_id,
                                                               const std::vector<std::string>& media_ids) = 0;
};

class PlatformRegistry {
  public:
    virtual ~PlatformRegistry() = default;
    /// nullptr when no adapter has that name.
    virtual PlatformAdapter* Find(std::string_view name) const = 0;
    virtual std::vector<std::string> Names() const = 0;
};

// ---- events -------------------------------------------------------------------------------

/// A change a workspace's members may watch live (WebSocket /api/v1/events).
struct Event {
    std::string workspace_id;
    std::string type;       ///< "post.updated", "delivery.updated", …
    std::string data_json;  ///< JSON object
};

class EventSink {
  public:
    virtual ~EventSink() = default;
    /// Must not block: called from request handlers and workers.
    virtual void Publish(const Event& event) = 0;
    /// Whether anyone watches this workspace's stream right now: a busy worker skips building
    /// events nobody would receive. Events that also wake work up are always published.
    virtual bool Wants(const std::string& /*workspace_id*/) const { return true; }
};

// ---- storage ------------------------------------------------------------------------------

struct UserRecord {
    domain::User user;
    std::string password_hash;
};

struct Membership {
    domain::Workspace workspace;
    domain::Role role = domain::Role::kViewer;
};

struct RefreshTokenRecord {
    std::string token_hash;
    std::string user_id;
    std::string workspace_id;
    std::string family_id;  ///< all tokens descended from one login; reuse revokes the family
    core::TimePoint expires_at{};
};

struct ApiTokenRecord {
    std::string id;
    std::string name;
    std::string token_hash;
    std::string user_id;
    std::string workspace_id;
    core::TimePoint created_at{};
    std::optional<core::TimePoint> last_used_at;
    bool revoked = false;
};

struct PostFilter {
    std::optional<domain::PostStatus> status;
    std::optional<std::string> account_id;
    std::optional<core::TimePoint> from;  ///< scheduled_at ≥ from
    std::optional<core::TimePoint> to;    ///< scheduled_at < to
    std::optional<std::string> after_id;  ///< cursor: posts with smaller ids (older)
    int limit = 50;
};

/// A job as an operator sees it: live (pending, paused, running, dead) or finished (its
/// outcome, from the history table until retention removes it).
struct JobView {
    std::string id;
    std::string kind;
    std::string state;                   ///< pending, paused, running, dead; or done for a finished job
    std::optional<std::string> outcome;  ///< finished jobs: published, failed, cancelled, done
    std::optional<std::string> workspace_id;
    std::optional<std::string> delivery_id;
    std::optional<std::string> post_id;
    std::optional<std::string> account_id;
    std::optional<std::string> platform;
    int priority = domain::kDefaultPriority;
    int attempts = 0;
    int max_attempts = 0;
    core::TimePoint due_at{};
    std::optional<core::TimePoint> lease_until;
    std::optional<std::string> last_error;
    bool uncertain = false;
    core::TimePoint created_at{};
    core::TimePoint updated_at{};  ///< finished jobs: when they finished
};

struct JobFilter {
    std::optional<std::string> workspace_id;  ///< nullopt: every workspace (operator, CLI)
    std::optional<std::string> state;         ///< pending, paused, running, dead, or done (history)
    std::optional<std::string> kind;
    std::optional<std::string> account_id;
    std::optional<std::string> platform;
    std::optional<std::string> after_id;  ///< cursor: jobs with smaller ids
    int limit = 50;
};

/// What is paused. Empty fields match everything: no field set is the whole installation.
struct PauseScope {
    std::optional<std::string> workspace_id;
    std::optional<std::string> account_id;
    std::optional<std::string> platform;
};

/// The reason of the pause the dispatcher puts on an account whose platform refused its grant
/// ("reconnect_required: …"); reconnecting the account lifts it.
inline constexpr std::string_view kReconnectRequired = "reconnect_required";

struct PauseRecord {
    std::string id;
    PauseScope scope;
    std::optional<std::string> reason;
    std::optional<std::string> created_by;
    core::TimePoint created_at{};
    int64_t jobs_paused = 0;  ///< jobs this pause holds back right now
};

struct QueueCount {
    std::string key;  ///< account id or platform name
    std::string platform;
    int64_t pending = 0, paused = 0, running = 0, dead = 0;
};

struct QueueStats {
    int64_t pending = 0;  ///< waiting, due or not
    int64_t due = 0;      ///< pending and due now
    int64_t paused = 0;
    int64_t running = 0;
    int64_t dead = 0;
    core::Millis oldest_due_age{0};
    int64_t finished_last_minute = 0;
    int64_t finished_last_hour = 0;
    int64_t succeeded_last_hour = 0;  ///< published or done
    int64_t failed_last_hour = 0;
    std::vector<QueueCount> by_account;
    std::vector<QueueCount> by_platform;
};

/// The first answer to a request sent with an Idempotency-Key.
struct IdempotencyRecord {
    std::string method;
    std::string path;
    std::string body_hash;
    int status = 0;  ///< 0: the first request has not finished
    std::string response;
    core::TimePoint created_at{};
};

/// A job as stored: live or dead in the jobs table, or finished in the history (state kDone,
/// kept for inspection until retention removes it, Store::PurgeHistory).
struct JobRecord {
    domain::Job job;
    std::string account_id;
    std::optional<std::string> last_error;
    std::optional<std::string> outcome;  ///< history only: "done", or the delivery's final status
    core::TimePoint created_at{};
    core::TimePoint updated_at{};  ///< for history: when it finished
};

/// What a recorded outcome did, for events and logs.
struct DeliveryChange {
    std::string workspace_id;
    std::string post_id;
    domain::PostStatus post_status = domain::PostStatus::kDraft;
    domain::Delivery delivery;
};

/// An account with its sealed credentials (Store::GetCredentials).
struct StoredCredentials {
    domain::Account account;
    std::string sealed;
};

/// An OAuth consent a person started and the platform has not sent back yet.
struct OAuthStateRecord {
    std::string state_hash;  ///< SHA-256 (hex) of the state sent to the platform; the state is not kept
    std::string workspace_id;
    std::string user_id;
    std::string platform;
    std::optional<std::string> account_id;  ///< reconnecting this account; nullopt: a new one
    std::string name;                       ///< the new account's name
    std::string settings_json;
    std::string sealed_verifier;  ///< the PKCE code verifier and the adapter's context (JSON), sealed
    std::string binding_hash;     ///< SHA-256 (hex) of the browser cookie that must come back with it
    std::string return_to;        ///< path on this server to send the person back to
    core::TimePoint created_at{};
    core::TimePoint expires_at{};
};

/// A claimed job with what the worker needs to run it. A publish job comes with its delivery,
/// account, sealed credentials and text; any other kind (a task) has only `job` (kind,
/// payload), and the rest stays empty.
struct ClaimedJob {
    domain::Job job;
    domain::Delivery delivery;
    domain::Account account;
    std::string sealed_credentials;
    std::string text;                 ///< variant for the account's platform, or the post's text
    std::vector<std::string> thread;  ///< the post's thread replies
    std::optional<std::string> first_comment;
    std::vector<std::string> media_ids;  ///< the post's media, in order
    std::string workspace_limits_json;   ///< the workspace's lowered limits and warm-up (ratelimit::WorkspaceLimits)
    /// Set when the claim itself moved the delivery to publishing (see Store::MarkAtClaim):
    /// the change to announce, and no separate mark is needed before the platform call.
    std::optional<DeliveryChange> marked;

    bool is_publish() const { return job.kind == domain::JobKind::kPublish; }
};

/// A task to queue: a job of any kind but publish.
struct NewTask {
    std::string id;  ///< unique; the same id twice queues one job (an idempotency key)
    domain::JobKind kind = domain::JobKind::kCleanup;
    std::string payload;  ///< JSON text
    std::optional<std::string> workspace_id;
    int priority = domain::kDefaultPriority;
    int max_attempts = 3;
    core::TimePoint due_at{};
};

/// How a task's attempt ended, decided by queue::DecideTask.
struct TaskOutcome {
    enum class Kind { kDone, kRetry, kDead };
    Kind kind = Kind::kDone;
    std::optional<std::string> error;         ///< retry and dead: why, in plain words
    std::optional<core::TimePoint> retry_at;  ///< retry: when the next attempt is due
};

/// A compare-and-set on one periodic schedule: move next_run_at from the value this process
/// read to the next one and, with a tick, queue that tick's job, in one transaction.
struct PeriodicTick {
    std::string name;
    std::optional<core::TimePoint> expected_next_run_at;  ///< what this process read (unset: NULL)
    core::TimePoint next_run_at;                          ///< the new value
    std::optional<core::TimePoint> tick;                  ///< the tick to queue; unset: only plan ahead
};

/// An operator's change to a periodic schedule (`herald periodic set`); unset fields stay.
struct PeriodicUpdate {
    std::string name;
    std::optional<std::string> cron;
    std::optional<std::string> time_zone;
    std::optional<bool> enabled;
};

/// A pending job still waiting well after it was due.
struct StalledJob {
    std::string job_id;
    domain::JobKind kind = domain::JobKind::kPublish;
    std::string delivery_id;  ///< empty for tasks
    core::TimePoint due_at{};
    int attempts = 0;
};

/// A delivery left in publishing with no live lease on its job: nobody is sending it.
struct StalledDelivery {
    std::string delivery_id;
    std::string post_id;
    std::string account_id;
    core::TimePoint publishing_since{};
    std::optional<std::string> job_id;  ///< unset: the delivery has no job at all
    std::optional<domain::JobState> job_state;
    std::optional<core::TimePoint> lease_until;
};

struct StalledWork {
    std::vector<StalledJob> overdue_jobs;
    std::vector<StalledDelivery> stuck_deliveries;
};

/// How a finished attempt is written back.
struct OutcomeRecord {
    domain::DeliveryStatus status;  ///< published, failed, scheduled (retry), unconfirmed
    std::optional<std::string> remote_id;
    std::optional<std::string> url;
    std::optional<std::string> error;
    std::optional<core::TimePoint> next_attempt_at;  ///< for a retry
    bool job_dead = false;                           ///< failed for good
    std::optional<ratelimit::Quota> quota;           ///< what the platform reported left (published)
    /// The platform may already have the post (an earlier attempt's outcome is unknown): the
    /// next attempt must check or rely on deduplication before sending.
    bool uncertain = false;
};

/// One job asking for rate-limit permits just before its platform calls: one for each action
/// the job performs (its post, its thread's replies, its first comment), taken together.
struct PermitRequest {
    std::string job_id;
    std::string account_id;
    ratelimit::Limits limits;  ///< the account's effective limit per action (may be none: a hold may apply)
};

struct PermitDecision {
    /// refused: it can never go, as it needs more at once than a cap allows (a thread longer
    /// than the hourly cap of replies); `reason` says so and nothing is sent.
    enum class Kind { kGranted, kDeferred, kGone, kRefused };
    Kind kind = Kind::kGone;               ///< gone: the job is no longer this worker's (cancelled, edited)
    core::TimePoint at{};                  ///< deferred: when the job is due again
    std::string reason;                    ///< deferred: why, in words ("hourly cap of 5 posts reached")
    std::optional<DeliveryChange> change;  ///< deferred: the delivery, now rate_limited
};

/// What the platform itself said about an account's key, besides Herald's own caps.
struct PlatformRateState {
    std::optional<core::TimePoint> hold_until;  ///< its "not before" (429 / Retry-After)
    std::string hold_reason;
    std::optional<ratelimit::Quota> quota;  ///< its last report of what is left, less permits since
};

/// What planning one account's queue needs (ratelimit::PlanQueue), read in one transaction.
struct AccountPlanInput {
    domain::Account account;
    std::string workspace_limits_json;
    /// Per action (ratelimit::kActions order): past actions, in flight ones at their effective
    /// time, oldest first; and what the platform said about that key.
    std::array<std::vector<core::TimePoint>, ratelimit::kActions.size()> logs;
    std::array<PlatformRateState, ratelimit::kActions.size()> platform;
    /// Where the waiting jobs' ids are kept: one allocation per many ids, not one per id.
    core::StringArena ids;
    struct Waiting {
        std::string_view job_id;       ///< in `ids`
        std::string_view delivery_id;  ///< in `ids`; its post: Store::PostsOfDeliveries, for the few a plan shows
        core::TimePoint due{};
        core::TimePoint rank{};  ///< its place in the queue: the due time before any deferral
        int priority = domain::kDefaultPriority;
        bool paused = false;                             ///< held by a pause: no slot until resumed
        ratelimit::Demand demand = ratelimit::kOnePost;  ///< its post, thread replies and comment
    };
    /// Publish jobs of the account that have not taken a permit yet: pending, paused, or
    /// claimed and about to ask.
    std::vector<Waiting> waiting;
};

/// Why `slot` is later than its item's due time, in words: the cap of the slot's action, the
/// platform's hold (its own words) or its reported quota. Without the "will publish at" part.
std::string WaitReason(const std::array<PlatformRateState, ratelimit::kActions.size()>& platform,
                       const ratelimit::Slot& slot, const ratelimit::Limits& limits);
/// Why a kNever slot can never go: "the thread has 5 replies, more than the hourly cap of 3
/// replies; shorten the thread or raise the limit".
std::string NeverReason(const ratelimit::Slot& slot, const ratelimit::Limits& limits, const ratelimit::Demand& demand);
/// An account's keys for ratelimit::PlanQueue: its logs and platform states with `limits`.
ratelimit::KeyStates KeysOf(const AccountPlanInput& in, const ratelimit::Limits& limits);

struct DeliveryResolution {
    enum class Action { kRetry, kMarkPublished };
    Action action = Action::kRetry;
    std::optional<std::string> url;        ///< kMarkPublished: where the post is
    std::optional<std::string> remote_id;  ///< kMarkPublished: the platform's id, if known
};

struct SandboxPost {
    std::string remote_id;
    std::string account_id;
    std::string text;
    std::string idempotency_key;
    core::TimePoint created_at{};
    std::string kind = "post";          ///< post, reply (a thread item) or comment
    std::optional<std::string> parent;  ///< the remote id it answers (replies, comments)
};

// ---- media ----------------------------------------------------------------------------------

/// What a file really is, read from its bytes.
struct MediaInfo {
    domain::MediaFormat format = domain::MediaFormat::kJpeg;
    std::string sha256;  ///< hex
    uint64_t bytes = 0;
    uint32_t width = 0;
    uint32_t height = 0;
    std::optional<int64_t> duration_ms;
    std::optional<double> frame_rate;
    std::optional<std::string> video_codec;
    std::optional<std::string> audio_codec;
};

/// Sniffs, measures and checks a file (media/inspect.hpp). Errors are the uploader's: a
/// kInvalidArgument or kUnsupportedMediaType or kPayloadTooLarge with a message a person reads.
class MediaInspector {
  public:
    virtual ~MediaInspector() = default;
    virtual core::Result<MediaInfo> Inspect(const std::filesystem::path& file, const domain::MediaLimits& limits) = 0;
    /// Writes `file` (an image) to `out` as a JPEG of at most `max_bytes`: lower quality first,
    /// then fewer pixels. kFailedPrecondition when no such version keeps the picture usable.
    virtual core::Status ReencodeImage(const std::filesystem::path& file, const std::filesystem::path& out,
                                       uint64_t max_bytes) = 0;
    /// Writes a small JPEG of the image, or of a video's first frame, to `out`.
    virtual core::Status Thumbnail(const std::filesystem::path& file, const MediaInfo& info,
                                   const std::filesystem::path& out) = 0;
};

/// Where media bytes live: the local disk by default (media/local_store.hpp), an S3-compatible
/// bucket for multi-node installs. Keys are relative paths such as `ws/2026/11/<sha256>.jpg`.
class MediaStore {
  public:
    virtual ~MediaStore() = default;
    /// Moves `file` in under `key`. Keys name their content, so a key that already holds bytes
    /// holds the same ones: the caller, which asks Exists first, drops its file instead of
    /// calling Put; a Put over existing bytes stores them again (harmless).
    virtual core::Status Put(const std::filesystem::path& file, const std::string& key) = 0;
    virtual core::Status Remove(const std::string& key) = 0;
    /// Whether the key holds bytes; an error when the store cannot tell (a remote store that
    /// does not answer), which callers must not read as "no".
    virtual core::Result<bool> Exists(const std::string& key) const = 0;
    /// A local file holding the key's bytes: the store's own file, or, for a remote store, a
    /// copy fetched into its local cache on first use. kNotFound when the key holds nothing.
    virtual core::Result<std::filesystem::path> ReadablePath(const std::string& key) = 0;
    /// A folder on the same file system as the store, for files on their way in.
    virtual std::filesystem::path SpoolDir() const = 0;
};

/// Downloads a file for `POST /api/v1/media/from-url` (media/fetch.hpp), refusing addresses
/// inside the server's own networks (server-side request forgery).
struct FetchedFile {
    std::string file_name;  ///< from the URL's last path segment; shown only
    uint64_t bytes = 0;
};

class MediaFetcher {
  public:
    virtual ~MediaFetcher() = default;
    /// Writes the body to `dest`. kInvalidArgument (details.rule: url, blocked_address,
    /// download_failed) or kPayloadTooLarge (max_bytes) for the uploader to read; `dest` is
    /// removed on any error.
    virtual core::Result<FetchedFile> Fetch(const std::string& url, const std::filesystem::path& dest,
                                            uint64_t max_bytes) = 0;
};

struct MediaFilter {
    std::string workspace_id;
    std::optional<domain::MediaKind> kind;
    std::optional<std::string> before_id;  ///< paging: items older than this one
    int limit = 50;
};

/// One storage contract, implemented by SQLite now and PostgreSQL later. Every method is one
/// transaction; every method is blocking (call it off the I/O threads).
class Store {
  public:
    virtual ~Store() = default;

    virtual core::Status Ping() = 0;

    // users, workspaces, members
    virtual core::Status CreateUserWithWorkspace(const domain::User& user, const std::string& password_hash,
                                                 const domain::Workspace& workspace) = 0;
    virtual core::Result<UserRecord> FindUserByEmail(const std::string& email) = 0;
    virtual core::Result<domain::User> GetUser(const std::string& user_id) = 0;
    /// The first workspace the user joined (the one created with them).
    virtual core::Result<Membership> PrimaryMembership(const std::string& user_id) = 0;
    virtual core::Result<Membership> GetMembership(const std::string& user_id, const std::string& workspace_id) = 0;
    virtual core::Result<std::vector<domain::Member>> ListMembers(const std::string& workspace_id) = 0;
    virtual core::Status AddMember(const std::string& workspace_id, const std::string& user_id, domain::Role role,
                                   core::TimePoint now) = 0;

    /// The account's posting schedule (domain::PostingSchedule JSON), nullopt when it has none;
    /// kNotFound when the account is not in the workspace.
    virtual core::Result<std::optional<std::string>> GetPostingSchedule(const std::string& workspace_id,
                                                                        const std::string& account_id) = 0;
    /// Sets it, or removes it with nullopt.
    virtual core::Status SetPostingSchedule(const std::string& workspace_id, const std::string& account_id,
                                            const std::optional<std::string>& schedule_json, core::TimePoint now) = 0;
    /// The times the account's waiting publish jobs hold (their place in the queue), at or
    /// after `from`: the slots already taken.
    virtual core::Result<std::vector<core::TimePoint>> QueuedTimes(const std::string& account_id,
                                                                   core::TimePoint from) = 0;
    /// The workspace's limit settings as saved (ratelimit::WorkspaceLimits JSON; empty: defaults).
    virtual core::Result<std::string> GetWorkspaceLimits(const std::string& workspace_id) = 0;
    virtual core::Status SetWorkspaceLimits(const std::string& workspace_id, const std::string& limits_json) = 0;

    // tokens
    virtual core::Status InsertRefreshToken(const RefreshTokenRecord& token) = 0;
    /// Consumes `old_hash` and stores `next` in its family. A token already consumed or revoked
    /// revokes its whole family (someone replayed it) and fails with kUnauthenticated.
    virtual core::Result<RefreshTokenRecord> RotateRefreshToken(const std::string& old_hash, RefreshTokenRecord next,
                                                                core::TimePoint now) = 0;
    virtual core::Status RevokeRefreshFamily(const std::string& token_hash) = 0;
    virtual core::Status InsertApiToken(const ApiTokenRecord& token) = 0;
    virtual core::Result<ApiTokenRecord> FindApiToken(const std::string& token_hash) = 0;
    virtual core::Result<std::vector<ApiTokenRecord>> ListApiTokens(const std::string& workspace_id,
                                                                    const std::string& user_id) = 0;
    virtual core::Status RevokeApiToken(const std::string& workspace_id, const std::string& user_id,
                                        const std::string& token_id) = 0;

    // accounts
    /// `refresh_at`: when the credentials are due for renewal (OAuth grants), for
    /// CredentialsDueForRefresh; nullopt when they do not expire.
    virtual core::Status InsertAccount(const domain::Account& account, const std::string& sealed_credentials,
                                       std::optional<core::TimePoint> refresh_at) = 0;
    core::Status InsertAccount(const domain::Account& account, const std::string& sealed_credentials) {
        return InsertAccount(account, sealed_credentials, std::nullopt);
    }
    virtual core::Result<domain::Account> GetAccount(const std::string& workspace_id, const std::string& id) = 0;
    virtual core::Result<std::vector<domain::Account>> ListAccounts(const std::string& workspace_id) = 0;
    /// Reconnecting: replaces the account's settings and credentials in one transaction.
    /// `reseal` gets the stored sealed credentials and returns the new ones, so what a new
    /// grant lacks (a refresh token) can be kept. kNotFound when the workspace has no such account.
    virtual core::Result<domain::Account> ReconnectAccount(
        const std::string& workspace_id, const std::string& id, const std::string& settings_json,
        const std::function<core::Result<std::string>(const std::string& sealed)>& reseal,
        std::optional<core::TimePoint> refresh_at) = 0;
    core::Result<domain::Account> ReconnectAccount(
        const std::string& workspace_id, const std::string& id, const std::string& settings_json,
        const std::function<core::Result<std::string>(const std::string& sealed)>& reseal) {
        return ReconnectAccount(workspace_id, id, settings_json, reseal, std::nullopt);
    }
    /// An account with its sealed credentials, whatever its workspace (renewing grants).
    virtual core::Result<StoredCredentials> GetCredentials(const std::string& account_id) = 0;
    /// Replaces the credentials only if they are still `expected` (compare and swap): false
    /// when someone renewed or reconnected them meanwhile, or the account is gone.
    virtual core::Result<bool> ReplaceCredentials(const std::string& account_id, const std::string& expected_sealed,
                                                  const std::string& sealed,
                                                  std::optional<core::TimePoint> refresh_at) = 0;
    /// Accounts whose credentials are due for renewal at `now`, soonest first.
    virtual core::Result<std::vector<std::string>> CredentialsDueForRefresh(core::TimePoint now, int limit) = 0;

    // OAuth consent in progress
    virtual core::Status InsertOAuthState(const OAuthStateRecord& state) = 0;
    /// Removes and returns the state with that hash, if it has not expired at `now` (a state is
    /// used once); expired states are dropped on the way. kNotFound otherwise.
    virtual core::Result<OAuthStateRecord> TakeOAuthState(const std::string& state_hash, core::TimePoint now) = 0;

    // posts and their deliveries; jobs follow from deliveries: a scheduled delivery has one
    // pending publish job due at the post's time, written in the same transaction.
    virtual core::Status CreatePost(const domain::Post& post) = 0;
    /// Many posts in one transaction: all are written, or none (bulk create, import).
    virtual core::Status CreatePosts(const std::vector<domain::Post>& posts) = 0;
    virtual core::Result<domain::Post> GetPost(const std::string& workspace_id, const std::string& id) = 0;
    virtual core::Result<std::vector<domain::Post>> ListPosts(const std::string& workspace_id,
                                                              const PostFilter& filter) = 0;
    /// Reads the post and calls `edit` inside the transaction, so the check in `edit` and the
    /// write cannot be split by a worker publishing meanwhile. `edit` may call this store's read
    /// methods (same thread, same transaction).
    virtual core::Result<domain::Post> UpdatePost(
        const std::string& workspace_id, const std::string& id,
        const std::function<core::Result<domain::Post>(const domain::Post&)>& edit) = 0;
    virtual core::Status DeletePost(const std::string& workspace_id, const std::string& id,
                                    const std::function<core::Status(const domain::Post&)>& check) = 0;

    // the queue
    virtual core::Result<std::optional<core::TimePoint>> NextDueAt() = 0;
    /// Says whether an account's deliveries may go straight to publishing when they are claimed,
    /// with no separate mark before the platform call. Only right where a resend can never
    /// duplicate (the platform deduplicates by our key): a claim is not synced to disk, and it is
    /// also taken a little before the call.
    using MarkAtClaim = std::function<bool(const domain::Account&)>;
    /// Claims up to `limit` due pending jobs (highest priority, then earliest) and leases them
    /// until `lease_until`. Their deliveries become queued, or publishing where `mark_at_claim`
    /// says so (then ClaimedJob::marked holds the change).
    virtual core::Result<std::vector<ClaimedJob>> ClaimDueJobs(core::TimePoint now, int limit,
                                                               core::TimePoint lease_until,
                                                               const MarkAtClaim& mark_at_claim) = 0;
    core::Result<std::vector<ClaimedJob>> ClaimDueJobs(core::TimePoint now, int limit, core::TimePoint lease_until) {
        return ClaimDueJobs(now, limit, lease_until, {});
    }
    /// Moves claimed deliveries to publishing just before the platform calls, in one
    /// transaction: once this returns, a crash leaves evidence that the posts may have been
    /// sent. One entry per job, in order; an empty entry means the claim is no longer ours (the
    /// post was cancelled or edited meanwhile): do not send that one.
    virtual core::Result<std::vector<std::optional<DeliveryChange>>> MarkPublishingBatch(
        const std::vector<std::string>& job_ids, core::TimePoint now) = 0;
    core::Result<std::optional<DeliveryChange>> MarkPublishing(const std::string& job_id, core::TimePoint now) {
        auto r = MarkPublishingBatch({job_id}, now);
        if (!r) return tl::unexpected(r.error());
        return std::move(r->front());
    }
    /// Writes finished attempts back, in one transaction. A job that is done moves to the
    /// history table (the hot table holds only live and dead jobs); a retry goes back to pending
    /// at its next time; a job failed for good stays as dead with its reason. A job that no
    /// longer exists (its post was deleted meanwhile) gets an empty change (no delivery id).
    struct Completion {
        std::string job_id;
        OutcomeRecord outcome;
        /// The attempt took a rate-limit permit (TakePermits): the outcome settles it, at the
        /// time of recording if the platform may have the post, or drops it if it cannot.
        bool permit = false;
    };
    virtual core::Result<std::vector<DeliveryChange>> RecordOutcomes(const std::vector<Completion>& done,
                                                                     core::TimePoint now) = 0;
    core::Result<DeliveryChange> RecordOutcome(const std::string& job_id, const OutcomeRecord& outcome,
                                               core::TimePoint now) {
        auto r = RecordOutcomes({Completion{job_id, outcome}}, now);
        if (!r) return tl::unexpected(r.error());
        if (r->front().delivery.id.empty()) return core::Fail(core::ErrorCode::kNotFound, "job not found");
        return std::move(r->front());
    }
    /// Asks the durable rate-limit log, in one synced transaction, whether each job may call its
    /// platform now: the log of the (account, action) is read inside the transaction (so every
    /// worker and process sees the others' permits), then a permit is written or the job is
    /// deferred. A job performing several actions (a thread: a post and its replies) takes a
    /// permit for each at once, or none. A granted permit is pending until RecordOutcomes settles it; while pending it
    /// counts as an action happening now, and once `in_flight` has passed since it was taken
    /// (its worker died) as one at that later time. A deferred job goes back to pending at the
    /// first instant the limits (and any platform hold) allow, with its attempt given back, and
    /// its delivery becomes rate_limited with that instant and the reason. Jobs of one account
    /// compete in plan order (ratelimit::PlanQueue over its waiting jobs): a job is granted a
    /// permit only when its own slot in that plan has come, so whichever worker asks first,
    /// every job goes exactly when the plan said.
    virtual core::Result<std::vector<PermitDecision>> TakePermits(const std::vector<PermitRequest>& requests,
                                                                  core::TimePoint now, core::Millis in_flight) = 0;
    /// The inputs for planning these accounts' queues (unknown ids are left out). `in_flight` as
    /// for TakePermits.
    virtual core::Result<std::vector<AccountPlanInput>> LoadPlanInputs(const std::vector<std::string>& account_ids,
                                                                       core::TimePoint now, core::Millis in_flight) = 0;
    /// Delivery id → post id, for the deliveries that exist.
    virtual core::Result<std::unordered_map<std::string, std::string>> PostsOfDeliveries(
        const std::vector<std::string>& delivery_ids) = 0;
    /// The worker still holds these jobs: push their leases out to `until` (heartbeat).
    virtual core::Status ExtendLeases(const std::vector<std::string>& job_ids, core::TimePoint until) = 0;
    /// Hands a claimed, not yet sent job back (shutdown): pending again, delivery scheduled
    /// (also from publishing, when the claim marked it: the caller vouches that nothing was sent).
    virtual core::Result<DeliveryChange> ReleaseJob(const std::string& job_id, core::TimePoint now) = 0;
    /// Jobs whose lease ran out (their worker died) go back to pending, due now. Those whose
    /// delivery was publishing may have been sent: they come back marked uncertain, and the
    /// dispatcher decides with the adapter's capabilities (resend, look up, or unconfirmed).
    virtual core::Result<std::vector<DeliveryChange>> RescueExpiredLeases(core::TimePoint now) = 0;
    /// The same for every leased job, expired or not: for a process that knows it is the only
    /// one using this store (embedded SQLite holds a lock on its data dir), so whatever is still
    /// leased belongs to a previous run that died.
    virtual core::Result<std::vector<DeliveryChange>> RescueAllLeases(core::TimePoint now) = 0;
    /// A person's decision about a delivery the queue could not finish on its own: retry it now
    /// (from failed or unconfirmed: a fresh job, attempts from zero), or record that the
    /// platform has it after all (from unconfirmed: published, with the URL they give).
    virtual core::Result<domain::Post> ResolveDelivery(const std::string& workspace_id, const std::string& post_id,
                                                       const std::string& delivery_id,
                                                       const DeliveryResolution& resolution, core::TimePoint now) = 0;
    /// Age of the oldest job that is due and not being worked on (pending, or claimed by a
    /// worker that has not started it); zero when there is none.
    virtual core::Result<core::Millis> OldestDueAge(core::TimePoint now) = 0;

    // operating the queue
    /// Jobs, newest first. state "done" reads the history of finished jobs.
    virtual core::Result<std::vector<JobView>> ListJobs(const JobFilter& filter) = 0;
    /// One job, live or finished; `workspace_id` nullopt: any workspace.
    virtual core::Result<JobView> GetJob(const std::optional<std::string>& workspace_id, const std::string& id) = 0;
    /// A dead job back to pending, due now, attempts from zero; a publish job's delivery goes
    /// back to scheduled. Anything else is refused with the reason.
    virtual core::Result<JobView> RequeueJob(const std::optional<std::string>& workspace_id, const std::string& id,
                                             core::TimePoint now) = 0;
    /// A job that is not running, or a claimed publish job not sent yet (delivery queued): gone
    /// (to history as cancelled); a publish job's delivery is cancelled. Anything else running
    /// cannot be cancelled (its platform call may be in flight).
    virtual core::Result<JobView> CancelJob(const std::optional<std::string>& workspace_id, const std::string& id,
                                            core::TimePoint now) = 0;
    /// Cancels the post's deliveries (or just `delivery_id`) that have not been sent: their jobs
    /// go. Published ones stay; one being sent right now makes the call fail and changes nothing.
    virtual core::Result<domain::Post> CancelDeliveries(const std::string& workspace_id, const std::string& post_id,
                                                        const std::optional<std::string>& delivery_id,
                                                        core::TimePoint now) = 0;
    /// Holds back every publish job the scope covers, from now on (new ones too), keeping due
    /// times. Pausing what is already paused returns the existing pause.
    virtual core::Result<PauseRecord> Pause(const PauseScope& scope, const std::optional<std::string>& reason,
                                            const std::optional<std::string>& created_by, core::TimePoint now) = 0;
    /// Lifts exactly that pause (kNotFound if there is none); returns how many jobs are
    /// pending again (jobs another pause still covers stay paused).
    virtual core::Result<int64_t> Resume(const PauseScope& scope, core::TimePoint now) = 0;
    /// Pauses that apply to a workspace (its own and installation-wide ones); nullopt: all.
    virtual core::Result<std::vector<PauseRecord>> ListPauses(const std::optional<std::string>& workspace_id) = 0;
    virtual core::Result<QueueStats> GetQueueStats(const std::optional<std::string>& workspace_id,
                                                   core::TimePoint now) = 0;

    // Idempotency-Key
    /// Reserves `key` for this request (status 0), or returns what is already there.
    virtual core::Result<std::optional<IdempotencyRecord>> ReserveIdempotencyKey(const std::string& workspace_id,
                                                                                 const std::string& user_id,
                                                                                 const std::string& key,
                                                                                 const IdempotencyRecord& request) = 0;
    /// Stores the first response (status > 0), or with status 0 drops the reservation so the
    /// request may be sent again (it created nothing).
    virtual core::Status FinishIdempotencyKey(const std::string& workspace_id, const std::string& user_id,
                                              const std::string& key, int status, const std::string& response) = 0;
    /// Forgets keys older than `before`; returns how many.
    virtual core::Result<int64_t> PurgeIdempotencyKeys(core::TimePoint before) = 0;
    // tasks: jobs of every kind but publish
    /// Queues a task. False (and nothing written) when a job with this id exists already, live,
    /// dead or in the history. A publish kind is refused: those come from posts.
    virtual core::Result<bool> EnqueueTask(const NewTask& task, core::TimePoint now) = 0;
    /// Records how a claimed task ended: done moves it to the history; retry makes it pending
    /// again at retry_at with the error; dead keeps it, dead, with the reason. `attempt` is the
    /// claim's attempt number: when the lease ran out and another worker took the job over, the
    /// numbers differ and nothing is written (false).
    virtual core::Result<bool> CompleteTask(const std::string& job_id, int attempt, const TaskOutcome& outcome,
                                            core::TimePoint now) = 0;
    /// A job by id, live, dead or finished (history); nullopt when there is none.
    virtual core::Result<std::optional<JobRecord>> FindJob(const std::string& job_id) = 0;

    // periodic schedules
    /// Registers a built-in schedule at startup. A new one is written whole, due first at
    /// `first_run_at`. An existing one keeps what an operator may have changed (cron, time zone,
    /// enabled, next run); only what the code owns (kind, priority, max attempts) is updated.
    /// Returns the schedule as stored.
    virtual core::Result<domain::PeriodicSchedule> UpsertPeriodic(const domain::PeriodicSchedule& schedule,
                                                                  core::TimePoint first_run_at,
                                                                  core::TimePoint now) = 0;
    virtual core::Result<std::vector<domain::PeriodicSchedule>> ListPeriodic() = 0;
    /// The compare-and-set that makes every tick run once however many processes race for it:
    /// the UPDATE matches only while next_run_at still holds the value this process read, and
    /// the tick's job has the id PeriodicJobId(name, tick), which the database accepts once
    /// (jobs' primary key, and history checked too). The job is due at `now`, with the tick in
    /// its id and payload ({"schedule": name, "tick": unix ms}). True when this call moved the
    /// schedule on and queued the job (or, without a tick, planned next_run_at).
    virtual core::Result<bool> ClaimPeriodicTick(const PeriodicTick& tick, core::TimePoint now) = 0;
    /// An operator's change; clears next_run_at so the scheduler plans it afresh from the new
    /// cron. kNotFound for an unknown name.
    virtual core::Result<domain::PeriodicSchedule> UpdatePeriodic(const PeriodicUpdate& update,
                                                                  core::TimePoint now) = 0;

    // maintenance
    /// Deletes up to `limit` history rows that finished before `before`, oldest first; returns
    /// how many. Small chunks keep each transaction short: call again until it returns < limit.
    virtual core::Result<int> PurgeHistory(core::TimePoint before, int limit) = 0;

    // -- media
    /// All or none.
    virtual core::Status InsertMedia(const std::vector<domain::MediaItem>& items) = 0;
    virtual core::Result<domain::MediaItem> GetMedia(const std::string& workspace_id, const std::string& id) = 0;
    /// Newest first.
    virtual core::Result<std::vector<domain::MediaItem>> ListMedia(const MediaFilter& filter) = 0;
    /// An item of the workspace with these bytes, to share its stored file.
    virtual core::Result<std::optional<domain::MediaItem>> FindMediaBySha(const std::string& workspace_id,
                                                                          const std::string& sha256) = 0;
    virtual core::Result<domain::MediaItem> SetMediaAltText(const std::string& workspace_id, const std::string& id,
                                                            const std::string& alt_text) = 0;
    /// A post of the workspace that still has to publish (not published, failed, cancelled or
    /// unconfirmed) and carries this media item, if any.
    virtual core::Result<std::optional<std::string>> PostUsingMedia(const std::string& workspace_id,
                                                                    const std::string& media_id) = 0;
    /// Deletes the item; says how many items still use its stored file.
    virtual core::Result<int64_t> DeleteMedia(const std::string& workspace_id, const std::string& id) = 0;
    /// Deletes up to `limit` dead tasks (never dead publish jobs: their delivery shows the
    /// reason until a person acts) last touched before `before`.
    virtual core::Result<int> PurgeDeadTasks(core::TimePoint before, int limit) = 0;
    /// Deletes the refresh tokens of up to `limit` login families in which no token can be used
    /// any more (every one expired by `now`, or the family revoked). Families with a live token
    /// keep their consumed ones: presenting one again is how a stolen token is detected.
    /// Returns how many tokens went.
    virtual core::Result<int> PurgeRefreshTokens(core::TimePoint now, int limit) = 0;
    /// Work that should have moved on and did not: pending jobs due before now - lag, and
    /// deliveries in publishing since before now - lag whose job holds no live lease. At most
    /// `limit` of each. Reads only.
    virtual core::Result<StalledWork> FindStalledWork(core::TimePoint now, core::Millis lag, int limit) = 0;

    // the sandbox platform's own storage: what it "published"
    /// With `deduplicate`, inserts only if no post of the account has this idempotency key and
    /// returns the stored one either way; without, always inserts (a platform that does not
    /// deduplicate, so tests can see a duplicate if the queue ever sends twice).
    virtual core::Result<SandboxPost> SandboxInsert(const SandboxPost& post, bool deduplicate) = 0;
    /// The same for several posts in one transaction; one stored post per input, in order.
    virtual core::Result<std::vector<SandboxPost>> SandboxInsertBatch(const std::vector<SandboxPost>& posts,
                                                                      const std::vector<bool>& deduplicate) = 0;
    virtual core::Result<std::optional<SandboxPost>> SandboxFind(const std::string& account_id,
                                                                 const std::string& idempotency_key) = 0;
    virtual core::Result<std::vector<SandboxPost>> SandboxList(const std::string& account_id) = 0;
};

}  // namespace herald::app
