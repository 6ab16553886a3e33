#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "net/http.hpp"
#include "net/multipart.hpp"

namespace herald::net {

/// Where multipart/form-data uploads go. The body of a request to one of `paths` (from a client
/// that names a bearer token) streams into files in `spool_dir`, part by part, and the handler
/// gets the parts in Request::uploads. Files the handler leaves in the spool are deleted after
/// it answers.
struct UploadOptions {
    std::vector<std::string> paths;
    std::filesystem::path spool_dir;
    MultipartLimits limits;
    uint64_t max_request_bytes = 1100ull * 1024 * 1024;
    /// Slow-loris guard: after `rate_grace`, a client that has sent less than this many bytes
    /// per second on average is answered 408 and cut off.
    uint64_t min_bytes_per_second = 16 * 1024;
    std::chrono::milliseconds rate_grace{10000};
};

struct ServerOptions {
    std::string host = "127.0.0.1";
    uint16_t port = 8080;  ///< 0 picks a free port; Port() tells which
    uint64_t max_body_bytes = 1 << 20;
    /// Paths (exact, without query) that take larger bodies, e.g. bulk creation; only for
    /// requests that carry an Authorization header (the handler still checks it).
    std::vector<std::pair<std::string, uint64_t>> large_body_paths;
    int handler_threads = 4;
    std::chrono::seconds read_timeout{30};
    std::string websocket_path = "/api/v1/events";
    UploadOptions uploads;
};

/// HTTP/1.1 and WebSocket on one port (Beast, C++20 coroutines, one I/O thread). Handlers run
/// on a separate pool so a slow database call never stalls the I/O thread.
class Server {
  public:
    Server(ServerOptions options, HttpHandler http, WsAcceptor ws);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Binds and starts serving on background threads.
    core::Status Start();
    uint16_t Port() const;

    /// Sends `text` to every WebSocket connection listening to `topic`. Thread-safe, non-blocking.
    void Publish(const std::string& topic, std::string text);
    /// Whether any WebSocket connection listens to `topic` now.
    bool HasListeners(const std::string& topic) const;
    /// The topics that have at least one listener now.
    std::vector<std::string> Topics() const;

    /// Graceful stop: closes the listener, lets in-flight requests finish (up to `grace`),
    /// closes WebSockets, joins threads. Idempotent.
    void Stop(std::chrono::milliseconds grace);

    /// Calls `on_signal` (on the I/O thread) at the first SIGTERM or SIGINT.
    void OnTerminate(std::function<void()> on_signal);

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace herald::net
