#include "storage/copy.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include "storage/errors.hpp"
#include "storage/sqlite/db.hpp"
#include "storage/store.hpp"

namespace herald::storage {
namespace {

using Clock = std::chrono::steady_clock;

// What ends a copy: returned to the caller as it is. Thrown from deep inside the copy so that
// every early exit leaves through the same unwinding (ROLLBACK, unlock, close).
struct CopyFailure {
    core::ErrorCode code;
    std::string message;
};

[[noreturn]] void Throw(core::ErrorCode code, std::string message) { throw CopyFailure{code, std::move(message)}; }

std::string Quote(std::string_view name) {
    std::string out = "\"";
    for (const char ch : name) {
        if (ch == '"') out += '"';
        out += ch;
    }
    return out + '"';
}

std::string Literal(std::string_view text) {
    std::string out = "'";
    for (const char ch : text) {
        if (ch == '\'') out += '\'';
        out += ch;
    }
    return out + '\'';
}

std::string Joined(const std::vector<std::string>& items, std::string_view separator) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += separator;
        out += item;
    }
    return out;
}

// Tables kept by each side for itself: not copied.
bool IsOwnBookkeeping(const std::string& table) { return table == "schema_migrations"; }

// Tables only PostgreSQL has: what the nodes of a cluster tell each other while they run (the
// bus, storage/postgres/pg_bus.hpp). An installation on SQLite has nothing of the kind to
// bring; they are not copied, but rows in them still mean the destination is in use.
const std::set<std::string> kPostgresOnly = {"event_watchers", "event_outbox"};

// The order tables are copied in when the foreign keys leave a choice. pauses comes after jobs
// on purpose: PostgreSQL's jobs_paused_on_insert trigger turns a pending publish job into a
// paused one when a pause covers it; the copy switches triggers off when it may, and where it
// may not, with no pauses yet every job keeps the state it had in SQLite (the checksum would
// show otherwise). Tables not named here come after these.
const std::vector<std::string> kPreferredOrder = {
    "users",      "workspaces",  "members",           "refresh_tokens", "api_tokens",       "accounts",      "posts",
    "deliveries", "jobs",        "job_history",       "pauses",         "idempotency_keys", "periodic_jobs", "rate_log",
    "rate_holds", "rate_quotas", "posting_schedules", "sandbox_posts",
};

// ---- PostgreSQL: libpq itself, for COPY in both directions -----------------------------------

class PgSession {
  public:
    explicit PgSession(const std::string& url) : c_(PQconnectdb(url.c_str())) {
        if (c_ == nullptr) Throw(core::ErrorCode::kUnavailable, "cannot connect to PostgreSQL: out of memory");
        if (PQstatus(c_) != CONNECTION_OK) {
            // libpq names the host and the reason, never the password.
            Throw(core::ErrorCode::kUnavailable, "cannot connect to PostgreSQL: " + Message(nullptr));
        }
        PQsetNoticeProcessor(
            c_, [](void*, const char*) {}, nullptr);
        // SQLite's text is UTF-8: no conversion on the way in or out.
        Run("SET client_encoding = 'UTF8'; SET client_min_messages = warning");
    }
    ~PgSession() { PQfinish(c_); }
    PgSession(const PgSession&) = delete;
    PgSession& operator=(const PgSession&) = delete;

    /// What the statements that follow are doing, for error messages ("copying jobs").
    void SetContext(std::string context) { context_ = std::move(context); }

    using Row = std::vector<std::optional<std::string>>;

