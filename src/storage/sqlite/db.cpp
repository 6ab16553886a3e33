#include "storage/sqlite/db.hpp"

#include <spdlog/spdlog.h>

#include <mutex>

namespace herald::storage::sqlite {

Stmt::~Stmt() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

Stmt& Stmt::Bind(int index, std::string_view v) {
    sqlite3_bind_text(stmt_, index, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
}

Stmt& Stmt::Bind(int index, const Rows& rows) {
    sqlite3_bind_pointer(stmt_, index, const_cast<Rows*>(&rows), kRowsPointerType, nullptr);
    return *this;
}

Stmt& Stmt::Bind(int index, int64_t v) {
    sqlite3_bind_int64(stmt_, index, v);
    return *this;
}

Stmt& Stmt::BindNull(int index) {
    sqlite3_bind_null(stmt_, index);
    return *this;
}

bool Stmt::Step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    const std::string msg = std::string("sql=") + name_ + " error=" + sqlite3_errmsg(db_->raw());
    if (sqlite3_extended_errcode(db_->raw()) == SQLITE_CONSTRAINT_UNIQUE ||
        sqlite3_extended_errcode(db_->raw()) == SQLITE_CONSTRAINT_PRIMARYKEY) {
        constraint_violation_ = true;
        throw ConstraintError(msg);
    }
    throw DbError(msg);
}

int Stmt::Run() {
    while (Step()) {
    }
    return sqlite3_changes(db_->raw());
}

std::string Stmt::Text(int col) const { return std::string(View(col)); }

std::string_view Stmt::View(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    if (p == nullptr) return {};
    return std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::optional<std::string> Stmt::OptText(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Text(col);
}

int64_t Stmt::Int(int col) const { return sqlite3_column_int64(stmt_, col); }

std::optional<int64_t> Stmt::OptInt(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Int(col);
}

bool Stmt::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

namespace {

// A statement inside a larger transaction keeps the pages it changes in a statement journal, so
// that it can be undone alone. SQLite spills that journal to a temporary file past 64 KiB, only
// eight of our 8 KiB pages: the queue's per-row statements then wrote every page they touched to
// /var/tmp as well (about 25 writes a job, 6 GB for a 50,000-job burn-down). Keep up to 8 MiB
// per statement in memory; a statement that changes more (a large purge) still spills.
void ConfigureSqliteOnce() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, 8 * 1024 * 1024) != SQLITE_OK) {
            spdlog::warn("event=sqlite_config_late setting=stmtjrnl_spill");  // initialized elsewhere first
        }
    });
}

}  // namespace

core::Result<std::unique_ptr<Db>> Db::Open(const std::string& path) {
    ConfigureSqliteOnce();
    sqlite3* raw = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = raw ? sqlite3_errmsg(raw) : "out of memory";
        sqlite3_close(raw);
        return core::Fail(core::ErrorCode::kUnavailable, "cannot open database '" + path + "': " + msg);
    }
    auto db = std::unique_ptr<Db>(new Db(raw));
    sqlite3_busy_timeout(raw, 5000);
    if (RegisterRowsModule(raw) != SQLITE_OK) {
        return core::Fail(core::ErrorCode::kInternal,
                          std::string("cannot register herald_rows: ") + sqlite3_errmsg(raw));
    }
    try {
        // 8 KiB pages for a new database (an existing one keeps its size: the setting is ignored
        // once the file is in WAL mode). The queue's commits each rewrite a few hundred scattered
        // pages; with fewer, larger pages a commit makes fewer WAL writes (two per page) for the
        // same rows. Measured on the burn-down: about +6% against 4 KiB.
        db->Exec("PRAGMA page_size=8192");
        // WAL lets readers run beside the writer; synchronous=FULL makes every commit durable,
        // including a recorded publish, across a power loss and not only a process crash.
        db->Exec("PRAGMA journal_mode=WAL");
        db->Exec("PRAGMA synchronous=FULL");
        db->Exec("PRAGMA foreign_keys=ON");
        // Checkpoint every 500 WAL pages (4 MB of 8 KiB pages) rather than SQLite's 1,000. The
        // checkpoint runs inside the commit that crosses the limit, under the store lock: it
        // copies the WAL into the database file and syncs both, and claims wait meanwhile. Queue
        // commits are not synced one by one, so the checkpoint's syncs carry all the writes since
        // the last one: measured on the lateness run, p99 was about 50 ms with 4,000 pages, 20 ms
        // with 1,000 and 11 ms with 500, at no measurable cost to the burn-down. (A background
        // checkpointer on a second connection was faster on the burn-down but its syncs stalled
        // the writer's appends for up to 300 ms.) Durability is unchanged: a commit is final once
        // it is in the WAL.
        db->Exec("PRAGMA wal_autocheckpoint=500");
    } catch (const DbError& e) {
        return core::Fail(core::ErrorCode::kUnavailable, "cannot use database '" + path + "': " + e.what());
    }
    return db;
}

Db::~Db() {
    for (auto& [_, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
}

Stmt Db::Prepare(const Sql& sql) {
    auto it = cache_.find(sql.text);
    if (it == cache_.end()) {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v3(db_, sql.text, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
            throw DbError(std::string("sql=") + sql.name + " prepare error=" + sqlite3_errmsg(db_));
        }
        it = cache_.emplace(sql.text, stmt).first;
    }
    return Stmt(*this, it->second, sql.name);
}

void Db::Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown error";
        sqlite3_free(err);
        throw DbError(std::string("exec error=") + msg);
    }
}

Transaction::Transaction(Db& db, Durability durability) : db_(db), durability_(durability) {
    // synchronous is a setting of the connection, read at commit: set it for this one only.
    if (durability_ == Durability::kRelaxed) db_.Exec("PRAGMA synchronous=NORMAL");
    try {
        db_.Exec("BEGIN IMMEDIATE");
    } catch (...) {
        Restore();
        throw;
    }
}

void Transaction::Restore() {
    if (durability_ == Durability::kRelaxed) db_.Exec("PRAGMA synchronous=FULL");
}

Transaction::~Transaction() {
    if (!done_) {
        try {
            db_.Exec("ROLLBACK");
            Restore();
        } catch (const DbError& e) {
            spdlog::error("event=rollback_failed error=\"{}\"", e.what());
        }
    }
}

void Transaction::Commit() {
    db_.Exec("COMMIT");
    done_ = true;
    Restore();
}

}  // namespace herald::storage::sqlite
