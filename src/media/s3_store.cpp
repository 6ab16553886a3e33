#include "media/s3_store.hpp"

#include <curl/curl.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "core/connect_guard.hpp"
#include "media/inspect.hpp"
#include "media/local_store.hpp"
#include "media/sigv4.hpp"

namespace herald::media {

namespace fs = std::filesystem;
using core::ErrorCode;

struct S3MediaStore::Reply {
    long status = 0;
    std::string body;  ///< an error's XML, at most 64 KiB; object bytes go to the download file
};

namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;

struct Sink {
    CURL* curl = nullptr;
    FILE* file = nullptr;  // 2xx bodies go here when downloading
    std::string* body = nullptr;
    bool failed = false;
};

size_t Write(char* data, size_t size, size_t n, void* userp) {
    auto* s = static_cast<Sink*>(userp);
    const size_t bytes = size * n;
    long status = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
    if (s->file != nullptr && status >= 200 && status < 300) {
        if (std::fwrite(data, 1, bytes, s->file) != bytes) {
            s->failed = true;
            return 0;
        }
        return bytes;
    }
    if (s->body->size() < kMaxErrorBody) s->body->append(data, std::min(bytes, kMaxErrorBody - s->body->size()));
    return bytes;
}

// <Code>…</Code> from an S3 error document; empty when absent.
std::string XmlField(const std::string& xml, const std::string& name) {
    const auto open = xml.find("<" + name + ">");
    if (open == std::string::npos) return "";
    const auto start = open + name.size() + 2;
    const auto close = xml.find("</" + name + ">", start);
    return close == std::string::npos ? "" : xml.substr(start, std::min<size_t>(close - start, 300));
}

uint64_t FolderBytes(const fs::path& dir) {
    uint64_t total = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        std::error_code e2;
        if (it->is_regular_file(e2)) total += it->file_size(e2);
    }
    return total;
}

}  // namespace

S3MediaStore::S3MediaStore(S3Options options) : options_(std::move(options)) {
    core::InitCurlOnce();
    static std::once_flag sodium;
    std::call_once(sodium, [] {
        if (sodium_init() < 0) spdlog::error("event=sodium_init_failed");
    });
    std::string rest = options_.endpoint;
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    const auto sep = rest.find("://");
    scheme_ = sep == std::string::npos ? "" : rest.substr(0, sep);
    host_ = sep == std::string::npos ? rest : rest.substr(sep + 3);
    if (options_.path_style) {
        base_path_ = "/" + options_.bucket;
    } else {
        host_ = options_.bucket + "." + host_;
    }
}

core::Status S3MediaStore::Open() {
    if ((scheme_ != "http" && scheme_ != "https") || host_.empty() || host_.find('/') != std::string::npos) {
        return core::Fail(
            ErrorCode::kInvalidArgument,
            "media_s3_endpoint must be http(s)://host[:port] without a path, got '" + options_.endpoint + "'",
            {{"field", "media_s3_endpoint"}});
    }
    for (const fs::path& dir : {SpoolDir(), CacheDir()}) {
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (ec) {
            return core::Fail(ErrorCode::kUnavailable,
                              "cannot create the media folder " + dir.string() + ": " + ec.message());
        }
    }
    cache_bytes_ = FolderBytes(CacheDir());
    auto reply = Send("HEAD", "", nullptr, nullptr);
    if (!reply) return tl::unexpected(reply.error());
    if (reply->status == 404) {
        return core::Fail(ErrorCode::kUnavailable,
                          "the media store at " + options_.endpoint + " has no bucket named '" + options_.bucket +
                              "' (create it first)",
                          {{"field", "media_s3_bucket"}});
    }
    if (reply->status == 401 || reply->status == 403) {
        return core::Fail(ErrorCode::kUnavailable,
                          "the media store at " + options_.endpoint + " refused access key '" + options_.access_key_id +
                              "' to bucket '" + options_.bucket + "' (HTTP " + std::to_string(reply->status) +
                              "): check the key, its secret and region",
                          {{"field", "media_s3_access_key_id"}});
    }
    if (reply->status < 200 || reply->status >= 300) return tl::unexpected(StoreError("checking the bucket", *reply));
    spdlog::info("event=media_store_opened kind=s3 endpoint={} bucket={} cache_bytes={}", options_.endpoint,
                 options_.bucket, cache_bytes_.load());
    return {};
}

