#include "core/config.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace herald::core {
namespace {

template <typename T>
Result<T> ParseNumber(const std::string& key, const std::string& value, const std::string& source, T min, T max) {
    T out{};
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (ec != std::errc() || ptr != value.data() + value.size() || out < min || out > max) {
        return Fail(ErrorCode::kInvalidArgument,
                    "config " + key + " (from " + source + ") must be a whole number between " + std::to_string(min) +
                        " and " + std::to_string(max) + ", got '" + value + "'",
                    {{"field", key}, {"rule", "range"}});
    }
    return out;
}

// http(s)://something, with no query, fragment, spaces or quotes.
bool IsHttpUrl(const std::string& v) {
    const size_t scheme = v.rfind("https://", 0) == 0 ? 8 : v.rfind("http://", 0) == 0 ? 7 : 0;
    return scheme > 0 && v.size() > scheme && v.find_first_of(" ?#\"<>") == std::string::npos;
}

Status Apply(Config& c, const std::string& key, const std::string& value, const std::string& source) {
    auto assign = [&](auto& field, auto min, auto max) -> Status {
        using T = std::decay_t<decltype(field)>;
        auto n = ParseNumber<T>(key, value, source, static_cast<T>(min), static_cast<T>(max));
        if (!n) return tl::unexpected(n.error());
        field = *n;
        return {};
    };
    if (key == "listen") {
        auto colon = value.rfind(':');
        if (colon == std::string::npos || colon == 0) {
            return Fail(ErrorCode::kInvalidArgument,
                        "config listen (from " + source + ") must be HOST:PORT, got '" + value + "'",
                        {{"field", key}, {"rule", "host_port"}});
        }
        auto port = ParseNumber<uint16_t>(key, value.substr(colon + 1), source, 0, 65535);
        if (!port) return tl::unexpected(port.error());
        c.listen_host = value.substr(0, colon);
        if (c.listen_host.size() > 2 && c.listen_host.front() == '[' && c.listen_host.back() == ']') {
            c.listen_host = c.listen_host.substr(1, c.listen_host.size() - 2);
        }
        c.listen_port = *port;
        return {};
    }
    if (key == "data_dir") {
        if (value.empty()) return Fail(ErrorCode::kInvalidArgument, "config data_dir must not be empty");
        c.data_dir = value;
        return {};
    }
    if (key == "database") {
        c.database_url = value;
        return {};
    }
    if (key == "web_dir") {
        c.web_dir = value;
        return {};
    }
    if (key == "limits_file") {
        c.limits_file = value;
        return {};
    }
    if (key == "secret_key") {
        c.secret_key = value;
        return {};
    }
    if (key == "log_level") {
        static const std::vector<std::string> levels = {"trace", "debug", "info", "warn", "error"};
        if (std::find(levels.begin(), levels.end(), value) == levels.end()) {
            return Fail(ErrorCode::kInvalidArgument,
                        "config log_level (from " + source + ") must be trace, debug, info, warn or error",
                        {{"field", key}, {"rule", "enum"}});
        }
        c.log_level = value;
        return {};
    }
    if (key == "media_dir") {
        if (value.empty()) return Fail(ErrorCode::kInvalidArgument, "config media_dir must not be empty");
        c.media_dir = value;
        return {};
    }
    if (key == "media_store") {
        if (value != "local" && value != "s3") {
            return Fail(ErrorCode::kInvalidArgument, "config media_store (from " + source + ") must be local or s3",
                        {{"field", key}, {"rule", "enum"}});
        }
        c.media_store = value;
        return {};
    }
    if (key == "media_s3_endpoint") {
        std::string v = value;
        while (!v.empty() && v.back() == '/') v.pop_back();
        if (!v.empty() && !IsHttpUrl(v)) {
            return Fail(
                ErrorCode::kInvalidArgument,
                "config media_s3_endpoint (from " + source +
                    ") must be an http:// or https:// URL without query, e.g. https://s3.eu-central-1.amazonaws.com",
                {{"field", key}, {"rule", "url"}});
        }
        c.media_s3_endpoint = v;
        return {};
    }
    if (key == "media_s3_prefix") {
        const bool ok = value.empty() || (value.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                                  "0123456789-_/") == std::string::npos &&
                                          value.front() != '/' && value.find("//") == std::string::npos);
        if (!ok) {
            return Fail(ErrorCode::kInvalidArgument,
                        "config media_s3_prefix (from " + source +
                            ") may hold only letters, digits, '-', '_' and '/', not start with '/', e.g. herald/",
                        {{"field", key}, {"rule", "format"}});
        }
        c.media_s3_prefix = value;
        if (!value.empty() && value.back() != '/') c.media_s3_prefix += '/';
        return {};
    }
    for (auto [name, field] :
         {std::pair{"media_s3_bucket", &c.media_s3_bucket}, std::pair{"media_s3_region", &c.media_s3_region},
          std::pair{"media_s3_access_key_id", &c.media_s3_access_key_id},
          std::pair{"media_s3_secret_access_key", &c.media_s3_secret_access_key}}) {
        if (key == name) {
            *field = value;
            return {};
        }
    }
    if (key == "media_s3_path_style") {
        if (value != "true" && value != "false") {
            return Fail(ErrorCode::kInvalidArgument,
                        "config media_s3_path_style (from " + source + ") must be true or false",
                        {{"field", key}, {"rule", "bool"}});
        }
        c.media_s3_path_style = value == "true";
        return {};
    }
    if (key == "media_cache_max_bytes") return assign(c.media_cache_max_bytes, 1 << 20, uint64_t{1} << 50);
    if (key == "media_max_image_bytes") return assign(c.media_max_image_bytes, 1024, uint64_t{1} << 32);
    if (key == "media_max_video_bytes") return assign(c.media_max_video_bytes, 1024, uint64_t{1} << 34);
    if (key == "upload_min_bytes_per_second") return assign(c.upload_min_bytes_per_second, 1, uint64_t{1} << 30);
    if (key == "public_base_url") {
        std::string v = value;
        while (!v.empty() && v.back() == '/') v.pop_back();
        if (!v.empty() && !IsHttpUrl(v)) {
            return Fail(ErrorCode::kInvalidArgument,
                        "config public_base_url (from " + source +
                            ") must be an http:// or https:// URL without query, e.g. https://herald.example.com",
                        {{"field", key}, {"rule", "url"}});
        }
        c.public_base_url = v;
        return {};
    }
    if (key == "media_fetch_allowed_addresses") {
        c.media_fetch_allowed_addresses = value;
        return {};
    }
    if (key == "platform_allowed_addresses") {
        c.platform_allowed_addresses = value;
        return {};
    }
    if (key == "platform_base_urls") {
        std::stringstream list(value);
        for (std::string item; std::getline(list, item, ',');) {
            const auto eq = item.find('=');
            const std::string url = eq == std::string::npos ? "" : item.substr(eq + 1);
            if (eq == 0 || eq == std::string::npos || !IsHttpUrl(url)) {
                return Fail(ErrorCode::kInvalidArgument,
                            "config platform_base_urls (from " + source +
                                ") must be NAME=URL pairs separated by commas, e.g. telegram=https://api.telegram.org",
                            {{"field", key}, {"rule", "format"}});
            }
        }
        c.platform_base_urls = value;
        return {};
    }
    if (key == "platform_api_versions") {
        std::stringstream list(value);
        for (std::string item; std::getline(list, item, ',');) {
            const auto eq = item.find('=');
            const bool ok = eq != 0 && eq != std::string::npos && eq + 1 < item.size() &&
                            item.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
                                                   eq + 1) == std::string::npos;
            if (!ok) {
                return Fail(ErrorCode::kInvalidArgument,
                            "config platform_api_versions (from " + source +
                                ") must be NAME=VERSION pairs separated by commas, e.g. linkedin=202605",
                            {{"field", key}, {"rule", "format"}});
            }
        }
        c.platform_api_versions = value;
        return {};
    }
    if (key == "oauth_clients") {
        std::stringstream list(value);
        for (std::string item; std::getline(list, item, ',');) {
            const auto eq = item.find('=');
            if (eq == 0 || eq == std::string::npos || eq + 1 >= item.size() || item[eq + 1] == ':') {
                // The value holds secrets: the message does not repeat it.
                return Fail(ErrorCode::kInvalidArgument,
                            "config oauth_clients (from " + source +
                                ") must be NAME=CLIENT_ID:CLIENT_SECRET entries separated by commas, e.g. "
                                "x=abc123:s3cret",
                            {{"field", key}, {"rule", "format"}});
            }
        }
        c.oauth_clients = value;
        return {};
    }
    if (key == "media_fetch_timeout_seconds") return assign(c.media_fetch_timeout_seconds, 1, 3600);
    if (key == "media_url_ttl_seconds") return assign(c.media_url_ttl_seconds, 60, 30 * 86400);
    if (key == "upload_rate_grace_seconds") return assign(c.upload_rate_grace_seconds, 1, 3600);
    if (key == "max_body_bytes") return assign(c.max_body_bytes, 1024, uint64_t{1} << 32);
    if (key == "bulk_max_body_bytes") return assign(c.bulk_max_body_bytes, 1024, uint64_t{1} << 32);
    if (key == "ready_max_lag_seconds") return assign(c.ready_max_lag_seconds, 1, 86400);
    if (key == "retry_base_seconds") return assign(c.retry_base_seconds, 1, 86400);
    if (key == "retry_max_attempts") return assign(c.retry_max_attempts, 1, 100);
    if (key == "access_token_ttl_seconds") return assign(c.access_token_ttl_seconds, 10, 86400);
    if (key == "refresh_token_ttl_seconds") return assign(c.refresh_token_ttl_seconds, 60, 400 * 86400);
    if (key == "workers") return assign(c.workers, 0, 256);
    if (key == "lease_seconds") return assign(c.lease_seconds, 3, 3600);
    if (key == "database_pool_size") return assign(c.database_pool_size, 1, 1000);
    if (key == "worker_batch") return assign(c.worker_batch, 1, 1000);
    if (key == "shutdown_timeout_seconds") return assign(c.shutdown_timeout_seconds, 0, 3600);
    if (key == "history_retention_days") return assign(c.history_retention_days, 1, 3650);
    return Fail(ErrorCode::kInvalidArgument, "unknown config key '" + key + "' (from " + source + ")",
                {{"field", key}, {"rule", "unknown_key"}});
}

}  // namespace

