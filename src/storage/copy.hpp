#pragma once

// Moving an installation from the embedded SQLite store to PostgreSQL (`herald migrate --from
// sqlite:PATH --to postgres://…`): every table copied in one PostgreSQL transaction, then
// verified by row counts and checksums before COMMIT.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace herald::storage {

/// Where a running copy is: called at the start and end of each table of each phase, and
/// about once a second in between.
struct CopyProgress {
    enum class Phase { kCopy, kVerify };
    Phase phase = Phase::kCopy;
    std::string table;
    int64_t rows_done = 0;
    int64_t rows_total = 0;
    bool finished = false;  ///< the table is done in this phase
};

struct TableCopyReport {
    std::string table;
    int64_t rows = 0;
    std::string checksum;  ///< hex SHA-256 of the table's content (TableChecksum), equal on both sides
};

struct CopyReport {
    std::vector<TableCopyReport> tables;  ///< in the order they were copied
    int64_t rows = 0;                     ///< all tables together
    int source_migrations = 0;            ///< migrations applied to the source before copying
    int destination_migrations = 0;       ///< … and to the destination
    double seconds = 0;
};

struct CopyOptions {
    /// For tests only: SQL run on the destination inside the copy's transaction, after the rows
    /// are in and before they are verified (to prove that verification catches a difference).
    std::string before_verify_sql;
};

/// Copies everything a SQLite installation holds (`from_url`: "sqlite:PATH" or
/// "sqlite://PATH", with the sandbox's posts from PATH-sandbox) into an empty PostgreSQL
/// database (`to_url`: "postgres://…" or "postgresql://…"). Both are first brought to the
/// newest schema. Refuses, leaving the destination untouched, when the destination holds any
/// row, when a server holds the source's lock (PATH.lock), or when the two schemas' tables or
/// columns differ. Everything is written in one transaction, committed only when every
/// table's row count and checksum read back from PostgreSQL equal the source's.
/// rate_log keeps its ids (OVERRIDING SYSTEM VALUE via COPY) and its identity sequence is
/// moved past the largest one.
core::Result<CopyReport> CopyStore(const std::string& from_url, const std::string& to_url,
                                   const std::function<void(const CopyProgress&)>& progress,
                                   const CopyOptions& options = {});

/// The URL with any password replaced by "***" (user:***@host, password=*** in the query), for
/// messages and logs.
std::string MaskDatabaseUrl(const std::string& url);

/// The file a "sqlite:PATH" or "sqlite://PATH" URL names; nullopt when it is neither.
std::optional<std::string> SqlitePathOf(const std::string& url);

/// The checksum both sides compute for a table: SHA-256 over its rows in primary-key order
/// (bytewise for text), each row written as PostgreSQL's COPY text format writes it: values
/// separated by tabs, a newline after each row, NULL as \N, an empty text as nothing, integers
/// in decimal, and in text a backslash before \ and \b \f \n \r \t \v written as letters.
class TableChecksum {
  public:
    TableChecksum();
    /// Feeds bytes already in that format (what PostgreSQL's COPY TO sends).
    void AddFormatted(std::string_view bytes);
    /// Appends one value of the current row to `line` in that format.
    static void AppendNull(std::string& line);
    static void AppendInt(std::string& line, int64_t v);
    static void AppendText(std::string& line, std::string_view v);
    /// Hex digest; the object is spent afterwards.
    std::string Finish();

  private:
    alignas(16) unsigned char state_[128];  ///< a crypto_hash_sha256_state
};

}  // namespace herald::storage