int S3MediaStore::SweepSpool(std::chrono::seconds age) { return SweepFolder(SpoolDir(), age); }

core::Result<S3MediaStore::Reply> S3MediaStore::Send(const std::string& method, const std::string& key,
                                                     const fs::path* upload, const fs::path* download) const {
    const std::string path =
        key.empty() ? (base_path_.empty() ? "/" : base_path_) : base_path_ + "/" + options_.prefix + key;
    std::string payload = HexSha256("");
    FILE* in = nullptr;
    std::error_code ec;
    uint64_t upload_bytes = 0;
    if (upload != nullptr) {
        auto sha = Sha256File(*upload);
        if (!sha) return tl::unexpected(sha.error());
        payload = *sha;
        upload_bytes = fs::file_size(*upload, ec);
        in = std::fopen(upload->c_str(), "rb");
        if (ec || in == nullptr) {
            if (in != nullptr) std::fclose(in);
            return core::Fail(ErrorCode::kInternal, "cannot read " + upload->filename().string());
        }
    }
    FILE* out = nullptr;
    if (download != nullptr) {
        out = std::fopen(download->c_str(), "wb");
        if (out == nullptr) return core::Fail(ErrorCode::kUnavailable, "cannot write to the media cache");
    }
    const std::string date = AmzDate(std::chrono::system_clock::now());
    SigV4Request request{
        method, path, {}, {{"host", host_}, {"x-amz-content-sha256", payload}, {"x-amz-date", date}}, payload};
    const SigV4Key signing{options_.access_key_id, options_.secret_access_key, options_.region, "s3"};
    const std::string authorization = SigV4Authorization(request, signing, date);

    Reply reply;
    CURL* curl = curl_easy_init();
    curl_slist* headers = nullptr;
    for (const std::string& h : {"Host: " + host_, "x-amz-content-sha256: " + payload, "x-amz-date: " + date,
                                 "Authorization: " + authorization, std::string("Expect:")}) {
        headers = curl_slist_append(headers, h.c_str());
    }
    Sink sink{curl, out, &reply.body};
    char error[CURL_ERROR_SIZE] = {};
    const std::string url = scheme_ + "://" + host_ + UriEncode(path, true);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "Herald media store");
    if (method == "HEAD") {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (method == "PUT") {
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READDATA, in);
        curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(upload_bytes));
    } else if (method != "GET") {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    const CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    if (in != nullptr) std::fclose(in);
    const bool closed = out == nullptr || std::fclose(out) == 0;
    if (sink.failed || !closed) return core::Fail(ErrorCode::kUnavailable, "cannot write to the media cache");
    if (rc != CURLE_OK) {
        spdlog::warn("event=media_store_unreachable endpoint={} method={} error=\"{}\"", options_.endpoint, method,
                     error[0] ? error : curl_easy_strerror(rc));
        return core::Fail(ErrorCode::kUnavailable, "the media store at " + options_.endpoint + " cannot be reached: " +
                                                       (error[0] ? error : curl_easy_strerror(rc)));
    }
    return reply;
}

core::Error S3MediaStore::StoreError(const std::string& what, const Reply& reply) const {
    std::string message = what + ": the media store answered HTTP " + std::to_string(reply.status);
    const std::string code = XmlField(reply.body, "Code");
    const std::string text = XmlField(reply.body, "Message");
    if (!code.empty()) message += " " + code;
    if (!text.empty()) message += " (" + text + ")";
    spdlog::warn("event=media_store_error endpoint={} bucket={} status={} code={}", options_.endpoint, options_.bucket,
                 reply.status, code);
    return core::Error{ErrorCode::kUnavailable, message, {}};
}

core::Result<bool> S3MediaStore::Exists(const std::string& key) const {
    if (!ValidMediaKey(key)) return core::Fail(ErrorCode::kInternal, "invalid media key: " + key);
    auto reply = Send("HEAD", key, nullptr, nullptr);
    if (!reply) return tl::unexpected(reply.error());
    if (reply->status == 404) return false;
    if (reply->status >= 200 && reply->status < 300) return true;
    return tl::unexpected(StoreError("checking for a media file", *reply));
}