std::string Config::MediaDir() const { return media_dir.empty() ? data_dir + "/media" : media_dir; }

std::string Config::DatabaseUrl() const {
    if (!database_url.empty()) return database_url;
    return "sqlite:" + data_dir + "/herald.db";
}

const std::vector<std::string>& ConfigKeys() {
    static const std::vector<std::string> keys = {"listen",
                                                  "data_dir",
                                                  "database",
                                                  "database_pool_size",
                                                  "secret_key",
                                                  "max_body_bytes",
                                                  "bulk_max_body_bytes",
                                                  "ready_max_lag_seconds",
                                                  "retry_base_seconds",
                                                  "retry_max_attempts",
                                                  "access_token_ttl_seconds",
                                                  "refresh_token_ttl_seconds",
                                                  "workers",
                                                  "worker_batch",
                                                  "lease_seconds",
                                                  "shutdown_timeout_seconds",
                                                  "history_retention_days",
                                                  "limits_file",
                                                  "log_level",
                                                  "web_dir",
                                                  "media_dir",
                                                  "media_store",
                                                  "media_s3_endpoint",
                                                  "media_s3_bucket",
                                                  "media_s3_region",
                                                  "media_s3_access_key_id",
                                                  "media_s3_secret_access_key",
                                                  "media_s3_prefix",
                                                  "media_s3_path_style",
                                                  "media_cache_max_bytes",
                                                  "media_max_image_bytes",
                                                  "media_max_video_bytes",
                                                  "upload_min_bytes_per_second",
                                                  "upload_rate_grace_seconds",
                                                  "public_base_url",
                                                  "media_url_ttl_seconds",
                                                  "media_fetch_allowed_addresses",
                                                  "media_fetch_timeout_seconds",
                                                  "platform_allowed_addresses",
                                                  "platform_base_urls",
                                                  "platform_api_versions",
                                                  "oauth_clients"};
    return keys;
}

