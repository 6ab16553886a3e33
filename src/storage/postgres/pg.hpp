#pragma once

// A thin RAII layer over libpq. Statements are named (the name shows in errors and logs) and
// prepared once per connection, the first time that connection runs them: a statement is
// planned once per shape, not once per call (DESIGN.md, libpq). Parameters and results travel
// as text; times are Unix milliseconds in BIGINT columns, as in the SQLite schema.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "storage/errors.hpp"

struct pg_conn;
struct pg_result;

namespace herald::storage::postgres {

/// A SQL statement with the name that identifies it in logs. $1, $2, … are its parameters.
struct PgSql {
    const char* name;
    const char* text;
};

/// Thrown when PostgreSQL fails in a way a caller cannot handle. `sqlstate` is the server's
/// five-character code ("" when the connection itself failed).
struct PgError : StoreError {
    PgError(const std::string& what, std::string state) : StoreError(what), sqlstate(std::move(state)) {}
    std::string sqlstate;
    /// 23505: a UNIQUE or PRIMARY KEY constraint.
    bool unique_violation() const { return sqlstate == "23505"; }
    /// Class 08 or no code: the connection is gone, not the statement wrong.
    bool connection_lost() const { return sqlstate.empty() || sqlstate.rfind("08", 0) == 0; }
};

/// Parameters for one statement, in order ($1 first). NULL is an empty optional.
class Params {
  public:
    Params& Add(std::string_view v) {
        values_.emplace_back(std::string(v));
        return *this;
    }
    Params& Add(const char* v) { return Add(std::string_view(v)); }
    Params& Add(const std::string& v) { return Add(std::string_view(v)); }
    Params& Add(int64_t v) {
        values_.emplace_back(std::to_string(v));
        return *this;
    }
    Params& Add(int v) { return Add(static_cast<int64_t>(v)); }
    Params& Add(bool v) { return Add(static_cast<int64_t>(v ? 1 : 0)); }
    Params& AddNull() {
        values_.emplace_back(std::nullopt);
        return *this;
    }
    template <typename T>
    Params& Add(const std::optional<T>& v) {
        return v ? Add(*v) : AddNull();
    }
    const std::vector<std::optional<std::string>>& values() const { return values_; }

  private:
    std::vector<std::optional<std::string>> values_;
};

/// A PostgreSQL array literal ('{"a","b",NULL}') for binding a whole batch to one parameter,
/// read back with unnest($n::text[]) or = ANY($n::text[]).
class ArrayParam {
  public:
    void Add(std::string_view v);
    void Add(int64_t v);
    void AddNull();
    std::string Take();
    bool empty() const { return count_ == 0; }

  private:
    std::string text_ = "{";
    size_t count_ = 0;
};

/// The rows a statement returned.
class PgResult {
  public:
    explicit PgResult(pg_result* r) : r_(r) {}
    PgResult(PgResult&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
    PgResult& operator=(PgResult&&) = delete;
    PgResult(const PgResult&) = delete;
    ~PgResult();

    int rows() const;
    /// Rows changed by an INSERT, UPDATE or DELETE.
    int64_t affected() const;
    std::string Text(int row, int col) const;
    std::string_view View(int row, int col) const;
    std::optional<std::string> OptText(int row, int col) const;
    int64_t Int(int row, int col) const;
    std::optional<int64_t> OptInt(int row, int col) const;
    bool IsNull(int row, int col) const;

  private:
    pg_result* r_;
};

/// One row of a result, for readers written once for every statement with the same columns.
class PgRow {
  public:
    PgRow(const PgResult& r, int row) : r_(&r), row_(row) {}
    std::string Text(int col) const { return r_->Text(row_, col); }
    std::string_view View(int col) const { return r_->View(row_, col); }
    std::optional<std::string> OptText(int col) const { return r_->OptText(row_, col); }
    int64_t Int(int col) const { return r_->Int(row_, col); }
    std::optional<int64_t> OptInt(int col) const { return r_->OptInt(row_, col); }
    bool IsNull(int col) const { return r_->IsNull(row_, col); }

  private:
    const PgResult* r_;
    int row_;
};

/// One connection. Not thread-safe: a connection belongs to one thread at a time (the pool
/// hands it out).
class PgConn {
  public:
    /// `url`: a libpq connection URI (postgres://user@host:port/db?…).
    static core::Result<std::unique_ptr<PgConn>> Open(const std::string& url);
    ~PgConn();
    PgConn(const PgConn&) = delete;
    PgConn& operator=(const PgConn&) = delete;

    /// Runs a named statement, preparing it on this connection the first time.
    PgResult Exec(const PgSql& sql, const Params& params = {});
    /// Runs SQL text with no parameters (transaction control, schema changes); may hold
    /// several statements.
    void Run(const char* sql);
    /// The connection is usable (not broken by a lost server).
    bool healthy() const;
    /// Inside a transaction block (BEGIN issued, not yet ended).
    bool InTransaction() const;
    /// Checks, without a round trip, that the server has not closed the connection meanwhile.
    bool Alive();
    /// For LISTEN: the socket and notifications (PgBus).
    pg_conn* raw() { return c_; }

  private:
    explicit PgConn(pg_conn* c) : c_(c) {}
    [[noreturn]] void Throw(const char* what, pg_result* r);
    pg_conn* c_;
    std::unordered_map<const char*, std::string> prepared_;  ///< statement text → its server-side name
};

/// Connections shared by the threads of one process, at most `size` of them. A connection
/// found broken when it comes back is dropped, and the next caller opens a fresh one.
class PgPool {
  public:
    PgPool(std::string url, int size) : url_(std::move(url)), size_(size) {}

    class Lease {
      public:
        Lease(PgPool& pool, std::unique_ptr<PgConn> c) : pool_(&pool), c_(std::move(c)) {}
        Lease(Lease&& o) noexcept = default;
        ~Lease();
        PgConn& operator*() { return *c_; }
        PgConn* operator->() { return c_.get(); }

      private:
        PgPool* pool_;
        std::unique_ptr<PgConn> c_;
    };

    /// A connection: an idle one, a new one while fewer than `size` are open, or the next
    /// one given back. Throws PgError when a new connection cannot be opened.
    Lease Acquire();

  private:
    void Release(std::unique_ptr<PgConn> c);
    std::string url_;
    int size_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<PgConn>> idle_;
    int open_ = 0;
};

enum class Durability {
    /// The commit waits for its WAL flush (synchronous_commit=on): it survives a power cut.
    kFull,
    /// It does not wait (synchronous_commit=off for this transaction): it survives a crash of
    /// any process, and reaches disk within a fraction of a second (wal_writer_delay).
    kRelaxed,
};

/// BEGIN on construction, ROLLBACK on destruction unless committed.
class PgTransaction {
  public:
    explicit PgTransaction(PgConn& c, Durability durability = Durability::kFull);
    ~PgTransaction();
    PgTransaction(const PgTransaction&) = delete;
    PgTransaction& operator=(const PgTransaction&) = delete;
    void Commit();

  private:
    PgConn& c_;
    bool done_ = false;
};

}  // namespace herald::storage::postgres
