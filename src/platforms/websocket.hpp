#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "platforms/http.hpp"

namespace herald::platforms {

/// A WebSocket client (RFC 6455) for the adapters whose platform speaks it (Nostr relays).
/// libcurl opens the connection in connect-only mode, so TLS (wss://) and the private-address
/// guard are the HTTP client's own; Herald speaks the upgrade and the frames. Text messages
/// only; pings are answered, fragments joined. Blocking, one thread at a time.
class WebSocket {
  public:
    /// ws:// or wss:// URL. kInvalidArgument for a bad URL, kUnavailable when the server cannot
    /// be reached or does not upgrade (the message says which).
    static core::Result<std::unique_ptr<WebSocket>> Connect(const std::string& url, const HttpOptions& options,
                                                            std::chrono::milliseconds timeout);
    ~WebSocket();
    WebSocket(const WebSocket&) = delete;
    WebSocket& operator=(const WebSocket&) = delete;

    core::Status Send(std::string_view text);
    /// The next text message; nullopt when none came within `timeout`; kUnavailable when the
    /// connection closed or broke.
    core::Result<std::optional<std::string>> Receive(std::chrono::milliseconds timeout);

  private:
    explicit WebSocket(void* curl) : curl_(curl) {}
    core::Status SendAll(std::string_view bytes, std::chrono::steady_clock::time_point deadline);
    /// Reads what is there into buffer_, waiting until `deadline`; false on timeout.
    core::Result<bool> ReadSome(std::chrono::steady_clock::time_point deadline);
    core::Status SendFrame(int opcode, std::string_view payload);

    void* curl_;             ///< CURL*
    bool upgraded_ = false;  ///< speaking WebSocket: a close frame is owed on the way out
    std::string buffer_;
    std::string fragments_;
};

/// The Sec-WebSocket-Accept value for a Sec-WebSocket-Key (RFC 6455 section 4.2.2).
std::string WebSocketAccept(std::string_view key);

}  // namespace herald::platforms
