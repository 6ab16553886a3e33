#include "platforms/websocket.hpp"

#include <curl/curl.h>
#include <openssl/sha.h>
#include <poll.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "core/connect_guard.hpp"

namespace herald::platforms {
namespace {

using core::ErrorCode;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxMessage = 16u << 20;

std::string Base64(const unsigned char* bytes, size_t n) {
    std::string out(sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), bytes, n, sodium_base64_VARIANT_ORIGINAL);
    out.resize(std::strlen(out.c_str()));
    return out;
}

core::Error Broken(const std::string& why) { return {ErrorCode::kUnavailable, why, {}}; }

// Waits until the connection's socket can be read (or written); false on timeout.
bool Wait(CURL* curl, bool write, Clock::time_point deadline) {
    curl_socket_t fd = CURL_SOCKET_BAD;
    curl_easy_getinfo(curl, CURLINFO_ACTIVESOCKET, &fd);
    if (fd == CURL_SOCKET_BAD) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, static_cast<short>(write ? POLLOUT : POLLIN), 0};
    return ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 60'000))) > 0;
}

}  // namespace

std::string WebSocketAccept(std::string_view key) {
    const std::string joined = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(joined.data()), joined.size(), digest);
    return Base64(digest, sizeof digest);
}

core::Result<std::unique_ptr<WebSocket>> WebSocket::Connect(const std::string& url, const HttpOptions& options,
                                                            std::chrono::milliseconds timeout) {
    const bool tls = url.rfind("wss://", 0) == 0;
    if (!tls && url.rfind("ws://", 0) != 0) {
        return core::Fail(ErrorCode::kInvalidArgument, "a WebSocket URL starts with wss:// or ws://: " + url);
    }
    const std::string rest = url.substr(tls ? 6 : 5);
    const auto slash = rest.find('/');
    const std::string authority = rest.substr(0, slash);
    const std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
    if (authority.empty() || authority.find_first_of("@ ") != std::string::npos) {
        return core::Fail(ErrorCode::kInvalidArgument, "not a usable WebSocket URL: " + url);
    }
    CURL* curl = curl_easy_init();
    if (curl == nullptr) return core::Fail(ErrorCode::kUnavailable, "cannot open a connection");
    std::unique_ptr<WebSocket> ws(new WebSocket(curl));
    const std::string http_url = (tls ? "https://" : "http://") + authority + "/";
    core::ConnectGuard guard{&options.allowed, ""};
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(curl, CURLOPT_URL, http_url.c_str());
    curl_easy_setopt(curl, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    if (options.guard_private) {
        curl_easy_setopt(curl, CURLOPT_PROXY, "");
        curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, core::GuardedOpenSocket);
        curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &guard);
    }
    if (const CURLcode rc = curl_easy_perform(curl); rc != CURLE_OK) {
        if (!guard.blocked.empty()) {
            return core::Fail(ErrorCode::kUnavailable, "the address " + guard.blocked + " of " + url +
                                                           " is inside a private network, which Herald does not "
                                                           "connect to for an account");
        }
        return core::Fail(ErrorCode::kUnavailable,
                          "cannot connect to " + url + ": " + (error[0] ? error : curl_easy_strerror(rc)));
    }
    // `guard` goes out of scope; no further connection is opened.
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, nullptr);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, nullptr);

    unsigned char nonce[16];
    randombytes_buf(nonce, sizeof nonce);
    const std::string key = Base64(nonce, sizeof nonce);
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + authority +
                                "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                                "\r\nSec-WebSocket-Version: 13\r\nUser-Agent: " + options.user_agent + "\r\n\r\n";
    const auto deadline = Clock::now() + timeout;
    if (auto ok = ws->SendAll(request, deadline); !ok) return tl::unexpected(ok.error());
    size_t end = std::string::npos;
    while ((end = ws->buffer_.find("\r\n\r\n")) == std::string::npos) {
        if (ws->buffer_.size() > 64 * 1024) return core::Fail(ErrorCode::kUnavailable, url + " sent an endless header");
        auto got = ws->ReadSome(deadline);
        if (!got) return tl::unexpected(got.error());
        if (!*got) return core::Fail(ErrorCode::kUnavailable, url + " did not answer the WebSocket upgrade in time");
    }
    std::string head = ws->buffer_.substr(0, end);
    ws->buffer_.erase(0, end + 4);
    if (head.rfind("HTTP/1.1 101", 0) != 0) {
        return core::Fail(ErrorCode::kUnavailable,
                          url + " refused the WebSocket upgrade: " + head.substr(0, head.find("\r\n")));
    }
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string expected = WebSocketAccept(key);
    std::transform(expected.begin(), expected.end(), expected.begin(), [](unsigned char c) { return std::tolower(c); });
    if (head.find("sec-websocket-accept: " + expected) == std::string::npos) {
        return core::Fail(ErrorCode::kUnavailable, url + " answered the upgrade with a wrong Sec-WebSocket-Accept");
    }
    ws->upgraded_ = true;
    return ws;
}