    std::vector<Row> Query(const std::string& sql, const std::vector<std::string>& params = {}) {
        std::vector<const char*> values;
        for (const auto& p : params) values.push_back(p.c_str());
        PGresult* r =
            PQexecParams(c_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0);
        const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) Fail(r);
        std::vector<Row> rows;
        for (int i = 0; i < PQntuples(r); ++i) {
            Row row;
            for (int j = 0; j < PQnfields(r); ++j) {
                if (PQgetisnull(r, i, j)) {
                    row.emplace_back(std::nullopt);
                } else {
                    row.emplace_back(std::string(PQgetvalue(r, i, j), static_cast<size_t>(PQgetlength(r, i, j))));
                }
            }
            rows.push_back(std::move(row));
        }
        PQclear(r);
        return rows;
    }

    int64_t Count(const std::string& sql) {
        auto rows = Query(sql);
        int64_t n = 0;
        const std::string& v = rows.at(0).at(0).value();
        std::from_chars(v.data(), v.data() + v.size(), n);
        return n;
    }

    void Run(const std::string& sql) {
        PGresult* r = PQexec(c_, sql.c_str());
        const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) Fail(r);
        PQclear(r);
    }

    void BeginCopyIn(const std::string& sql) {
        PGresult* r = PQexec(c_, sql.c_str());
        if (r == nullptr || PQresultStatus(r) != PGRES_COPY_IN) Fail(r);
        PQclear(r);
    }

    /// Sends `data` (whole rows) and empties it.
    void PutCopyData(std::string& data) {
        if (data.empty()) return;
        if (PQputCopyData(c_, data.data(), static_cast<int>(data.size())) != 1) Fail(nullptr);
        data.clear();
    }

    void EndCopyIn() {
        if (PQputCopyEnd(c_, nullptr) != 1) Fail(nullptr);
        FinishCommand();
    }

    /// Runs `COPY (…) TO STDOUT`, handing each row (with its newline) to `row`; returns the rows.
    int64_t CopyOut(const std::string& sql, const std::function<void(std::string_view)>& row) {
        PGresult* r = PQexec(c_, sql.c_str());
        if (r == nullptr || PQresultStatus(r) != PGRES_COPY_OUT) Fail(r);
        PQclear(r);
        int64_t rows = 0;
        for (;;) {
            char* buffer = nullptr;
            const int n = PQgetCopyData(c_, &buffer, 0);
            if (n == -1) break;  // done: the command's result follows
            if (n < 0) Fail(nullptr);
            row(std::string_view(buffer, static_cast<size_t>(n)));
            PQfreemem(buffer);
            ++rows;
        }
        FinishCommand();
        return rows;
    }

  private:
    // Reads the results of the command just ended; throws if it failed.
    void FinishCommand() {
        PGresult* failed = nullptr;
        while (PGresult* r = PQgetResult(c_)) {
            if (PQresultStatus(r) != PGRES_COMMAND_OK && failed == nullptr) {
                failed = r;
            } else {
                PQclear(r);
            }
        }
        if (failed != nullptr) Fail(failed);
    }

    std::string Message(PGresult* r) {
        std::string msg = r ? PQresultErrorMessage(r) : "";
        if (msg.empty()) msg = PQerrorMessage(c_);
        while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
        return msg;
    }

    [[noreturn]] void Fail(PGresult* r) {
        std::string msg = Message(r);
        PQclear(r);
        Throw(core::ErrorCode::kUnavailable,
              (context_.empty() ? std::string("PostgreSQL") : context_) + " failed: " + msg);
    }

    PGconn* c_;
    std::string context_;
};

// ---- SQLite: the C API, for a column copy that needs each value's own type --------------------

class SqliteQuery {
  public:
    SqliteQuery(sqlite3* db, const std::string& sql) : db_(db) {
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) Fail();
    }
    ~SqliteQuery() { sqlite3_finalize(stmt_); }
    SqliteQuery(const SqliteQuery&) = delete;
    SqliteQuery& operator=(const SqliteQuery&) = delete;

    bool Step() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        Fail();
    }
    sqlite3_stmt* get() { return stmt_; }
    std::string Text(int col) {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
        return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
    }

  private:
    [[noreturn]] void Fail() {
        Throw(core::ErrorCode::kUnavailable, std::string("reading the SQLite database failed: ") + sqlite3_errmsg(db_));
    }
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

int64_t SqliteCount(sqlite3* db, const std::string& sql) {
    SqliteQuery q(db, sql);
    return q.Step() ? sqlite3_column_int64(q.get(), 0) : 0;
}

