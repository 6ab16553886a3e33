#pragma once

// A thin RAII layer over the SQLite C API. Statements are named (the name shows in errors and
// logs) and prepared once per connection.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/error.hpp"
#include "storage/errors.hpp"
#include "storage/sqlite/rows.hpp"

namespace herald::storage::sqlite {

/// A SQL statement with the name that identifies it in logs.
struct Sql {
    const char* name;
    const char* text;
};

class Db;

class Stmt {
  public:
    Stmt(Db& db, sqlite3_stmt* stmt, const char* name) : db_(&db), stmt_(stmt), name_(name) {}
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    ~Stmt();

    Stmt& Bind(int index, std::string_view v);
    Stmt& Bind(int index, int64_t v);
    Stmt& Bind(int index, int v) { return Bind(index, static_cast<int64_t>(v)); }
    Stmt& BindNull(int index);
    /// Binds rows for `herald_rows(?index)`; they must outlive the statement's run.
    Stmt& Bind(int index, const Rows& rows);
    template <typename T>
    Stmt& Bind(int index, const std::optional<T>& v) {
        return v ? Bind(index, *v) : BindNull(index);
    }

    /// Next row: true when there is one. Errors throw (broken infrastructure, or a bug).
    bool Step();
    /// Runs to completion, for statements without rows; returns sqlite3_changes().
    int Run();

    std::string Text(int col) const;
    /// The column's text without copying it: valid until the next Step, Reset or column call.
    std::string_view View(int col) const;
    std::optional<std::string> OptText(int col) const;
    int64_t Int(int col) const;
    std::optional<int64_t> OptInt(int col) const;
    bool IsNull(int col) const;

    /// True when the last Step/Run failed on a UNIQUE or PRIMARY KEY constraint.
    bool constraint_violation() const { return constraint_violation_; }

  private:
    Db* db_;
    sqlite3_stmt* stmt_;
    const char* name_;
    bool constraint_violation_ = false;
};

/// Thrown when SQLite fails in a way a caller cannot handle: disk full, corruption, a bug.
struct DbError : StoreError {
    using StoreError::StoreError;
};

/// Thrown by Stmt on a UNIQUE/PRIMARY KEY violation; callers turn it into kAlreadyExists.
struct ConstraintError : DbError {
    using DbError::DbError;
};

class Db {
  public:
    static core::Result<std::unique_ptr<Db>> Open(const std::string& path);
    ~Db();
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    /// A reset, ready-to-bind statement from the per-connection cache.
    Stmt Prepare(const Sql& sql);
    void Exec(const char* sql);
    sqlite3* raw() { return db_; }

  private:
    explicit Db(sqlite3* db) : db_(db) {}
    sqlite3* db_;
    std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

/// How a commit must survive. Every commit survives a crash of the process (WAL). kFull also
/// survives a power loss: the WAL is synced before COMMIT returns. kRelaxed leaves that sync to
/// the next kFull commit or checkpoint; only for writes whose loss on power failure the queue
/// recovers from by itself (a claim is claimed again, a lost outcome comes back through the
/// uncertain path since the publishing mark before it was synced).
enum class Durability { kFull, kRelaxed };

/// BEGIN IMMEDIATE … COMMIT, rolled back unless Commit() is called (an early return or a
/// throw leaves nothing behind).
class Transaction {
  public:
    explicit Transaction(Db& db, Durability durability = Durability::kFull);
    ~Transaction();
    void Commit();

  private:
    void Restore();
    Db& db_;
    Durability durability_;
    bool done_ = false;
};

}  // namespace herald::storage::sqlite