std::map<std::string, std::string> ConfigFromEnvironment() {
    std::map<std::string, std::string> out;
    for (const auto& key : ConfigKeys()) {
        std::string name = "HERALD_" + key;
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::toupper(ch); });
        // HERALD_DATABASE_URL is the documented name of the database variable.
        if (key == "database") name = "HERALD_DATABASE_URL";
        if (const char* v = std::getenv(name.c_str())) out[key] = v;
    }
    return out;
}

Result<Config> LoadConfig(const std::string& config_file, const std::map<std::string, std::string>& flags,
                          const std::map<std::string, std::string>& environment) {
    Config c;
    if (!config_file.empty()) {
        std::ifstream in(config_file);
        if (!in) {
            return Fail(ErrorCode::kInvalidArgument, "cannot read config file '" + config_file + "'");
        }
        nlohmann::json doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
        if (doc.is_discarded() || !doc.is_object()) {
            return Fail(ErrorCode::kInvalidArgument, "config file '" + config_file + "' is not a JSON object");
        }
        for (auto& [key, value] : doc.items()) {
            std::string text;
            if (value.is_string()) {
                text = value.get<std::string>();
            } else if (value.is_number_integer() || value.is_number_unsigned()) {
                text = value.dump();
            } else {
                return Fail(ErrorCode::kInvalidArgument,
                            "config key '" + key + "' in '" + config_file + "' must be a string or an integer",
                            {{"field", key}, {"rule", "type"}});
            }
            if (auto s = Apply(c, key, text, "config file " + config_file); !s) return tl::unexpected(s.error());
        }
    }
    for (const auto& [key, value] : environment) {
        if (auto s = Apply(c, key, value, "environment"); !s) return tl::unexpected(s.error());
    }
    for (const auto& [key, value] : flags) {
        if (auto s = Apply(c, key, value, "command line"); !s) return tl::unexpected(s.error());
    }
    return c;
}

}  // namespace herald::core
