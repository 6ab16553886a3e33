#pragma once

#include "core/error.hpp"
#include "storage/postgres/pg.hpp"

namespace herald::storage::postgres {

/// Brings the database to the newest schema; returns how many migrations ran. Safe when
/// several nodes start at once (an advisory lock serialises them). PgError on failure.
core::Result<int> ApplyMigrations(PgConn& c);

}  // namespace herald::storage::postgres
