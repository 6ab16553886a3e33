#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace herald::core {

/// Everything `herald serve` can be told. Each field has one key, used alike in the config
/// file (JSON), in the environment (HERALD_<KEY upper-cased>) and as a flag (--key-with-dashes).
struct Config {
    std::string listen_host = "127.0.0.1";  ///< listen: HOST:PORT to bind (port 0 picks a free one)
    uint16_t listen_port = 8080;
    std::string data_dir = "./data";  ///< data_dir: database, media, secret key file
    std::string database_url;         ///< database: sqlite:PATH or postgres://…; empty: DATA_DIR/herald.db
    /// database_pool_size: PostgreSQL connections this process opens at most (the cluster bus
    /// holds one more). Ignored for SQLite.
    int database_pool_size = 8;
    /// Not a config key: `herald worker` turns the public API off (health and metrics stay).
    bool serve_api = true;
    std::string secret_key;                   ///< secret_key: 32 bytes, hex or base64; else DATA_DIR/secret.key
    uint64_t max_body_bytes = 1 << 20;        ///< max_body_bytes: larger request bodies get 413
    uint64_t bulk_max_body_bytes = 32 << 20;  ///< bulk_max_body_bytes: the same for POST /api/v1/posts/bulk
    int64_t ready_max_lag_seconds = 60;       ///< ready_max_lag_seconds: /readyz fails when due work is older
    int64_t retry_base_seconds = 600;         ///< retry_base_seconds: first retry delay, doubled each attempt
    int retry_max_attempts = 4;               ///< retry_max_attempts: publish attempts in all (first + retries)
    int64_t access_token_ttl_seconds = 900;   ///< access_token_ttl_seconds: JWT lifetime
    int64_t refresh_token_ttl_seconds = 30 * 24 * 3600;  ///< refresh_token_ttl_seconds
    /// lease_seconds: a claimed job belongs to its worker this long without a heartbeat (renewed
    /// every third of it); after that another process takes it back. With several nodes, how
    /// long a dead node's jobs wait.
    int64_t lease_seconds = 60;
    int workers = 4;         ///< workers: publishing threads; 0: this node runs no scheduler or workers (API only)
    int worker_batch = 256;  ///< worker_batch: most jobs one worker sends at once (platforms that take batches)
    int64_t shutdown_timeout_seconds = 30;  ///< shutdown_timeout_seconds: grace for in-flight work on SIGTERM
    int history_retention_days = 30;        ///< history_retention_days: finished jobs are kept this long, then purged
    /// limits_file: the platforms' posting limits (JSON, the form `herald limits` prints); empty
    /// means the limits Herald ships. A workspace may lower them, never raise them.
    std::string limits_file;
    std::string log_level = "info";  ///< log_level: trace, debug, info, warn, error
    /// web_dir: the dashboard's built files (web/, built into web/dist), served at every path
    /// that is not the API's; empty: no dashboard on this node.
    std::string web_dir;
    /// media_dir: where uploaded media is stored (media_store local), or this node's spool and
    /// read cache (media_store s3); empty: DATA_DIR/media
    std::string media_dir;
    /// media_store: local (files under media_dir; one node) or s3 (an S3-compatible bucket that
    /// every node shares; the media_s3_* keys say where)
    std::string media_store = "local";
    std::string media_s3_endpoint;              ///< media_s3_endpoint: http(s)://host[:port] of the S3 API
    std::string media_s3_bucket;                ///< media_s3_bucket: the bucket, created beforehand
    std::string media_s3_region = "us-east-1";  ///< media_s3_region: signing region
    std::string media_s3_access_key_id;         ///< media_s3_access_key_id
    std::string media_s3_secret_access_key;     ///< media_s3_secret_access_key: never logged
    std::string media_s3_prefix;                ///< media_s3_prefix: before every object key, e.g. herald/
    bool media_s3_path_style = true;  ///< media_s3_path_style: host/bucket/key (true) or bucket.host/key (AWS)
    uint64_t media_cache_max_bytes = 2ull << 30;  ///< media_cache_max_bytes: this node's read cache (s3)
    /// public_base_url: how the internet reaches this server (https://herald.example.com), for
    /// the signed media links that platforms download from (Instagram, Threads, TikTok).
    /// Empty: no such links, and posts that need them are refused when written.
    std::string public_base_url;
    /// media_fetch_allowed_addresses: comma-separated IP:PORT pairs that POST /media/from-url may
    /// reach although private (an intranet media server). Empty: no private address at all.
    std::string media_fetch_allowed_addresses;
    /// platform_allowed_addresses: comma-separated IP:PORT pairs where servers that an account
    /// names itself (a Bluesky PDS, a Mastodon instance) may be although private.
    std::string platform_allowed_addresses;
    /// platform_base_urls: comma-separated NAME=URL pairs where a platform's API is reached
    /// instead of its own address, e.g. telegram=https://tg-proxy.example.com
    std::string platform_base_urls;
    /// platform_api_versions: comma-separated NAME=VERSION pairs, the API version Herald asks a
    /// platform for where it is not in the base URL (linkedin=202605). Platforms retire old
    /// versions (LinkedIn answers 426): a newer one here needs no new Herald.
    std::string platform_api_versions;
    /// oauth_clients: comma-separated NAME=CLIENT_ID:CLIENT_SECRET entries, the OAuth clients
    /// registered with the platforms (x=abc:def); a public client leaves out ":SECRET". Each
    /// platform's redirect URI is PUBLIC_BASE_URL/api/v1/oauth/NAME/callback. Never logged.
    std::string oauth_clients;
    int64_t media_fetch_timeout_seconds = 120;      ///< media_fetch_timeout_seconds: a whole download at most
    int64_t media_url_ttl_seconds = 86400;          ///< media_url_ttl_seconds: how long a signed media link works
    uint64_t media_max_image_bytes = 10ull << 20;   ///< media_max_image_bytes: larger images are refused
    uint64_t media_max_video_bytes = 100ull << 20;  ///< media_max_video_bytes: larger videos are refused
    /// upload_min_bytes_per_second: after 10 s, an upload slower than this on average is cut off
    /// (408): a client trickling bytes cannot hold a connection and a spool file for hours.
    uint64_t upload_min_bytes_per_second = 16 * 1024;
    int64_t upload_rate_grace_seconds = 10;  ///< upload_rate_grace_seconds: before the rate above applies

    std::string DatabaseUrl() const;
    std::string MediaDir() const;
};

/// The keys Config understands, for help texts and for rejecting unknown ones.
const std::vector<std::string>& ConfigKeys();

/// Builds a Config from three layers, lowest precedence first: the JSON config file (if
/// `config_file` is not empty), the environment (HERALD_* variables), then `flags` (key → value
/// as typed on the command line). Unknown keys in the file, bad values anywhere: an error that
/// names the key and where it came from.
Result<Config> LoadConfig(const std::string& config_file, const std::map<std::string, std::string>& flags,
                          const std::map<std::string, std::string>& environment);

/// The HERALD_* variables of this process, keyed by config key (HERALD_DATA_DIR → data_dir).
std::map<std::string, std::string> ConfigFromEnvironment();

}  // namespace herald::core
