#pragma once

#include <memory>
#include <string>

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

/// Applies pending migrations without opening a full store (for `herald migrate`); returns how
/// many were applied.
core::Result<int> Migrate(const std::string& url);

}  // namespace herald::storage
