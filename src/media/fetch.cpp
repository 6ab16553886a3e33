#include "media/fetch.hpp"

#include <curl/curl.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>
#include <mutex>

#include "core/connect_guard.hpp"

namespace herald::media {
namespace {

using core::ErrorCode;

struct Transfer {
    core::ConnectGuard guard;
    FILE* out = nullptr;
    uint64_t written = 0;
    uint64_t max_bytes = 0;
    bool too_large = false;
};

size_t Write(char* data, size_t size, size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    const size_t bytes = size * n;
    if (t->written + bytes > t->max_bytes) {
        t->too_large = true;
        return 0;  // aborts the transfer
    }
    if (std::fwrite(data, 1, bytes, t->out) != bytes) return 0;
    t->written += bytes;
    return bytes;
}

std::string LastSegment(const std::string& url) {
    std::string path = url.substr(0, url.find_first_of("?#"));
    const auto scheme = path.find("://");
    if (scheme != std::string::npos) {
        const auto slash = path.find('/', scheme + 3);
        path = slash == std::string::npos ? "" : path.substr(slash);
    }
    const auto last = path.rfind('/');
    const std::string segment = last == std::string::npos ? path : path.substr(last + 1);
    int length = 0;
    char* decoded = curl_easy_unescape(nullptr, segment.c_str(), static_cast<int>(segment.size()), &length);
    if (decoded == nullptr) return "";
    std::string out(decoded, static_cast<size_t>(length));
    curl_free(decoded);
    return out;
}

}  // namespace

CurlFetcher::CurlFetcher(std::set<std::string> allowed, std::chrono::seconds timeout)
    : allowed_(std::move(allowed)), timeout_(timeout) {
    core::InitCurlOnce();
}

core::Result<app::FetchedFile> CurlFetcher::Fetch(const std::string& url, const std::filesystem::path& dest,
                                                  uint64_t max_bytes) {
    auto fail = [&](ErrorCode code, std::string message, std::string rule) -> core::Result<app::FetchedFile> {
        std::error_code ec;
        std::filesystem::remove(dest, ec);
        return core::Fail(code, std::move(message), {{"field", "url"}, {"rule", std::move(rule)}});
    };
    if (url.size() > 2048 || !(url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0)) {
        return fail(ErrorCode::kInvalidArgument, "url must be an http:// or https:// address of at most 2048 bytes",
                    "url");
    }
    Transfer t;
    t.guard.allowed = &allowed_;
    t.max_bytes = max_bytes;
    t.out = std::fopen(dest.c_str(), "wbx");
    if (t.out == nullptr) return fail(ErrorCode::kUnavailable, "the server cannot store downloads right now", "io");
    CURL* curl = curl_easy_init();
    if (curl == nullptr) {
        std::fclose(t.out);
        return fail(ErrorCode::kUnavailable, "the server cannot download right now", "io");
    }
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(curl, CURLOPT_PROXY, "");  // never a proxy from the environment: it would hide the address
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, core::GuardedOpenSocket);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &t.guard);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_bytes));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(timeout_.count()));
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);  // bytes/s, for
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 30L);     // this many seconds
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "Herald media fetcher");
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    const CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    char* effective = nullptr;
    curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &effective);
    const std::string final_url = effective ? effective : url;
    curl_easy_cleanup(curl);
    const bool closed = std::fclose(t.out) == 0;
    if (!t.guard.blocked.empty()) {
        return fail(ErrorCode::kInvalidArgument,
                    "the url leads to " + t.guard.blocked +
                        ", an address inside a private network, which Herald does not fetch from",
                    "blocked_address");
    }
    if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        return fail(ErrorCode::kPayloadTooLarge,
                    "the file at the url is larger than the limit of " + std::to_string(max_bytes) + " bytes",
                    "max_bytes");
    }
    if (rc == CURLE_TOO_MANY_REDIRECTS) {
        return fail(ErrorCode::kInvalidArgument, "the url redirects more than 5 times", "download_failed");
    }
    if (rc != CURLE_OK) {
        return fail(ErrorCode::kInvalidArgument,
                    std::string("could not download the url: ") + (error[0] ? error : curl_easy_strerror(rc)),
                    "download_failed");
    }
    if (status < 200 || status >= 300) {
        return fail(ErrorCode::kInvalidArgument,
                    "could not download the url: the server answered HTTP " + std::to_string(status),
                    "download_failed");
    }
    if (!closed) return fail(ErrorCode::kUnavailable, "the server cannot store downloads right now", "io");
    return app::FetchedFile{LastSegment(final_url), t.written};
}

}  // namespace herald::media
