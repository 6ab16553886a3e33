#include "api/host.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "api/api.hpp"
#include "app/credentials.hpp"
#include "app/maintenance.hpp"
#include "auth/secret_key.hpp"
#include "media/fetch.hpp"
#include "media/inspect.hpp"
#include "media/local_store.hpp"
#include "media/s3_store.hpp"
#include "net/server.hpp"
#include "platforms/registry.hpp"
#include "storage/store.hpp"

namespace herald::api {
namespace {

/// Sends events to the workspace's WebSocket topic and wakes the scheduler on post changes.
class HostEvents final : public app::EventSink {
  public:
    void Publish(const app::Event& e) override {
        if (server) {
            const std::string topic = Api::TopicFor(e.workspace_id);
            std::string text = R"({"type":")" + e.type + R"(","data":)" + e.data_json + "}";
            // Clients of other nodes (PostgreSQL installs) get it through the cluster bus.
            if (bus) bus->Publish(topic, text);
            server->Publish(topic, std::move(text));
        }
        // Posts created or changed, jobs requeued, queues resumed: work may be due now.
        if (dispatcher &&
            (e.type.rfind("post.", 0) == 0 || e.type.rfind("job.", 0) == 0 || e.type.rfind("queue.", 0) == 0)) {
            dispatcher->Notify();
        }
    }
    bool Wants(const std::string& workspace_id) const override {
        if (server == nullptr) return false;
        const std::string topic = Api::TopicFor(workspace_id);
        return server->HasListeners(topic) || (bus != nullptr && bus->RemoteListens(topic));
    }
    net::Server* server = nullptr;
    queue::Dispatcher* dispatcher = nullptr;
    storage::ClusterBus* bus = nullptr;
};

// The embedded store belongs to one server process: a second `herald serve` on the same file
// would rescue the first one's jobs as if it had died. An flock next to the database says who
// owns it; the kernel drops it when the process dies, however it dies.
core::Result<int> LockDatabase(const std::string& url) {
    constexpr std::string_view kSqlite = "sqlite:";
    if (url.rfind(kSqlite, 0) != 0) return -1;
    const std::string path = url.substr(kSqlite.size()) + ".lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return core::Fail(core::ErrorCode::kUnavailable, "cannot create lock file '" + path + "': " + strerror(errno));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return core::Fail(core::ErrorCode::kFailedPrecondition,
                          "another herald server is already using this database (" + path +
                              " is locked); stop it first, or give this one its own --data-dir");
    }
    return fd;
}

// The built-in periodic jobs: their handlers and retry policies, and their default schedules.
// The issue also asks for account health checks every 5 minutes and an hourly analytics sync;
// they are deliberately not registered: no platform adapter has a health or metrics API yet,
// and a job that reports success without checking anything would be worse than none.
void AddBuiltinTasks(queue::TaskRegistry& tasks, app::Maintenance& maintenance, app::CredentialKeeper& credentials) {
    tasks.Register(
        domain::JobKind::kRefreshToken,
        [&credentials](const queue::TaskContext&) -> core::Status {
            auto r = credentials.RenewDue();
            if (!r) return tl::unexpected(r.error());
            if (r->renewed + r->revoked + r->failed > 0) {
                spdlog::info("event=grants_renewed renewed={} revoked={} failed={}", r->renewed, r->revoked, r->failed);
            }
            return {};
        },
        // The next run comes 5 minutes later anyway; a grant that failed is still due then.
        queue::RetryPolicy{1, std::chrono::minutes(1), 0.1});
    tasks.Register(
        domain::JobKind::kCleanup,
        [&maintenance](const queue::TaskContext& ctx) -> core::Status {
            auto r = maintenance.Cleanup(ctx.now);
            if (!r) return tl::unexpected(r.error());
            return {};
        },
        queue::RetryPolicy{3, std::chrono::minutes(5), 0.1});
    tasks.Register(
        domain::JobKind::kStalledCheck,
        [&maintenance](const queue::TaskContext& ctx) -> core::Status {
            auto r = maintenance.StalledCheck(ctx.now);
            if (!r) return tl::unexpected(r.error());
            return {};
        },
        // The next check comes 15 minutes later anyway.
        queue::RetryPolicy{2, std::chrono::minutes(1), 0.1});
}

