#pragma once

#include <chrono>
#include <memory>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/error.hpp"

namespace herald::api {

/// Everything `herald serve` runs, wired together: store, services, dispatcher, HTTP server.
/// Tests start it in-process on port 0.
class Host {
  public:
    /// Opens the store (migrating it), loads the secret key, binds, starts the dispatcher.
    static core::Result<std::unique_ptr<Host>> Start(const core::Config& config);
    ~Host();

    uint16_t Port() const;
    /// Blocks until SIGTERM/SIGINT, then shuts down gracefully.
    void WaitForTermination();
    /// Stops accepting, finishes in-flight requests and jobs (up to the configured grace), exits
    /// cleanly. Idempotent.
    void Stop();

    struct Parts;

  private:
    explicit Host(std::unique_ptr<Parts> parts);
    std::unique_ptr<Parts> parts_;
};

}  // namespace herald::api
