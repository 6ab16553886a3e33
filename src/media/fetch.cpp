#include "media/fetch.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>
#include <mutex>

namespace herald::media {
namespace {

using core::ErrorCode;

bool BlockedV4(uint32_t a) {  // host byte order
    auto in = [a](uint32_t net, int bits) { return (a >> (32 - bits)) == (net >> (32 - bits)); };
    return in(0x00000000, 8) ||   // "this" network
           in(0x0A000000, 8) ||   // 10/8
           in(0x64400000, 10) ||  // 100.64/10, carrier-grade NAT
           in(0x7F000000, 8) ||   // loopback
           in(0xA9FE0000, 16) ||  // link-local, cloud metadata
           in(0xAC100000, 12) ||  // 172.16/12
           in(0xC0000000, 24) ||  // IETF protocol assignments
           in(0xC0000200, 24) ||  // TEST-NET-1
           in(0xC0A80000, 16) ||  // 192.168/16
           in(0xC6120000, 15) ||  // benchmarking
           in(0xC6336400, 24) ||  // TEST-NET-2
           in(0xCB007100, 24) ||  // TEST-NET-3
           in(0xE0000000, 4) ||   // multicast
           in(0xF0000000, 4);     // reserved, broadcast
}

bool BlockedV6(const unsigned char* b) {
    static const unsigned char zero[16] = {};
    if (std::memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1)) return true;  // :: and ::1
    const bool v4_mapped = std::memcmp(b, zero, 10) == 0 && b[10] == 0xff && b[11] == 0xff;
    const bool v4_compat = std::memcmp(b, zero, 12) == 0;
    const bool nat64 = b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b &&
                       std::memcmp(b + 4, zero, 8) == 0;  // 64:ff9b::/96
    if (v4_mapped || v4_compat || nat64) {
        const uint32_t v4 = (uint32_t{b[12]} << 24) | (uint32_t{b[13]} << 16) | (uint32_t{b[14]} << 8) | b[15];
        return BlockedV4(v4);
    }
    return (b[0] & 0xfe) == 0xfc ||                                         // fc00::/7, unique local
           (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||                       // fe80::/10, link-local
           b[0] == 0xff ||                                                  // multicast
           (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8);  // documentation
}

struct Transfer {
    const std::set<std::string>* allowed = nullptr;
    std::string blocked;  // the address refused, if any
    FILE* out = nullptr;
    uint64_t written = 0;
    uint64_t max_bytes = 0;
    bool too_large = false;
};

curl_socket_t OpenSocket(void* clientp, curlsocktype purpose, struct curl_sockaddr* address) {
    auto* t = static_cast<Transfer*>(clientp);
    char ip[INET6_ADDRSTRLEN] = {};
    int port = 0;
    bool blocked = true;
    if (purpose == CURLSOCKTYPE_IPCXN && address->family == AF_INET) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(&address->addr);
        inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
        port = ntohs(sin->sin_port);
        blocked = BlockedV4(ntohl(sin->sin_addr.s_addr));
    } else if (purpose == CURLSOCKTYPE_IPCXN && address->family == AF_INET6) {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&address->addr);
        inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof ip);
        port = ntohs(sin6->sin6_port);
        blocked = BlockedV6(sin6->sin6_addr.s6_addr);
    }
    if (blocked && !t->allowed->count(std::string(ip) + ":" + std::to_string(port))) {
        t->blocked = ip[0] ? ip : "a non-IP address";
        return CURL_SOCKET_BAD;
    }
    return ::socket(address->family, address->socktype, address->protocol);
}

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

bool IsBlockedAddress(const std::string& address) {
    in_addr v4{};
    in6_addr v6{};
    if (inet_pton(AF_INET, address.c_str(), &v4) == 1) return BlockedV4(ntohl(v4.s_addr));
    if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) return BlockedV6(v6.s6_addr);
    return true;
}

CurlFetcher::CurlFetcher(std::set<std::string> allowed, std::chrono::seconds timeout)
    : allowed_(std::move(allowed)), timeout_(timeout) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
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
    t.allowed = &allowed_;
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
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, OpenSocket);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &t);
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
    if (!t.blocked.empty()) {
        return fail(
            ErrorCode::kInvalidArgument,
            "the url leads to " + t.blocked + ", an address inside a private network, which Herald does not fetch from",
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