std::vector<domain::PeriodicSchedule> BuiltinSchedules(const queue::TaskRegistry& tasks) {
    auto schedule = [&](std::string name, domain::JobKind kind, std::string cron, int priority) {
        domain::PeriodicSchedule s;
        s.name = std::move(name);
        s.kind = kind;
        s.cron = std::move(cron);
        s.time_zone = "UTC";
        s.priority = priority;
        s.max_attempts = tasks.Find(kind)->retry.max_attempts;
        return s;
    };
    return {
        // Low priority: purging history can wait for posts.
        schedule("cleanup", domain::JobKind::kCleanup, "0 2 * * *", 2),
        // High priority: a backed-up queue is exactly when this must still run.
        schedule("stalled_check", domain::JobKind::kStalledCheck, "*/15 * * * *", 9),
        // High priority: a grant that lapses holds every post of its account.
        schedule("refresh_tokens", domain::JobKind::kRefreshToken, "*/5 * * * *", 8),
    };
}

// The operator's limit table, or the shipped one.
core::Result<ratelimit::LimitTable> LoadLimits(const std::string& path) {
    if (path.empty()) return ratelimit::LimitTable::Defaults();
    std::ifstream in(path);
    if (!in) return core::Fail(core::ErrorCode::kInvalidArgument, "cannot read limits_file '" + path + "'");
    std::stringstream text;
    text << in.rdbuf();
    auto table = ratelimit::LimitTable::Parse(text.str());
    if (!table) {
        return core::Fail(core::ErrorCode::kInvalidArgument,
                          "limits_file '" + path + "' is not a valid limit table: " + table.error().message);
    }
    return table;
}

// "a, b, c" → the set of its items, trimmed.
std::set<std::string> AddressList(const std::string& text) {
    std::set<std::string> out;
    std::stringstream list(text);
    for (std::string item; std::getline(list, item, ',');) {
        while (!item.empty() && item.front() == ' ') item.erase(item.begin());
        while (!item.empty() && item.back() == ' ') item.pop_back();
        if (!item.empty()) out.insert(item);
    }
    return out;
}

// The media files: on the local disk, or in an S3-compatible bucket every node shares. Spool
// files left by a crash in the middle of an upload are swept; nothing refers to them.
core::Result<std::unique_ptr<app::MediaStore>> OpenMediaStore(const core::Config& config) {
    if (config.media_store == "s3") {
        for (const auto& [key, value] : {std::pair{"media_s3_endpoint", &config.media_s3_endpoint},
                                         std::pair{"media_s3_bucket", &config.media_s3_bucket},
                                         std::pair{"media_s3_access_key_id", &config.media_s3_access_key_id},
                                         std::pair{"media_s3_secret_access_key", &config.media_s3_secret_access_key}}) {
            if (value->empty()) {
                return core::Fail(core::ErrorCode::kInvalidArgument,
                                  std::string("media_store s3 needs config ") + key + " to be set", {{"field", key}});
            }
        }
        media::S3Options o;
        o.endpoint = config.media_s3_endpoint;
        o.bucket = config.media_s3_bucket;
        o.region = config.media_s3_region;
        o.access_key_id = config.media_s3_access_key_id;
        o.secret_access_key = config.media_s3_secret_access_key;
        o.prefix = config.media_s3_prefix;
        o.path_style = config.media_s3_path_style;
        o.local_dir = config.MediaDir();
        o.cache_max_bytes = config.media_cache_max_bytes;
        auto files = std::make_unique<media::S3MediaStore>(std::move(o));
        if (auto ok = files->Open(); !ok) return tl::unexpected(ok.error());
        files->SweepSpool(std::chrono::hours(1));
        return files;
    }
    auto files = std::make_unique<media::LocalMediaStore>(config.MediaDir());
    if (auto ok = files->Open(); !ok) return tl::unexpected(ok.error());
    files->SweepSpool(std::chrono::hours(1));
    return files;
}

}  // namespace