bool SqliteHasTable(sqlite3* db, const std::string& table) {
    SqliteQuery q(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = " + Literal(table));
    return q.Step();
}

// table → its columns, for every table of one SQLite file.
std::map<std::string, std::vector<std::string>> SqliteSchema(sqlite3* db) {
    std::map<std::string, std::vector<std::string>> out;
    std::vector<std::string> tables;
    {
        SqliteQuery q(db,
                      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'");
        while (q.Step()) tables.push_back(q.Text(0));
    }
    for (const auto& t : tables) {
        SqliteQuery q(db, "PRAGMA table_info(" + Quote(t) + ")");
        auto& columns = out[t];
        while (q.Step()) columns.push_back(q.Text(1));
    }
    return out;
}

// A read transaction: one snapshot of the file for the whole copy (WAL lets it stand beside
// any writer, though with the server stopped there should be none).
class SqliteSnapshot {
  public:
    explicit SqliteSnapshot(sqlite::Db& db) : db_(db) { db_.Exec("BEGIN"); }
    ~SqliteSnapshot() {
        try {
            db_.Exec("ROLLBACK");
        } catch (const StoreError&) {
            // Nothing was written; closing the connection ends the transaction too.
        }
    }

  private:
    sqlite::Db& db_;
};

// The flock a running server holds on PATH.lock (api/host.cpp, LockDatabase), held here for the
// whole copy so that no server starts on the source meanwhile.
class SourceLock {
  public:
    explicit SourceLock(const std::string& db_path) {
        const std::string path = db_path + ".lock";
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd_ < 0) {
            Throw(core::ErrorCode::kUnavailable, "cannot open lock file '" + path + "': " + std::strerror(errno));
        }
        if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            ::close(fd_);
            fd_ = -1;
            Throw(core::ErrorCode::kFailedPrecondition,
                  "a herald server is running on " + db_path + " (" + path +
                      " is locked): stop it before migrating, so that nothing changes while the data is copied");
        }
    }
    ~SourceLock() {
        if (fd_ >= 0) ::close(fd_);
    }
    SourceLock(const SourceLock&) = delete;
    SourceLock& operator=(const SourceLock&) = delete;

  private:
    int fd_ = -1;
};

// ---- the schema both sides share --------------------------------------------------------------

struct Table {
    std::string name;
    std::vector<std::string> columns;  ///< in PostgreSQL's order
    std::set<std::string> text_columns;
    std::vector<std::string> key;       ///< the primary key (every column when there is none)
    std::vector<std::string> identity;  ///< identity columns (PostgreSQL)
    sqlite3* source = nullptr;          ///< the SQLite file holding it; nullptr: none (no rows)
};

struct PgSchema {
    std::map<std::string, Table> tables;
    std::vector<std::pair<std::string, std::string>> references;  ///< (table, the table it refers to)
};

PgSchema ReadPgSchema(PgSession& pg) {
    pg.SetContext("reading the PostgreSQL schema");
    PgSchema schema;
    const auto columns = pg.Query(
        "SELECT c.table_name, c.column_name, c.data_type, c.is_identity FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
        "ORDER BY c.table_name, c.ordinal_position");
    for (const auto& row : columns) {
        const std::string& table = *row[0];
        if (IsOwnBookkeeping(table)) continue;
        const std::string& column = *row[1];
        const std::string& type = *row[2];
        auto& t = schema.tables[table];
        t.name = table;
        t.columns.push_back(column);
        if (type == "text" || type == "character varying" || type == "character") {
            t.text_columns.insert(column);
        } else if (type != "bigint" && type != "integer" && type != "smallint" && !kPostgresOnly.count(table)) {
            // Another type would come back from PostgreSQL written differently from SQLite's
            // value (a boolean as t/f, a timestamp with a zone): the checksum could not compare.
            Throw(core::ErrorCode::kFailedPrecondition, "column " + table + "." + column + " has type " + type +
                                                            " in PostgreSQL; this herald copies only text and "
                                                            "integer columns: upgrade herald");
        }
        if (row[3].value_or("NO") == "YES") t.identity.push_back(column);
    }
    const auto keys = pg.Query(
        "SELECT c.relname, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum "
        "WHERE i.indisprimary AND n.nspname = current_schema() ORDER BY c.relname, k.ord");
    for (const auto& row : keys) {
        auto it = schema.tables.find(*row[0]);
        if (it != schema.tables.end()) it->second.key.push_back(*row[1]);
    }
    for (auto& [name, t] : schema.tables) {
        if (t.key.empty()) t.key = t.columns;
    }
    const auto references = pg.Query(
        "SELECT a.relname, b.relname FROM pg_constraint c JOIN pg_class a ON a.oid = c.conrelid "
        "JOIN pg_class b ON b.oid = c.confrelid JOIN pg_namespace n ON n.oid = a.relnamespace "
        "WHERE c.contype = 'f' AND n.nspname = current_schema()");
    for (const auto& row : references) schema.references.emplace_back(*row[0], *row[1]);
    pg.SetContext("");
    return schema;
}

