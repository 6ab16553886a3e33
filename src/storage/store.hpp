#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/ports.hpp"
#include "core/error.hpp"

namespace herald::storage {

struct StoreOptions {
    int publish_max_attempts = 4;  ///< written into each new publish job (first + 3 retries)
    int pool_size = 8;             ///< PostgreSQL: most connections this process opens
};

/// Opens the store a URL names and applies pending migrations: "sqlite:PATH" (PATH is created
/// if missing; its directory must exist) or "postgres://…" / "postgresql://…" (a libpq URI).
/// Both implement the whole app::Store contract.
core::Result<std::unique_ptr<app::Store>> OpenStore(const std::string& url, const StoreOptions& options);

/// Messages between the processes of one installation that share a PostgreSQL database
/// (LISTEN/NOTIFY): "work may be due" wake-ups, and live events for WebSocket clients connected
/// to another node. Nothing here is needed for correctness: every node also polls (the
/// scheduler's longest sleep), and NOTIFY is lost through some poolers and during reconnects.
class ClusterBus {
  public:
    struct Hooks {
        std::function<void()> wake;  ///< a job became pending somewhere: look for due work
        /// An event another node published for `topic`: send it to this node's listeners.
        std::function<void(const std::string& topic, const std::string& text)> deliver;
        /// The topics that have listeners on this node now (asked every couple of seconds).
        std::function<std::vector<std::string>()> local_topics;
        std::function<void(bool listening)> connected;  ///< the bus lost or regained the database
    };
    virtual ~ClusterBus() = default;
    virtual void Start(Hooks hooks) = 0;
    virtual void Stop() = 0;
    /// Non-blocking. Sends `text` to the other nodes whose clients listen to `topic`; batched.
    virtual void Publish(const std::string& topic, const std::string& text) = 0;
    /// Whether a client of another node listens to `topic` (as last seen, within seconds).
    virtual bool RemoteListens(const std::string& topic) const = 0;
};

/// The bus for a database URL: one for PostgreSQL, nullptr for SQLite (one process).
std::unique_ptr<ClusterBus> OpenClusterBus(const std::string& url);

/// Applies pending migrations without opening a full store (for `herald migrate`); returns how
/// many were applied.
core::Result<int> Migrate(const std::string& url);

}  // namespace herald::storage