struct Host::Parts {
    ~Parts() {
        if (lock_fd >= 0) ::close(lock_fd);
    }
    int lock_fd = -1;
    core::Config config;
    core::SystemClock clock;
    std::unique_ptr<app::Store> store;
    std::unique_ptr<auth::JwtSigner> signer;
    std::unique_ptr<auth::TokenVault> vault;
    std::unique_ptr<platforms::Registry> platforms;
    HostEvents events;
    std::unique_ptr<app::AuthService> auth;
    std::unique_ptr<app::AccountService> accounts;
    std::unique_ptr<app::CredentialKeeper> credentials;
    std::unique_ptr<app::OAuthService> oauth;
    std::unique_ptr<app::PostService> posts;
    std::unique_ptr<app::QueueService> queue;
    ratelimit::LimitTable limits;
    std::unique_ptr<app::Planner> planner;
    std::unique_ptr<app::LimitsService> limits_service;
    std::unique_ptr<app::MediaStore> media_files;
    std::unique_ptr<media::Inspector> media_inspector;
    std::unique_ptr<app::MediaService> media;
    std::unique_ptr<auth::UrlSigner> url_signer;
    std::unique_ptr<media::CurlFetcher> media_fetcher;
    queue::Metrics metrics;
    std::unique_ptr<app::Maintenance> maintenance;
    std::unique_ptr<queue::Dispatcher> dispatcher;
    std::unique_ptr<Api> api;
    std::unique_ptr<net::Server> server;
    std::unique_ptr<storage::ClusterBus> bus;  ///< PostgreSQL: the other nodes; SQLite: none
    std::mutex mu;
    std::condition_variable cv;
    bool terminate = false;
    bool stopped = false;
};