WebSocket::~WebSocket() {
    if (upgraded_) (void)SendFrame(8, "");  // close, best effort
    curl_easy_cleanup(static_cast<CURL*>(curl_));
}

core::Status WebSocket::SendAll(std::string_view bytes, Clock::time_point deadline) {
    auto* curl = static_cast<CURL*>(curl_);
    while (!bytes.empty()) {
        size_t sent = 0;
        const CURLcode rc = curl_easy_send(curl, bytes.data(), bytes.size(), &sent);
        if (rc == CURLE_AGAIN) {
            if (!Wait(curl, true, deadline)) return tl::unexpected(Broken("timed out sending"));
            continue;
        }
        if (rc != CURLE_OK)
            return tl::unexpected(Broken(std::string("the connection broke: ") + curl_easy_strerror(rc)));
        bytes.remove_prefix(sent);
    }
    return {};
}

core::Result<bool> WebSocket::ReadSome(Clock::time_point deadline) {
    auto* curl = static_cast<CURL*>(curl_);
    char chunk[16384];
    while (true) {
        size_t got = 0;
        const CURLcode rc = curl_easy_recv(curl, chunk, sizeof chunk, &got);
        if (rc == CURLE_OK) {
            if (got == 0) return tl::unexpected(Broken("the server closed the connection"));
            buffer_.append(chunk, got);
            return true;
        }
        if (rc != CURLE_AGAIN)
            return tl::unexpected(Broken(std::string("the connection broke: ") + curl_easy_strerror(rc)));
        if (!Wait(curl, false, deadline)) return false;
    }
}

core::Status WebSocket::SendFrame(int opcode, std::string_view payload) {
    std::string frame;
    frame.push_back(static_cast<char>(0x80 | opcode));
    const size_t n = payload.size();
    if (n < 126) {
        frame.push_back(static_cast<char>(0x80 | n));
    } else if (n <= 0xffff) {
        frame.push_back(static_cast<char>(0x80 | 126));
        frame.push_back(static_cast<char>(n >> 8));
        frame.push_back(static_cast<char>(n & 0xff));
    } else {
        frame.push_back(static_cast<char>(0x80 | 127));
        for (int shift = 56; shift >= 0; shift -= 8) frame.push_back(static_cast<char>((uint64_t{n} >> shift) & 0xff));
    }
    unsigned char mask[4];
    randombytes_buf(mask, sizeof mask);  // clients mask every frame (RFC 6455 5.3)
    frame.append(reinterpret_cast<const char*>(mask), 4);
    for (size_t i = 0; i < n; ++i) frame.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
    return SendAll(frame, Clock::now() + std::chrono::seconds(30));
}

core::Status WebSocket::Send(std::string_view text) { return SendFrame(1, text); }

core::Result<std::optional<std::string>> WebSocket::Receive(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
        // A whole frame in the buffer?
        if (buffer_.size() >= 2) {
            const auto b0 = static_cast<unsigned char>(buffer_[0]);
            const auto b1 = static_cast<unsigned char>(buffer_[1]);
            const bool masked = (b1 & 0x80) != 0;
            uint64_t len = b1 & 0x7f;
            size_t at = 2;
            bool whole = true;
            if (len == 126) {
                whole = buffer_.size() >= 4;
                if (whole)
                    len = (uint64_t{static_cast<unsigned char>(buffer_[2])} << 8) |
                          static_cast<unsigned char>(buffer_[3]);
                at = 4;
            } else if (len == 127) {
                whole = buffer_.size() >= 10;
                len = 0;
                for (size_t i = 2; whole && i < 10; ++i) len = (len << 8) | static_cast<unsigned char>(buffer_[i]);
                at = 10;
            }
            if (len > kMaxMessage) return tl::unexpected(Broken("the server sent a message over 16 MiB"));
            if (whole && buffer_.size() >= at + (masked ? 4 : 0) + len) {
                std::string payload = buffer_.substr(at + (masked ? 4 : 0), len);
                if (masked) {
                    for (size_t i = 0; i < payload.size(); ++i)
                        payload[i] = static_cast<char>(payload[i] ^ buffer_[at + i % 4]);
                }
                buffer_.erase(0, at + (masked ? 4 : 0) + len);
                const int opcode = b0 & 0x0f;
                const bool fin = (b0 & 0x80) != 0;
                if (opcode == 8) return tl::unexpected(Broken("the server closed the connection"));
                if (opcode == 9) {
                    if (auto ok = SendFrame(10, payload); !ok) return tl::unexpected(ok.error());
                    continue;
                }
                if (opcode == 10) continue;
                fragments_ += payload;
                if (fragments_.size() > kMaxMessage)
                    return tl::unexpected(Broken("the server sent a message over 16 MiB"));
                if (!fin) continue;
                std::string message = std::move(fragments_);
                fragments_.clear();
                return std::optional<std::string>(std::move(message));
            }
        }
        auto got = ReadSome(deadline);
        if (!got) return tl::unexpected(got.error());
        if (!*got) return std::optional<std::string>();
    }
}

}  // namespace herald::platforms
