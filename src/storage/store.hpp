#pragma once

#include <memory>
#include <string>

#include "app/ports.hpp"
#include "core/error.hpp"

namespace herald::storage {

struct StoreOptions {
    int publish_max_attempts = 4;  ///< written into each new publish job (first + 3 retries)
    int pool_size = 8;             ///< PostgreSQL: most connections this process opens
    /// PostgreSQL: open the store although its queue is not built yet (issue 5). Only the
    /// storage tests set it; a server must not run on a store that cannot publish.
    bool allow_incomplete_postgres = false;
};

/// Opens the store a URL names and applies pending migrations: "sqlite:PATH" (PATH is created
/// if missing; its directory must exist) or "postgres://…" / "postgresql://…" (a libpq URI).
/// PostgreSQL is refused with a clear error unless `allow_incomplete_postgres`: its backend
/// does not have the queue yet (storage/postgres/pg_store.hpp).
core::Result<std::unique_ptr<app::Store>> OpenStore(const std::string& url, const StoreOptions& options);

/// Applies pending migrations without opening a full store (for `herald migrate`); returns how
/// many were applied.
core::Result<int> Migrate(const std::string& url);

}  // namespace herald::storage