// Referenced tables before the tables that refer to them; kPreferredOrder where that leaves a
// choice.
std::vector<Table*> CopyOrder(PgSchema& schema) {
    const auto rank = [](const std::string& table) {
        auto it = std::find(kPreferredOrder.begin(), kPreferredOrder.end(), table);
        return std::make_pair(static_cast<int>(it - kPreferredOrder.begin()), table);
    };
    std::map<std::string, std::set<std::string>> waits_for;
    for (const auto& [name, t] : schema.tables) waits_for[name];
    for (const auto& [from, to] : schema.references) {
        if (from != to && schema.tables.count(from) && schema.tables.count(to)) waits_for[from].insert(to);
    }
    std::vector<Table*> order;
    while (!waits_for.empty()) {
        std::optional<std::pair<int, std::string>> next;
        for (const auto& [name, deps] : waits_for) {
            if (deps.empty() && (!next || rank(name) < *next)) next = rank(name);
        }
        if (!next) {
            Throw(core::ErrorCode::kFailedPrecondition,
                  "the PostgreSQL schema's foreign keys form a cycle; cannot choose a copy order");
        }
        waits_for.erase(next->second);
        for (auto& [name, deps] : waits_for) deps.erase(next->second);
        order.push_back(&schema.tables.at(next->second));
    }
    return order;
}

// Refuses unless SQLite has the same tables with the same columns (in any order).
void CheckSameTables(const PgSchema& pg, const std::map<std::string, std::vector<std::string>>& sqlite) {
    std::vector<std::string> problems;
    for (const auto& [name, columns] : sqlite) {
        if (!pg.tables.count(name)) problems.push_back("table " + name + " exists only in SQLite");
    }
    for (const auto& [name, t] : pg.tables) {
        auto it = sqlite.find(name);
        if (it == sqlite.end()) {
            problems.push_back("table " + name + " exists only in PostgreSQL");
            continue;
        }
        const std::set<std::string> a(it->second.begin(), it->second.end());
        const std::set<std::string> b(t.columns.begin(), t.columns.end());
        std::vector<std::string> only_sqlite, only_pg;
        std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only_sqlite));
        std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(only_pg));
        if (!only_sqlite.empty()) {
            problems.push_back("columns of " + name + " only in SQLite: " + Joined(only_sqlite, ", "));
        }
        if (!only_pg.empty())
            problems.push_back("columns of " + name + " only in PostgreSQL: " + Joined(only_pg, ", "));
    }
    if (!problems.empty()) {
        Throw(core::ErrorCode::kFailedPrecondition,
              "the SQLite and PostgreSQL schemas differ, so a copy would lose data; nothing was copied (" +
                  Joined(problems, "; ") + ")");
    }
}

std::vector<std::string> NonEmptyTables(PgSession& pg, const std::vector<std::string>& tables) {
    std::string sql;
    for (const auto& t : tables) {
        if (!sql.empty()) sql += " UNION ALL ";
        sql += "SELECT " + Literal(t) + " WHERE EXISTS (SELECT 1 FROM " + Quote(t) + ")";
    }
    std::vector<std::string> out;
    if (sql.empty()) return out;
    for (const auto& row : pg.Query(sql)) out.push_back(*row[0]);
    return out;
}

void RefuseUnlessEmpty(PgSession& pg, const std::vector<std::string>& tables, const std::string& masked_url) {
    pg.SetContext("checking that the destination is empty");
    const auto used = NonEmptyTables(pg, tables);
    if (!used.empty()) {
        Throw(core::ErrorCode::kFailedPrecondition, "the destination " + masked_url + " already holds data (rows in " +
                                                        Joined(used, ", ") +
                                                        "); migrate into a new, empty database. Nothing was written");
    }
}

