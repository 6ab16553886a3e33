// herald: one binary, subcommands (DESIGN.md "One binary, two deployments").

#include <malloc.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <map>

#include "api/host.hpp"
#include "app/auth_service.hpp"
#include "auth/jwt.hpp"
#include "auth/secret_key.hpp"
#include "cli/bench_limits.hpp"
#include "cli/bench_queue.hpp"
#include "cli/operate.hpp"
#include "cli/periodic_cmd.hpp"
#include "core/config.hpp"
#include "platforms/registry.hpp"
#include "storage/copy.hpp"
#include "storage/store.hpp"

namespace {

using herald::core::Config;

struct ConfigFlags {
    std::string config_file;
    std::map<std::string, std::string> values;
};

// Registers one --flag per config key; only the ones given land in `flags.values`.
void AddConfigOptions(CLI::App* cmd, ConfigFlags& flags) {
    cmd->add_option("--config", flags.config_file, "JSON config file (keys as below, snake_case); env HERALD_CONFIG");
    struct Opt {
        const char* key;
        const char* help;
    };
    static const Opt opts[] = {
        {"listen", "HOST:PORT to listen on (default 127.0.0.1:8080; port 0 picks one); env HERALD_LISTEN"},
        {"data_dir", "directory for the database, media and secret key (default ./data); env HERALD_DATA_DIR"},
        {"database",
         "database URL, sqlite:PATH or postgres://USER@HOST:PORT/DB (default: sqlite in the data dir); env "
         "HERALD_DATABASE_URL"},
        {"database_pool_size",
         "PostgreSQL: most connections this process opens, besides one for LISTEN/NOTIFY (default 8)"},
        {"secret_key",
         "32-byte key, hex or base64, that encrypts credentials and signs tokens (default: "
         "DATA_DIR/secret.key, created mode 0600); env HERALD_SECRET_KEY"},
        {"max_body_bytes", "largest request body accepted, bytes (default 1048576)"},
        {"bulk_max_body_bytes", "largest body for POST /api/v1/posts/bulk, bytes (default 33554432)"},
        {"ready_max_lag_seconds", "/readyz fails when due work waits longer than this (default 60)"},
        {"retry_base_seconds", "first retry delay of a failed publish, doubled each time (default 600)"},
        {"retry_max_attempts", "publish attempts in all before a delivery fails for good (default 4)"},
        {"access_token_ttl_seconds", "access token lifetime (default 900)"},
        {"refresh_token_ttl_seconds", "refresh token lifetime (default 2592000)"},
        {"workers", "publishing threads (default 4); 0: an API-only node that publishes nothing"},
        {"lease_seconds",
         "a claimed job belongs to its worker this long without a heartbeat; with several nodes, how long a dead "
         "node's jobs wait (default 60)"},
        {"worker_batch", "most jobs a worker sends at once to a platform that takes batches (default 256)"},
        {"shutdown_timeout_seconds", "on SIGTERM, wait this long for in-flight work (default 30)"},
        {"history_retention_days",
         "keep finished jobs (and dead tasks) this many days; the daily cleanup purges older ones (default 30)"},
        {"log_level", "trace, debug, info, warn or error (default info)"},
        {"web_dir", "the dashboard's built files, served at every path that is not the API's (default: none)"},
        {"limits_file", "the platforms' posting caps, JSON as GET /api/v1/limits shows (default: the shipped table)"},
        {"media_dir", "uploaded media; with media_store s3 this node's spool and cache (default DATA_DIR/media)"},
        {"media_store", "local (files under media_dir, one node) or s3 (a bucket all nodes share) (default local)"},
        {"media_s3_endpoint", "media_store s3: http(s)://host[:port] of the S3 API"},
        {"media_s3_bucket", "media_store s3: the bucket, created beforehand"},
        {"media_s3_region", "media_store s3: the signing region (default us-east-1)"},
        {"media_s3_access_key_id", "media_store s3: the access key id"},
        {"media_s3_secret_access_key",
         "media_store s3: the secret; prefer env HERALD_MEDIA_S3_SECRET_ACCESS_KEY to this flag"},
        {"media_s3_prefix", "media_store s3: before every object name, e.g. herald/"},
        {"media_s3_path_style", "media_store s3: true host/bucket/key, false bucket.host/key (AWS) (default true)"},
        {"media_cache_max_bytes", "media_store s3: this node's read cache, bytes (default 2147483648)"},
        {"media_max_image_bytes", "larger images are refused, bytes (default 10485760)"},
        {"media_max_video_bytes", "larger videos are refused, bytes (default 104857600)"},
        {"upload_min_bytes_per_second", "after the grace, slower uploads are cut off (default 16384)"},
        {"upload_rate_grace_seconds", "how long an upload may start slowly (default 10)"},
        {"public_base_url", "how the internet reaches this server, for signed media links (default: none)"},
        {"media_url_ttl_seconds", "how long a signed media link works (default 86400)"},
        {"media_fetch_allowed_addresses",
         "comma-separated IP:PORT pairs POST /media/from-url may reach although private (default: none)"},
        {"media_fetch_timeout_seconds", "a whole from-url download at most (default 120)"},
        {"platform_allowed_addresses",
         "comma-separated IP:PORT pairs where account-named servers (a PDS, an instance) may be although private"},
        {"platform_base_urls", "comma-separated NAME=URL pairs: where a platform's API is, e.g. telegram=https://…"},
        {"platform_api_versions",
         "comma-separated NAME=VERSION pairs: the API version asked of a platform, e.g. linkedin=202605"},
        {"oauth_clients",
         "comma-separated NAME=CLIENT_ID:CLIENT_SECRET: the OAuth clients registered with the platforms; prefer env "
         "HERALD_OAUTH_CLIENTS to this flag"},
    };
    std::map<std::string, const char*> help;
    for (const auto& o : opts) help[o.key] = o.help;
    // Every config key is a flag; the README's table says the same at more length.
    for (const auto& key : herald::core::ConfigKeys()) {
        std::string flag = "--" + key;
        for (auto& c : flag) c = c == '_' ? '-' : c;
        auto it = help.find(key);
        cmd->add_option_function<std::string>(
            flag, [&flags, key](const std::string& v) { flags.values[key] = v; },
            it == help.end() ? "see the README's Configuration table" : it->second);
    }
}

herald::core::Result<Config> ResolveConfig(const ConfigFlags& flags) {
    std::string file = flags.config_file;
    if (file.empty()) {
        if (const char* env = std::getenv("HERALD_CONFIG")) file = env;
    }
    return herald::core::LoadConfig(file, flags.values, herald::core::ConfigFromEnvironment());
}

void SetupLogging(const std::string& level) {
    auto logger = spdlog::stderr_color_mt("herald");
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ level=%l %v", spdlog::pattern_time_type::utc);
    spdlog::set_level(spdlog::level::from_str(level));
}

int Fail(const herald::core::Error& e) {
    std::cerr << "herald: " << e.message << "\n";
    return 1;
}

// `herald serve`, or with `worker_only` `herald worker`: the same process without the public
// API (health, readiness and metrics stay, for the orchestrator and Prometheus).
int Serve(const ConfigFlags& flags, bool worker_only = false) {
    auto config = ResolveConfig(flags);
    if (!config) return Fail(config.error());
    SetupLogging(config->log_level);
    if (worker_only) {
        if (config->workers == 0) {
            return Fail(herald::core::Error{herald::core::ErrorCode::kInvalidArgument,
                                            "herald worker with --workers 0 would do nothing; give it workers",
                                            {{"field", "workers"}}});
        }
        config->serve_api = false;
    }
    auto host = herald::api::Host::Start(*config);
    if (!host) return Fail(host.error());
    const std::string url = "http://" + config->listen_host + ":" + std::to_string((*host)->Port());
    if (worker_only) {
        std::cout << "Herald is running at " << url << " as a worker: no public API, only /healthz, /readyz, /metrics\n"
                  << "  Stop with Ctrl-C (in-flight work finishes first).\n"
                  << std::flush;
        (*host)->WaitForTermination();
        return 0;
    }
    std::cout << "Herald is running at " << url << "\n"
              << "  Create your account:  curl -X POST " << url
              << "/api/v1/auth/register -H 'Content-Type: application/json' "
                 "-d '{\"email\":\"you@example.com\",\"password\":\"a long password\",\"name\":\"You\"}'\n"
              << "  or from the shell:    herald user add --email you@example.com --name You\n"
              << "  Then log in:          POST " << url << "/api/v1/auth/login {email, password}\n"
              << "  API description:      " << url << "/api/v1/openapi.json\n"
              << "  Stop with Ctrl-C (in-flight work finishes first).\n"
              << std::flush;
    (*host)->WaitForTermination();
    return 0;
}

int Migrate(const ConfigFlags& flags) {
    auto config = ResolveConfig(flags);
    if (!config) return Fail(config.error());
    SetupLogging(config->log_level);
    std::error_code ec;
    std::filesystem::create_directories(config->data_dir, ec);
    auto applied = herald::storage::Migrate(config->DatabaseUrl());
    if (!applied) return Fail(applied.error());
    std::cout << "migrations applied: " << *applied << "\n";
    return 0;
}

// `herald migrate --from sqlite:PATH --to postgres://…`: moves an installation to PostgreSQL
// (storage/copy.hpp). Progress on stderr, the summary on stdout; URLs only with masked passwords.
int MigrateCopy(const std::string& from, const std::string& to) {
    using herald::storage::CopyProgress;
    SetupLogging("warn");
    const bool tty = isatty(STDERR_FILENO) != 0;
    std::cerr << "herald: copying " << herald::storage::MaskDatabaseUrl(from) << " into "
              << herald::storage::MaskDatabaseUrl(to) << "\n";
    bool open_line = false;  // a terminal line being rewritten in place
    auto report = herald::storage::CopyStore(from, to, [&](const CopyProgress& p) {
        const char* what = p.phase == CopyProgress::Phase::kCopy ? "copy  " : "verify";
        if (tty) {
            std::cerr << "\r  " << what << " " << p.table << ": " << p.rows_done << " / " << p.rows_total << "\033[K";
            open_line = !p.finished;
            if (p.finished) std::cerr << "\n";
            std::cerr << std::flush;
        } else if (p.finished || p.rows_done > 0) {
            std::cerr << "  " << what << " " << p.table << ": " << p.rows_done << " / " << p.rows_total
                      << (p.finished ? "" : " …") << "\n";
        }
    });
    if (open_line) std::cerr << "\n";
    if (!report) return Fail(report.error());
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f", report->seconds);
    std::cout << "copied " << report->tables.size() << " tables, " << report->rows << " rows in " << seconds
              << " s (migrations applied first: " << report->source_migrations << " to the source, "
              << report->destination_migrations << " to the destination)\n"
              << "verified before commit: every table's row count and SHA-256 checksum in PostgreSQL equal SQLite's\n"
              << "next: start herald with --database '" << herald::storage::MaskDatabaseUrl(to)
              << "' (or HERALD_DATABASE_URL); the SQLite files are left as they were\n";
    return 0;
}

int UserAdd(const ConfigFlags& flags, const std::string& email, const std::string& name, std::string password) {
    auto config = ResolveConfig(flags);
    if (!config) return Fail(config.error());
    SetupLogging(config->log_level);
    if (password.empty()) {
        // Read from stdin so the password stays out of the process list and shell history.
        if (isatty(STDIN_FILENO)) std::cerr << "password: " << std::flush;
        std::getline(std::cin, password);
    }
    std::error_code ec;
    std::filesystem::create_directories(config->data_dir, ec);
    auto key = herald::auth::LoadOrCreateSecretKey(config->secret_key, config->data_dir + "/secret.key");
    if (!key) return Fail(key.error());
    auto store = herald::storage::OpenStore(config->DatabaseUrl(), {config->retry_max_attempts});
    if (!store) return Fail(store.error());
    herald::core::SystemClock clock;
    herald::auth::JwtSigner signer(herald::auth::DeriveKey(*key, herald::auth::kJwtSubkey, herald::auth::kKdfContext));
    herald::app::AuthService auth(**store, clock, signer, {});
    auto session = auth.Register(email, password, name);
    if (!session) return Fail(session.error());
    std::cout << "user " << session->user.email << " created (id " << session->user.id << ", workspace "
              << session->workspace.id << ")\n";
    return 0;
}

// For the commands that work on the store directly (jobs, queue, import).
herald::core::Result<std::unique_ptr<herald::app::Store>> OpenConfiguredStore(const ConfigFlags& flags) {
    auto config = ResolveConfig(flags);
    if (!config) return tl::unexpected(config.error());
    SetupLogging(config->log_level == "info" ? "warn" : config->log_level);
    if (config->DatabaseUrl().rfind("sqlite:", 0) == 0 &&
        !std::filesystem::exists(config->DatabaseUrl().substr(std::string_view("sqlite:").size()))) {
        return herald::core::Fail(herald::core::ErrorCode::kNotFound,
                                  "no database at " + config->DatabaseUrl() +
                                      "; give the server's --data-dir (or run herald serve once first)");
    }
    return herald::storage::OpenStore(config->DatabaseUrl(), {config->retry_max_attempts});
}

}  // namespace