core::Status S3MediaStore::Put(const fs::path& file, const std::string& key) {
    if (!ValidMediaKey(key)) return core::Fail(ErrorCode::kInternal, "invalid media key: " + key);
    std::error_code ec;
    auto reply = Send("PUT", key, &file, nullptr);
    if (!reply) return tl::unexpected(reply.error());
    if (reply->status < 200 || reply->status >= 300) return tl::unexpected(StoreError("storing media", *reply));
    // Kept for reading back on this node (thumbnails, previews, publishing).
    const fs::path cached = CacheDir() / key;
    const uint64_t bytes = fs::file_size(file, ec);
    fs::create_directories(cached.parent_path(), ec);
    fs::rename(file, cached, ec);
    if (ec) {
        fs::remove(file, ec);
    } else {
        AddToCache(bytes);
    }
    return {};
}

core::Status S3MediaStore::Remove(const std::string& key) {
    if (!ValidMediaKey(key)) return core::Fail(ErrorCode::kInternal, "invalid media key: " + key);
    auto reply = Send("DELETE", key, nullptr, nullptr);
    if (!reply) return tl::unexpected(reply.error());
    if (reply->status != 404 && (reply->status < 200 || reply->status >= 300)) {
        return tl::unexpected(StoreError("deleting media", *reply));
    }
    std::error_code ec;
    const fs::path cached = CacheDir() / key;
    const uint64_t bytes = fs::file_size(cached, ec);
    if (!ec && fs::remove(cached, ec)) cache_bytes_ -= std::min(bytes, cache_bytes_.load());
    return {};
}

core::Result<fs::path> S3MediaStore::ReadablePath(const std::string& key) {
    if (!ValidMediaKey(key)) return core::Fail(ErrorCode::kInternal, "invalid media key: " + key);
    const fs::path cached = CacheDir() / key;
    std::error_code ec;
    if (fs::exists(cached, ec)) {
        fs::last_write_time(cached, fs::file_time_type::clock::now(), ec);  // recently used: trimmed last
        return cached;
    }
    static std::atomic<uint64_t> counter{0};
    const fs::path part = SpoolDir() / ("get-" + std::to_string(counter++) + "-" + cached.filename().string());
    auto reply = Send("GET", key, nullptr, &part);
    auto fail = [&](core::Error e) -> core::Result<fs::path> {
        fs::remove(part, ec);
        return tl::unexpected(std::move(e));
    };
    if (!reply) return fail(reply.error());
    if (reply->status == 404) return fail({ErrorCode::kNotFound, "the media file is missing from the store", {}});
    if (reply->status < 200 || reply->status >= 300) return fail(StoreError("reading media", *reply));
    const uint64_t bytes = fs::file_size(part, ec);
    fs::create_directories(cached.parent_path(), ec);
    fs::rename(part, cached, ec);  // a concurrent reader's rename of the same bytes is harmless
    if (ec) return fail({ErrorCode::kUnavailable, "cannot write to the media cache: " + ec.message(), {}});
    AddToCache(bytes);
    return cached;
}

void S3MediaStore::AddToCache(uint64_t bytes) {
    if ((cache_bytes_ += bytes) <= options_.cache_max_bytes) return;
    std::unique_lock lock(trim_mu_, std::try_to_lock);
    if (!lock.owns_lock()) return;  // another thread is trimming
    struct Entry {
        fs::file_time_type used;
        uint64_t bytes;
        fs::path path;
    };
    std::vector<Entry> entries;
    uint64_t total = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(CacheDir(), ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        std::error_code e2;
        if (!it->is_regular_file(e2)) continue;
        Entry e{it->last_write_time(e2), it->file_size(e2), it->path()};
        if (!e2) {
            total += e.bytes;
            entries.push_back(std::move(e));
        }
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.used < b.used; });
    const uint64_t goal = options_.cache_max_bytes / 10 * 8;
    const auto keep_after = fs::file_time_type::clock::now() - options_.cache_min_age;
    int removed = 0;
    for (const auto& e : entries) {
        if (total <= goal || e.used > keep_after) break;
        std::error_code e2;
        if (fs::remove(e.path, e2)) {
            total -= e.bytes;
            ++removed;
        }
    }
    cache_bytes_ = total;
    spdlog::info("event=media_cache_trimmed files={} cache_bytes={}", removed, total);
}

}  // namespace herald::media