std::string ColumnList(const Table& t) {
    std::vector<std::string> quoted;
    for (const auto& c : t.columns) quoted.push_back(Quote(c));
    return Joined(quoted, ", ");
}

// ORDER BY for the checksum: text bytewise on both sides (SQLite's BINARY, PostgreSQL's "C").
std::string KeyOrder(const Table& t, const char* text_collation) {
    std::vector<std::string> parts;
    for (const auto& c : t.key) {
        parts.push_back(Quote(c) + (t.text_columns.count(c) ? std::string(" COLLATE ") + text_collation : ""));
    }
    return Joined(parts, ", ");
}

// Calls `progress` about once a second, checking the clock every few thousand rows.
class Ticker {
  public:
    Ticker(const std::function<void(const CopyProgress&)>& progress, CopyProgress::Phase phase,
           const std::string& table, int64_t total)
        : progress_(progress), state_{phase, table, 0, total, false} {
        Report();
    }
    void Row() {
        ++state_.rows_done;
        if ((state_.rows_done & 4095) == 0 && Clock::now() - last_ >= std::chrono::seconds(1)) Report();
    }
    void Done() {
        state_.finished = true;
        Report();
    }

  private:
    void Report() {
        last_ = Clock::now();
        if (progress_) progress_(state_);
    }
    const std::function<void(const CopyProgress&)>& progress_;
    CopyProgress state_;
    Clock::time_point last_ = Clock::now();
};

constexpr size_t kCopyChunk = 1 << 20;  // bytes per PQputCopyData

// Streams one table from SQLite into PostgreSQL's COPY; returns its rows and checksum.
TableCopyReport CopyTable(PgSession& pg, const Table& t, const std::function<void(const CopyProgress&)>& progress) {
    TableCopyReport report{t.name, 0, {}};
    TableChecksum sum;
    if (t.source == nullptr) {  // no SQLite file holds it: nothing to copy
        Ticker(progress, CopyProgress::Phase::kCopy, t.name, 0).Done();
        report.checksum = sum.Finish();
        return report;
    }
    const int64_t total = SqliteCount(t.source, "SELECT count(*) FROM " + Quote(t.name));
    Ticker ticker(progress, CopyProgress::Phase::kCopy, t.name, total);
    pg.SetContext("copying " + t.name);
    // COPY writes identity columns as given (like OVERRIDING SYSTEM VALUE): rate_log keeps its ids.
    pg.BeginCopyIn("COPY " + Quote(t.name) + " (" + ColumnList(t) + ") FROM STDIN");
    SqliteQuery q(t.source,
                  "SELECT " + ColumnList(t) + " FROM " + Quote(t.name) + " ORDER BY " + KeyOrder(t, "BINARY"));
    sqlite3_stmt* s = q.get();
    const int n = static_cast<int>(t.columns.size());
    std::string buffer;
    buffer.reserve(kCopyChunk + 64 * 1024);
    std::string line;
    while (q.Step()) {
        line.clear();
        for (int i = 0; i < n; ++i) {
            if (i > 0) line += '\t';
            switch (sqlite3_column_type(s, i)) {
                case SQLITE_NULL:
                    TableChecksum::AppendNull(line);
                    break;
                case SQLITE_INTEGER:
                    TableChecksum::AppendInt(line, sqlite3_column_int64(s, i));
                    break;
                case SQLITE_FLOAT: {
                    // Not in Herald's schema; PostgreSQL refuses it for an integer column.
                    char number[64];
                    auto end = std::to_chars(number, number + sizeof number, sqlite3_column_double(s, i)).ptr;
                    line.append(number, end);
                    break;
                }
                default: {
                    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
                    TableChecksum::AppendText(
                        line, std::string_view(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(s, i))));
                }
            }
        }
        line += '\n';
        sum.AddFormatted(line);
        buffer += line;
        if (buffer.size() >= kCopyChunk) pg.PutCopyData(buffer);
        ++report.rows;
        ticker.Row();
    }
    pg.PutCopyData(buffer);
    pg.EndCopyIn();
    ticker.Done();
    if (report.rows != total) {
        Throw(core::ErrorCode::kInternal, "reading " + t.name + " from SQLite gave " + std::to_string(report.rows) +
                                              " rows, but it counts " + std::to_string(total));
    }
    report.checksum = sum.Finish();
    return report;
}