int main(int argc, char** argv) {
    // Large plans and bulk imports build lists of tens of megabytes and drop them again. By
    // default glibc maps each such list afresh and hands it back to the system when freed, so
    // every plan pays a page fault per 4 KiB again (a third of a million-delivery plan's time
    // on this VM). Keep up to 256 MiB of freed memory for reuse, and serve lists up to 32 MiB
    // (glibc's ceiling) from that heap instead of fresh mappings.
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
    CLI::App app{"Herald: self-hosted social media scheduling and publishing server"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "herald 0.1.0");

    ConfigFlags serve_flags;
    auto* serve = app.add_subcommand("serve", "run the HTTP API, WebSocket events, scheduler and workers");
    AddConfigOptions(serve, serve_flags);
    ConfigFlags worker_flags;
    auto* worker = app.add_subcommand(
        "worker", "run the scheduler and workers only, for installations on PostgreSQL with several nodes");
    AddConfigOptions(worker, worker_flags);

    ConfigFlags migrate_flags;
    auto* migrate = app.add_subcommand(
        "migrate",
        "apply database schema migrations and exit; with --from and --to, move an installation from SQLite to "
        "PostgreSQL");
    AddConfigOptions(migrate, migrate_flags);
    std::string migrate_from, migrate_to;
    auto* migrate_from_opt =
        migrate->add_option("--from", migrate_from,
                            "copy everything from this SQLite database, sqlite:PATH or sqlite://PATH (stop the "
                            "server first); needs --to");
    auto* migrate_to_opt = migrate->add_option(
        "--to", migrate_to,
        "... into this new, empty PostgreSQL database, postgres://USER@HOST/DB (password: PGPASSWORD or ~/.pgpass); "
        "needs --from");
    migrate_from_opt->needs(migrate_to_opt);
    migrate_to_opt->needs(migrate_from_opt);

    ConfigFlags user_flags;
    auto* user = app.add_subcommand("user", "manage users");
    user->require_subcommand(1);
    auto* user_add = user->add_subcommand("add", "create a user with their own workspace (they become its owner)");
    std::string email, name, password;
    user_add->add_option("--email", email, "email address (login name)")->required();
    user_add->add_option("--name", name, "display name")->required();
    user_add->add_option("--password", password,
                         "password (min 8 characters); omit to read it from standard input (safer)");
    AddConfigOptions(user_add, user_flags);

    ConfigFlags periodic_flags;
    auto* periodic = app.add_subcommand("periodic", "list or change the periodic jobs (cleanup, stalled_check)");
    periodic->require_subcommand(1);
    auto* periodic_list = periodic->add_subcommand("list", "show every periodic job, its schedule and next run");
    AddConfigOptions(periodic_list, periodic_flags);
    auto* periodic_set = periodic->add_subcommand("set", "change a periodic job's cron, time zone, or turn it on/off");
    herald::cli::PeriodicSetOptions ps;
    periodic_set->add_option("name", ps.name, "the periodic job, e.g. cleanup")->required();
    periodic_set->add_option_function<std::string>(
        "--cron", [&ps](const std::string& v) { ps.cron = v; }, "five-field cron expression, e.g. \"30 3 * * *\"");
    periodic_set->add_option_function<std::string>(
        "--timezone", [&ps](const std::string& v) { ps.time_zone = v; }, "IANA time zone the cron reads in, e.g. UTC");
    auto* enable = periodic_set->add_flag_callback(
        "--enable", [&ps] { ps.enabled = true; }, "turn it on");
    periodic_set
        ->add_flag_callback(
            "--disable", [&ps] { ps.enabled = false; }, "turn it off")
        ->excludes(enable);
    AddConfigOptions(periodic_set, periodic_flags);

    auto* bench = app.add_subcommand("bench", "reproducible benchmarks (see bench/README.md)");
    bench->require_subcommand(1);
    herald::cli::BenchQueueOptions bq;
    auto* bench_queue = bench->add_subcommand("queue", "queue throughput and lateness through the full publish path");
    bench_queue->add_option("--workload", bq.workload, "burn-down, lateness, scale or soak (PostgreSQL)")
        ->check(CLI::IsMember({"burn-down", "lateness", "scale", "soak"}));
    bench_queue->add_option("--jobs", bq.jobs, "posts to publish (default 50000)")
        ->check(CLI::Range(int64_t{1}, int64_t{100000000}));
    bench_queue->add_option("--over-seconds", bq.over_seconds, "lateness: spread the posts over this long (default 10)")
        ->check(CLI::Range(0.1, 3600.0));
    bench_queue->add_option("--backlog", bq.backlog, "scale: future jobs in the table (default 1000000)")
        ->check(CLI::Range(0, 100000000));
    bench_queue->add_option("--workers", bq.workers, "worker threads (default 4)")->check(CLI::Range(1, 256));
    bench_queue->add_option("--worker-batch", bq.worker_batch, "most jobs a worker sends at once (default 256)")
        ->check(CLI::Range(1, 1000));
    bench_queue->add_option("--claim-batch", bq.claim_batch, "most jobs claimed per statement (default 2048)")
        ->check(CLI::Range(1, 10000));
    bench_queue->add_option("--dedupe", bq.dedupe, "sandbox dedupe mode: idempotent (default), lookup or none")
        ->check(CLI::IsMember({"idempotent", "lookup", "none"}));
    bench_queue->add_option("--data-dir", bq.data_dir, "keep the database here (default: a temporary directory)");
    bench_queue->add_flag("--json", bq.json, "print one JSON line");
    bench_queue->add_option("--database", bq.database,
                            "postgres://USER@HOST:PORT/DB: run on a scratch database created in that server and "
                            "dropped afterwards (default: a temporary SQLite)");
    bench_queue
        ->add_option("--processes", bq.processes,
                     "PostgreSQL: run the workers in N processes on one database (default 0: in this process)")
        ->check(CLI::Range(0, 64));
    bench_queue->add_flag("--keep-database", bq.keep_database, "PostgreSQL: keep the scratch database afterwards");
    bench_queue->add_option("--setup-sql", bq.setup_sql,
                            "PostgreSQL: SQL run on the scratch database after its migrations, e.g. "
                            "\"ALTER TABLE jobs SET (autovacuum_vacuum_scale_factor = 0.01)\"");
    bench_queue->add_option("--window", bq.window, "soak: report the rate over every N jobs (default 100000)")
        ->check(CLI::Range(int64_t{1000}, int64_t{100000000}));
    bench_queue
        ->add_option("--chunk", bq.chunk, "soak: enqueue N posts at a time while the queue drains (default 50000)")
        ->check(CLI::Range(int64_t{1000}, int64_t{10000000}));
    bench_queue->add_option("--timeout", bq.timeout_seconds, "worker processes: give up after this many seconds (3600)")
        ->check(CLI::Range(1.0, 86400.0));
    bench_queue->add_option("--role", bq.role)->group("")->check(CLI::IsMember({"worker"}));
    bench_queue->add_flag("--collect-lateness", bq.collect_lateness)->group("");
    herald::cli::BenchLimitsOptions bl;
    auto* bench_limits =
        bench->add_subcommand("limits", "rate limiter decisions, the publish plan, bulk add + publish");
    bench_limits->add_option("--workload", bl.workload, "decisions, plan, bulk or all (default)")
        ->check(CLI::IsMember({"decisions", "plan", "bulk", "all"}));
    bench_limits->add_option("--accounts", bl.accounts, "accounts (default 500)")->check(CLI::Range(1, 100000));
    bench_limits->add_option("--posts", bl.posts, "plan: posts, each to every account (default 2000)")
        ->check(CLI::Range(1, 1000000));
    bench_limits->add_option("--bulk-posts", bl.bulk_posts, "bulk: posts, one account each (default 10000)")
        ->check(CLI::Range(1, 10000));
    bench_limits->add_option("--data-dir", bl.data_dir, "keep the databases here (default: temporary directories)");
    bench_limits->add_flag("--json", bl.json, "print one JSON line per workload");

    // The operator's queue commands. Each takes the usual config flags to find the database.
    ConfigFlags ops_flags;
    auto* jobs = app.add_subcommand("jobs", "list, inspect, requeue and cancel queued jobs (all workspaces)");
    jobs->require_subcommand(1);
    herald::cli::JobsListOptions jl;
    std::string jl_state, jl_kind, jl_workspace, jl_account, jl_platform;
    auto* jobs_list = jobs->add_subcommand("list", "jobs, newest first (default: live ones; --state done: finished)");
    jobs_list->add_option("--state", jl_state, "pending, paused, running, dead or done")
        ->check(CLI::IsMember({"pending", "paused", "running", "dead", "done"}));
    jobs_list->add_option("--kind", jl_kind, "job kind, e.g. publish");
    jobs_list->add_option("--workspace", jl_workspace, "only this workspace");
    jobs_list->add_option("--account", jl_account, "only this account");
    jobs_list->add_option("--platform", jl_platform, "only this platform");
    jobs_list->add_option("--limit", jl.filter.limit, "most jobs shown (default 50)")->check(CLI::Range(1, 100000));
    jobs_list->add_flag("--json", jl.json, "one JSON array");
    AddConfigOptions(jobs_list, ops_flags);
    std::string job_id;
    bool job_json = false;
    auto* jobs_show = jobs->add_subcommand("show", "one job, live or finished, with its last error");
    jobs_show->add_option("id", job_id, "job id")->required();
    jobs_show->add_flag("--json", job_json, "compact JSON");
    AddConfigOptions(jobs_show, ops_flags);
    std::vector<std::string> job_ids;
    bool all_dead = false;
    std::string requeue_workspace;
    auto* jobs_requeue = jobs->add_subcommand("requeue", "dead jobs back to the queue, due now, attempts from zero");
    jobs_requeue->add_option("ids", job_ids, "job ids");
    jobs_requeue->add_flag("--all-dead", all_dead, "every dead job (of --workspace, if given)");
    jobs_requeue->add_option("--workspace", requeue_workspace, "with --all-dead: only this workspace");
    AddConfigOptions(jobs_requeue, ops_flags);
    auto* jobs_cancel =
        jobs->add_subcommand("cancel", "jobs that are not running: removed, their deliveries cancelled");
    jobs_cancel->add_option("ids", job_ids, "job ids")->required();
    AddConfigOptions(jobs_cancel, ops_flags);

    auto* queue = app.add_subcommand("queue", "pause, resume and watch the publishing queue");
    queue->require_subcommand(1);
    std::string q_workspace, q_account, q_platform, q_reason;
    bool q_json = false;
    auto scope_options = [&](CLI::App* cmd) {
        cmd->add_option("--workspace", q_workspace, "one workspace (default: every workspace)");
        cmd->add_option("--account", q_account, "one account (with --workspace)");
        cmd->add_option("--platform", q_platform, "one platform, e.g. x");
        AddConfigOptions(cmd, ops_flags);
    };
    auto* queue_pause =
        queue->add_subcommand("pause", "hold publishing back (no flags: the whole installation); due times are kept");
    scope_options(queue_pause);
    queue_pause->add_option("--reason", q_reason, "why, shown to the workspaces' members");
    auto* queue_resume = queue->add_subcommand("resume", "lift exactly the pause with these flags");
    scope_options(queue_resume);
    auto* queue_pauses = queue->add_subcommand("pauses", "what is paused, everywhere");
    queue_pauses->add_flag("--json", q_json, "one JSON array");
    AddConfigOptions(queue_pauses, ops_flags);
    auto* queue_stats = queue->add_subcommand("stats", "counts per state, platform and account; lag; throughput");
    queue_stats->add_option("--workspace", q_workspace, "one workspace (default: the whole installation)");
    queue_stats->add_flag("--json", q_json, "compact JSON");
    AddConfigOptions(queue_stats, ops_flags);

    herald::cli::ImportOptions imp;
    std::string imp_workspace;
    auto* import =
        app.add_subcommand("import", "create posts from a CSV or JSON file, all or nothing (see README: Import)");
    import->add_option("file", imp.file, "FILE.csv or FILE.json")->required();
    import->add_option("--as", imp.as_email, "email of the user the posts belong to (needs editor or above)")
        ->required();
    import->add_option("--workspace", imp_workspace, "workspace id (default: the user's first workspace)");
    import->add_flag("--dry-run", imp.dry_run, "check every post, write nothing");
    AddConfigOptions(import, ops_flags);

    CLI11_PARSE(app, argc, argv);
    auto opt = [](const std::string& s) { return s.empty() ? std::optional<std::string>{} : std::optional(s); };
    const bool ops = jobs->parsed() || queue->parsed() || import->parsed();
    if (ops) {
        auto store = OpenConfiguredStore(ops_flags);
        if (!store) return Fail(store.error());
        auto& st = **store;
        if (jobs_list->parsed()) {
            jl.filter.state = opt(jl_state);
            jl.filter.kind = opt(jl_kind);
            jl.filter.workspace_id = opt(jl_workspace);
            jl.filter.account_id = opt(jl_account);
            jl.filter.platform = opt(jl_platform);
            return herald::cli::JobsList(st, jl);
        }
        if (jobs_show->parsed()) return herald::cli::JobsShow(st, job_id, job_json);
        if (jobs_requeue->parsed()) {
            if (job_ids.empty() && !all_dead) {
                std::cerr << "herald: name the jobs to requeue, or give --all-dead\n";
                return 2;
            }
            return herald::cli::JobsRequeue(st, job_ids, all_dead, opt(requeue_workspace));
        }
        if (jobs_cancel->parsed()) return herald::cli::JobsCancel(st, job_ids);
        const herald::app::PauseScope scope{opt(q_workspace), opt(q_account), opt(q_platform)};
        if ((queue_pause->parsed() || queue_resume->parsed()) && scope.account_id && !scope.workspace_id) {
            std::cerr << "herald: --account needs --workspace\n";
            return 2;
        }
        if (queue_pause->parsed()) return herald::cli::QueuePause(st, scope, opt(q_reason));
        if (queue_resume->parsed()) return herald::cli::QueueResume(st, scope);
        if (queue_pauses->parsed()) return herald::cli::QueuePauses(st, q_json);
        if (queue_stats->parsed()) return herald::cli::QueueStats(st, opt(q_workspace), q_json);
        if (import->parsed()) {
            herald::core::SystemClock clock;
            auto platforms = herald::platforms::BuiltinRegistry(st, clock);
            imp.workspace_id = opt(imp_workspace);
            return herald::cli::Import(st, *platforms, imp);
        }
    }
    if (bench_queue->parsed()) return herald::cli::BenchQueue(bq);
    if (bench_limits->parsed()) return herald::cli::BenchLimits(bl);
    if (serve->parsed()) return Serve(serve_flags);
    if (worker->parsed()) return Serve(worker_flags, /*worker_only=*/true);
    if (migrate->parsed()) {
        return migrate_from.empty() ? Migrate(migrate_flags) : MigrateCopy(migrate_from, migrate_to);
    }
    if (user_add->parsed()) return UserAdd(user_flags, email, name, password);
    if (periodic_list->parsed() || periodic_set->parsed()) {
        auto config = ResolveConfig(periodic_flags);
        if (!config) return Fail(config.error());
        SetupLogging(config->log_level);
        if (periodic_list->parsed()) return herald::cli::PeriodicList(config->DatabaseUrl());
        return herald::cli::PeriodicSet(config->DatabaseUrl(), ps);
    }
    return 1;
}