Host::Host(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Host::~Host() { Stop(); }

core::Result<std::unique_ptr<Host>> Host::Start(const core::Config& config) {
    auto p = std::make_unique<Parts>();
    p->config = config;
    std::error_code ec;
    std::filesystem::create_directories(config.data_dir, ec);
    if (ec) {
        return core::Fail(core::ErrorCode::kUnavailable,
                          "cannot create data directory '" + config.data_dir + "': " + ec.message());
    }
    // Nodes sharing a PostgreSQL database must share the key: it signs the tokens any node
    // checks and seals the credentials any worker opens. A key file made on each node's own disk
    // would differ, and the failures would look like random sign-outs and broken accounts.
    const std::string url = config.DatabaseUrl();
    if (config.secret_key.empty() && (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0)) {
        return core::Fail(core::ErrorCode::kInvalidArgument,
                          "with a PostgreSQL database, give the secret key explicitly (--secret-key or "
                          "HERALD_SECRET_KEY), the same on every node; `openssl rand -hex 32` makes one",
                          {{"field", "secret_key"}});
    }
    auto key = auth::LoadOrCreateSecretKey(config.secret_key, config.data_dir + "/secret.key");
    if (!key) return tl::unexpected(key.error());
    p->signer = std::make_unique<auth::JwtSigner>(auth::DeriveKey(*key, auth::kJwtSubkey, auth::kKdfContext));
    p->vault = std::make_unique<auth::TokenVault>(auth::DeriveKey(*key, auth::kVaultSubkey, auth::kKdfContext));
    p->url_signer = std::make_unique<auth::UrlSigner>(auth::DeriveKey(*key, auth::kUrlSubkey, auth::kKdfContext));

    auto lock = LockDatabase(config.DatabaseUrl());
    if (!lock) return tl::unexpected(lock.error());
    p->lock_fd = *lock;
    storage::StoreOptions store_options;
    store_options.publish_max_attempts = config.retry_max_attempts;
    store_options.pool_size = config.database_pool_size;
    auto store = storage::OpenStore(config.DatabaseUrl(), store_options);
    if (!store) return tl::unexpected(store.error());
    p->store = std::move(*store);
    platforms::PlatformOptions platform_options;
    platform_options.allowed_addresses = AddressList(config.platform_allowed_addresses);
    for (const auto& pair : AddressList(config.platform_base_urls)) {
        const auto eq = pair.find('=');
        platform_options.base_urls[pair.substr(0, eq)] = pair.substr(eq + 1);
    }
    for (const auto& pair : AddressList(config.platform_api_versions)) {
        const auto eq = pair.find('=');
        platform_options.api_versions[pair.substr(0, eq)] = pair.substr(eq + 1);
    }
    for (const auto& entry : AddressList(config.oauth_clients)) {
        const auto eq = entry.find('=');
        const std::string client = entry.substr(eq + 1);
        const auto colon = client.find(':');
        platform_options.oauth_clients[entry.substr(0, eq)] =
            platforms::OAuthClient{client.substr(0, colon), colon == std::string::npos ? "" : client.substr(colon + 1)};
    }
    p->platforms = platforms::BuiltinRegistry(*p->store, p->clock, platform_options);
    p->auth = std::make_unique<app::AuthService>(
        *p->store, p->clock, *p->signer,
        app::AuthSettings{config.access_token_ttl_seconds, config.refresh_token_ttl_seconds});
    p->accounts = std::make_unique<app::AccountService>(*p->store, p->clock, *p->platforms, *p->vault);
    p->credentials = std::make_unique<app::CredentialKeeper>(*p->store, p->clock, *p->platforms, *p->vault);
    p->oauth = std::make_unique<app::OAuthService>(*p->store, p->clock, *p->platforms, *p->vault, *p->accounts,
                                                   config.public_base_url);
    p->posts = std::make_unique<app::PostService>(*p->store, p->clock, *p->platforms, p->events);
    p->queue = std::make_unique<app::QueueService>(*p->store, p->clock, *p->platforms, p->events);
    auto limits = LoadLimits(config.limits_file);
    if (!limits) return tl::unexpected(limits.error());
    p->limits = std::move(*limits);

    domain::MediaLimits media_limits;
    media_limits.max_image_bytes = config.media_max_image_bytes;
    media_limits.max_video_bytes = config.media_max_video_bytes;
    // Every node has the media: API nodes take uploads, worker nodes read it to publish.
    auto files = OpenMediaStore(config);
    if (!files) return tl::unexpected(files.error());
    p->media_files = std::move(*files);
    p->media_inspector = std::make_unique<media::Inspector>();
    p->media =
        std::make_unique<app::MediaService>(*p->store, *p->media_inspector, *p->media_files, p->clock, media_limits);
    p->media->SetPlatforms(p->platforms.get());
    p->media->SetPublicLinks(p->url_signer.get(), config.public_base_url,
                             std::chrono::seconds(config.media_url_ttl_seconds));
    if (config.serve_api) {
        p->media_fetcher =
            std::make_unique<media::CurlFetcher>(AddressList(config.media_fetch_allowed_addresses),
                                                 std::chrono::seconds(config.media_fetch_timeout_seconds));
        p->media->SetFetcher(p->media_fetcher.get());
    }

    queue::DispatcherSettings ds;
    ds.media = p->media.get();
    ds.credentials = p->credentials.get();
    ds.limits = &p->limits;
    ds.lease = std::chrono::seconds(config.lease_seconds);
    p->planner = std::make_unique<app::Planner>(*p->store, p->clock, p->limits, ds.lease);
    p->limits_service = std::make_unique<app::LimitsService>(*p->store, *p->planner);
    p->posts->SetPlanner(p->planner.get());
    p->posts->SetPublicMediaUrls(!config.public_base_url.empty());
    ds.workers = std::max(1, config.workers);
    ds.worker_batch = config.worker_batch;
    ds.retry.max_attempts = config.retry_max_attempts;
    ds.retry.base = std::chrono::seconds(config.retry_base_seconds);
    queue::Metrics* metrics = &p->metrics;
    ds.on_attempt = [metrics](const queue::AttemptReport& a) { metrics->Record(a); };
    app::MaintenanceSettings ms;
    ms.history_retention = std::chrono::hours(24) * config.history_retention_days;
    ms.stalled_after = std::chrono::seconds(config.ready_max_lag_seconds);
    p->maintenance = std::make_unique<app::Maintenance>(*p->store, ms);
    AddBuiltinTasks(ds.tasks, *p->maintenance, *p->credentials);
    if (auto ok = queue::RegisterPeriodic(*p->store, BuiltinSchedules(ds.tasks), p->clock.Now()); !ok) {
        return tl::unexpected(ok.error());
    }
    p->dispatcher = std::make_unique<queue::Dispatcher>(*p->store, p->clock, *p->platforms, p->events, *p->vault, ds);
    p->events.dispatcher = p->dispatcher.get();

    // workers 0: an API-only node; the nodes that run workers publish what it accepts.
    const bool runs_workers = config.workers > 0;
    p->api = std::make_unique<Api>(ApiDeps{*p->auth, *p->accounts, *p->posts, *p->queue, *p->limits_service, *p->store,
                                           p->clock, runs_workers ? p->dispatcher.get() : nullptr,
                                           config.ready_max_lag_seconds, &p->metrics, p->media.get(), config.serve_api,
                                           p->platforms.get(), p->oauth.get(),
                                           config.public_base_url.rfind("https://", 0) == 0, config.web_dir});
    net::ServerOptions so;
    so.host = config.listen_host;
    so.port = config.listen_port;
    so.max_body_bytes = config.max_body_bytes;
    so.large_body_paths = {{"/api/v1/posts/bulk", config.bulk_max_body_bytes}};
    if (p->media) {
        so.uploads.paths = p->api->UploadPaths();
        so.uploads.spool_dir = p->media_files->SpoolDir();
        so.uploads.limits.max_file_bytes = std::max(media_limits.max_image_bytes, media_limits.max_video_bytes);
        so.uploads.limits.max_files = media_limits.max_files_per_request;
        so.uploads.max_request_bytes =
            so.uploads.limits.max_file_bytes * static_cast<uint64_t>(media_limits.max_files_per_request) + (1 << 20);
        so.uploads.min_bytes_per_second = config.upload_min_bytes_per_second;
        so.uploads.rate_grace = std::chrono::seconds(config.upload_rate_grace_seconds);
    }
    Api* api = p->api.get();
    p->server = std::make_unique<net::Server>(
        so, [api](const net::Request& r) { return api->Handle(r); },
        [api](const net::Request& r, net::Response& reject) { return api->AcceptEvents(r, reject); });
    p->events.server = p->server.get();
    if (auto ok = p->server->Start(); !ok) return tl::unexpected(ok.error());
    Parts* raw = p.get();
    p->server->OnTerminate([raw] {
        {
            std::lock_guard lock(raw->mu);
            raw->terminate = true;
        }
        raw->cv.notify_all();
    });
    if (runs_workers) p->dispatcher->Start(/*sole_owner=*/p->lock_fd >= 0);
    p->bus = storage::OpenClusterBus(config.DatabaseUrl());
    if (p->bus) {
        storage::ClusterBus::Hooks hooks;
        queue::Dispatcher* dispatcher = p->dispatcher.get();
        net::Server* server = p->server.get();
        hooks.wake = [dispatcher] { dispatcher->Notify(); };
        hooks.deliver = [server](const std::string& topic, const std::string& text) { server->Publish(topic, text); };
        hooks.local_topics = [server] { return server->Topics(); };
        p->bus->Start(std::move(hooks));
        p->events.bus = p->bus.get();
    }
    spdlog::info("event=listening url=http://{}:{} database={}", config.listen_host, p->server->Port(),
                 config.DatabaseUrl().substr(0, config.DatabaseUrl().find(':')));
    return std::unique_ptr<Host>(new Host(std::move(p)));
}

uint16_t Host::Port() const { return parts_->server->Port(); }

void Host::WaitForTermination() {
    {
        std::unique_lock lock(parts_->mu);
        parts_->cv.wait(lock, [&] { return parts_->terminate; });
    }
    Stop();
}

void Host::Stop() {
    if (parts_->stopped) return;
    parts_->stopped = true;
    const auto grace = std::chrono::seconds(parts_->config.shutdown_timeout_seconds);
    spdlog::info("event=shutting_down grace_s={}", grace.count());
    // HTTP first, so no new work arrives; then the jobs already running.
    parts_->server->Stop(grace);
    if (parts_->bus) {
        parts_->events.bus = nullptr;
        parts_->bus->Stop();
    }
    parts_->dispatcher->Stop(grace);
    spdlog::info("event=stopped");
}

}  // namespace herald::api