// Reads one table back from PostgreSQL and compares it with what was copied.
void VerifyTable(PgSession& pg, const Table& t, const TableCopyReport& copied,
                 const std::function<void(const CopyProgress&)>& progress) {
    pg.SetContext("verifying " + t.name);
    Ticker ticker(progress, CopyProgress::Phase::kVerify, t.name, copied.rows);
    const int64_t count = pg.Count("SELECT count(*) FROM " + Quote(t.name));
    if (count != copied.rows) {
        Throw(core::ErrorCode::kInternal, "verification failed for table " + t.name + ": " +
                                              std::to_string(copied.rows) + " rows copied from SQLite, " +
                                              std::to_string(count) + " in PostgreSQL. Nothing was committed");
    }
    TableChecksum sum;
    pg.CopyOut("COPY (SELECT " + ColumnList(t) + " FROM " + Quote(t.name) + " ORDER BY " + KeyOrder(t, "\"C\"") +
                   ") TO STDOUT",
               [&](std::string_view row) {
                   sum.AddFormatted(row);
                   ticker.Row();
               });
    ticker.Done();
    const std::string got = sum.Finish();
    if (got != copied.checksum) {
        Throw(core::ErrorCode::kInternal, "verification failed for table " + t.name +
                                              ": the content read back from PostgreSQL differs from SQLite's "
                                              "(SHA-256 " +
                                              got + " against " + copied.checksum + "). Nothing was committed");
    }
}

// Moves each identity column's sequence past the largest id copied, so new rows get new ids.
void ResetIdentities(PgSession& pg, const Table& t) {
    for (const auto& column : t.identity) {
        pg.SetContext("resetting the identity of " + t.name + "." + column);
        pg.Query("SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(MAX(" + Quote(column) +
                     "), 0) + 1, false) "
                     "FROM " +
                     Quote(t.name),
                 {Quote(t.name), column});
    }
}

bool IsPostgresUrl(const std::string& url) {
    return url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0;
}

