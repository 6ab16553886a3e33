#pragma once

#include "core/error.hpp"
#include "storage/sqlite/db.hpp"

namespace herald::storage::sqlite {

/// Applies every migration newer than the database's version, each in its own transaction.
/// Refuses a database whose version is newer than this binary knows. Returns how many ran.
core::Result<int> ApplyMigrations(Db& db);

}  // namespace herald::storage::sqlite