CopyReport Run(const std::string& from_url, const std::string& to_url,
               const std::function<void(const CopyProgress&)>& progress, const CopyOptions& options) {
    const auto started = Clock::now();
    const auto path = SqlitePathOf(from_url);
    if (!path) {
        Throw(core::ErrorCode::kInvalidArgument,
              "the source must be a SQLite database, sqlite:PATH or sqlite://PATH (got '" + MaskDatabaseUrl(from_url) +
                  "')");
    }
    if (!IsPostgresUrl(to_url)) {
        Throw(core::ErrorCode::kInvalidArgument,
              "the destination must be a PostgreSQL URL, postgres://… (got '" + MaskDatabaseUrl(to_url) + "')");
    }
    const std::string masked_to = MaskDatabaseUrl(to_url);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*path, ec)) {
        Throw(core::ErrorCode::kNotFound, "no SQLite database at " + *path);
    }
    const std::string sqlite_url = "sqlite:" + *path;
    const SourceLock lock(*path);
    CopyReport report;

    // The destination first: when it already holds data, the source is not touched at all.
    auto applied = Migrate(to_url);
    if (!applied) Throw(applied.error().code, applied.error().message);
    report.destination_migrations = *applied;
    PgSession pg(to_url);
    PgSchema pg_schema = ReadPgSchema(pg);
    std::vector<std::string> all_tables;  // copied or not: any row in any of them refuses the copy
    for (const auto& [name, t] : pg_schema.tables) all_tables.push_back(name);
    for (const auto& name : kPostgresOnly) pg_schema.tables.erase(name);
    const std::vector<Table*> order = CopyOrder(pg_schema);
    RefuseUnlessEmpty(pg, all_tables, masked_to);

    applied = Migrate(sqlite_url);
    if (!applied) Throw(applied.error().code, applied.error().message);
    report.source_migrations = *applied;
    auto main = sqlite::Db::Open(*path);
    if (!main) Throw(main.error().code, main.error().message);
    // The sandbox's posts live in PATH-sandbox. Opening the sandbox through the store brings
    // that file to its newest version, and moves over what an older Herald left in the main
    // file's own sandbox_posts table (which is therefore not copied itself).
    const std::string sandbox_path = *path + "-sandbox";
    const bool legacy_sandbox_rows = SqliteHasTable((*main)->raw(), "sandbox_posts") &&
                                     SqliteCount((*main)->raw(), "SELECT count(*) FROM sandbox_posts") > 0;
    if (std::filesystem::exists(sandbox_path, ec) || legacy_sandbox_rows) {
        auto store = OpenStore(sqlite_url, {});
        if (!store) Throw(store.error().code, store.error().message);
        auto found = (*store)->SandboxFind("", "");
        if (!found) Throw(found.error().code, "cannot open the sandbox database: " + found.error().message);
    }
    std::unique_ptr<sqlite::Db> sandbox;
    if (std::filesystem::exists(sandbox_path, ec)) {
        auto opened = sqlite::Db::Open(sandbox_path);
        if (!opened) Throw(opened.error().code, opened.error().message);
        sandbox = std::move(*opened);
    }

    // One snapshot of each file for the whole copy.
    const SqliteSnapshot main_snapshot(**main);
    std::optional<SqliteSnapshot> sandbox_snapshot;
    if (sandbox) sandbox_snapshot.emplace(*sandbox);
    auto sqlite_schema = SqliteSchema((*main)->raw());
    sqlite_schema.erase("schema_migrations");
    sqlite_schema.erase("sandbox_posts");  // an older version's place for them: moved to the sandbox file above
    std::map<std::string, sqlite3*> source_of;
    for (const auto& [name, columns] : sqlite_schema) source_of[name] = (*main)->raw();
    if (sandbox) {
        auto sandbox_schema = SqliteSchema(sandbox->raw());
        if (!sandbox_schema.count("sandbox_posts")) {
            Throw(core::ErrorCode::kFailedPrecondition, sandbox_path + " holds no sandbox_posts table");
        }
        sqlite_schema["sandbox_posts"] = sandbox_schema["sandbox_posts"];
        source_of["sandbox_posts"] = sandbox->raw();
    } else if (pg_schema.tables.count("sandbox_posts")) {
        // Never used: no file, no posts, and nothing to compare its columns with.
        sqlite_schema["sandbox_posts"] = pg_schema.tables.at("sandbox_posts").columns;
    }
    CheckSameTables(pg_schema, sqlite_schema);
    for (Table* t : order) t->source = source_of.count(t->name) ? source_of.at(t->name) : nullptr;

    {
        pg.SetContext("starting the copy");
        pg.Run("BEGIN");
        struct Rollback {
            PgSession& pg;
            bool committed = false;
            ~Rollback() {
                if (committed) return;
                try {
                    pg.Run("ROLLBACK");
                } catch (const CopyFailure&) {
                    // The connection is gone, and the transaction with it.
                }
            }
        } rollback{pg};
        // Nobody else writes while the copy runs, and the emptiness check below stays true.
        std::vector<std::string> names;
        for (const Table* t : order) names.push_back(Quote(t->name));
        pg.SetContext("locking the destination's tables (is a herald server using it?)");
        pg.Run("SET LOCAL lock_timeout = '10s'");
        pg.Run("LOCK TABLE " + Joined(names, ", ") + " IN ACCESS EXCLUSIVE MODE");
        RefuseUnlessEmpty(pg, all_tables, masked_to);

        // Herald's own triggers (jobs: hold a job a pause covers, wake the nodes) have nothing
        // to do for rows that already went through them in SQLite, and a row trigger costs
        // more than the row: off for the copy, inside the transaction, when this user owns
        // the tables (else they stay on, which is only slower). Foreign keys stay checked.
        pg.SetContext("switching triggers off for the copy");
        pg.Run("SAVEPOINT triggers");
        bool triggers_off = true;
        try {
            for (const Table* t : order) pg.Run("ALTER TABLE " + Quote(t->name) + " DISABLE TRIGGER USER");
            pg.Run("RELEASE SAVEPOINT triggers");
        } catch (const CopyFailure&) {
            pg.Run("ROLLBACK TO SAVEPOINT triggers");
            triggers_off = false;
        }
        for (const Table* t : order) {
            report.tables.push_back(CopyTable(pg, *t, progress));
            report.rows += report.tables.back().rows;
        }
        if (triggers_off) {
            pg.SetContext("switching triggers back on");
            for (const Table* t : order) pg.Run("ALTER TABLE " + Quote(t->name) + " ENABLE TRIGGER USER");
        }
        for (const Table* t : order) ResetIdentities(pg, *t);
        if (!options.before_verify_sql.empty()) {
            pg.SetContext("the test hook");
            pg.Run(options.before_verify_sql);
        }
        for (size_t i = 0; i < order.size(); ++i) VerifyTable(pg, *order[i], report.tables[i], progress);
        pg.SetContext("committing the copy");
        pg.Run("COMMIT");
        rollback.committed = true;
    }
    report.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return report;
}

}  // namespace

// ---- checksum ---------------------------------------------------------------------------------

static_assert(sizeof(crypto_hash_sha256_state) <= 128 && alignof(crypto_hash_sha256_state) <= 16);

TableChecksum::TableChecksum() { crypto_hash_sha256_init(reinterpret_cast<crypto_hash_sha256_state*>(state_)); }

void TableChecksum::AddFormatted(std::string_view bytes) {
    crypto_hash_sha256_update(reinterpret_cast<crypto_hash_sha256_state*>(state_),
                              reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

void TableChecksum::AppendNull(std::string& line) { line += "\\N"; }

void TableChecksum::AppendInt(std::string& line, int64_t v) {
    char number[24];
    auto end = std::to_chars(number, number + sizeof number, v).ptr;
    line.append(number, end);
}

void TableChecksum::AppendText(std::string& line, std::string_view v) {
    // As PostgreSQL's COPY TO writes text (CopyAttributeOutText): these and nothing else.
    for (const char ch : v) {
        switch (ch) {
            case '\\':
                line += "\\\\";
                break;
            case '\b':
                line += "\\b";
                break;
            case '\f':
                line += "\\f";
                break;
            case '\n':
                line += "\\n";
                break;
            case '\r':
                line += "\\r";
                break;
            case '\t':
                line += "\\t";
                break;
            case '\v':
                line += "\\v";
                break;
            default:
                line += ch;
        }
    }
}

std::string TableChecksum::Finish() {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(reinterpret_cast<crypto_hash_sha256_state*>(state_), digest);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (const unsigned char b : digest) {
        out += kHex[b >> 4];
        out += kHex[b & 15];
    }
    return out;
}

// ---- URLs -------------------------------------------------------------------------------------

std::optional<std::string> SqlitePathOf(const std::string& url) {
    for (const std::string_view prefix : {"sqlite://", "sqlite:"}) {
        if (url.rfind(prefix, 0) == 0 && url.size() > prefix.size()) return url.substr(prefix.size());
    }
    return std::nullopt;
}

std::string MaskDatabaseUrl(const std::string& url) {
    std::string out = url;
    const size_t scheme = out.find("://");
    if (scheme != std::string::npos) {
        const size_t start = scheme + 3;
        const size_t end = std::min(out.find_first_of("/?#", start), out.size());
        const size_t at = out.rfind('@', end == 0 ? 0 : end - 1);
        if (at != std::string::npos && at >= start) {
            const size_t colon = out.find(':', start);
            if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
        }
    }
    // libpq also takes the password as a query parameter.
    const size_t query = out.find('?');
    if (query != std::string::npos) {
        size_t pos = query + 1;
        while (pos < out.size()) {
            size_t amp = out.find('&', pos);
            if (amp == std::string::npos) amp = out.size();
            if (out.compare(pos, 9, "password=") == 0) {
                out.replace(pos + 9, amp - pos - 9, "***");
                amp = pos + 9 + 3;
            }
            pos = amp + 1;
        }
    }
    return out;
}

core::Result<CopyReport> CopyStore(const std::string& from_url, const std::string& to_url,
                                   const std::function<void(const CopyProgress&)>& progress,
                                   const CopyOptions& options) {
    if (sodium_init() < 0) return core::Fail(core::ErrorCode::kInternal, "libsodium cannot start");
    try {
        return Run(from_url, to_url, progress, options);
    } catch (const CopyFailure& f) {
        return core::Fail(f.code, f.message);
    } catch (const StoreError& e) {
        return core::Fail(core::ErrorCode::kUnavailable, e.what());
    }
}

}  // namespace herald::storage
