#include "storage/store.hpp"

#include <algorithm>

#include "storage/postgres/pg_bus.hpp"
#include "storage/postgres/pg_migrations.hpp"
#include "storage/postgres/pg_store.hpp"
#include "storage/sqlite/migrations.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace herald::storage {
namespace {

bool IsPostgres(const std::string& url) {
    return url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0;
}

// A connection with the schema brought up to date.
core::Result<std::unique_ptr<postgres::PgConn>> OpenPostgresMigrated(const std::string& url, int* applied) {
    auto c = postgres::PgConn::Open(url);
    if (!c) return tl::unexpected(c.error());
    try {
        auto n = postgres::ApplyMigrations(**c);
        if (!n) return tl::unexpected(n.error());
        if (applied) *applied = *n;
    } catch (const postgres::PgError& e) {
        return core::Fail(core::ErrorCode::kUnavailable, std::string("migration failed: ") + e.what());
    }
    return c;
}

core::Result<std::unique_ptr<sqlite::Db>> OpenMigrated(const std::string& url, int* applied) {
    constexpr std::string_view kSqlite = "sqlite:";
    if (url.rfind(kSqlite, 0) != 0 || url.size() == kSqlite.size()) {
        return core::Fail(core::ErrorCode::kInvalidArgument, "database URL must be sqlite:PATH (got '" + url + "')",
                          {{"field", "database"}});
    }
    auto db = sqlite::Db::Open(url.substr(kSqlite.size()));
    if (!db) return tl::unexpected(db.error());
    try {
        auto n = sqlite::ApplyMigrations(**db);
        if (!n) return tl::unexpected(n.error());
        if (applied) *applied = *n;
    } catch (const sqlite::DbError& e) {
        return core::Fail(core::ErrorCode::kUnavailable, std::string("migration failed: ") + e.what());
    }
    return db;
}

}  // namespace

core::Result<std::unique_ptr<app::Store>> OpenStore(const std::string& url, const StoreOptions& options) {
    if (IsPostgres(url)) {
        auto c = OpenPostgresMigrated(url, nullptr);
        if (!c) return tl::unexpected(c.error());
        c->reset();  // the pool opens its own connections
        return std::unique_ptr<app::Store>(
            new postgres::PgStore(std::make_unique<postgres::PgPool>(url, std::max(1, options.pool_size)), options));
    }
    auto db = OpenMigrated(url, nullptr);
    if (!db) return tl::unexpected(db.error());
    return std::unique_ptr<app::Store>(
        new sqlite::SqliteStore(std::move(*db), url.substr(std::string_view("sqlite:").size()), options));
}

std::unique_ptr<ClusterBus> OpenClusterBus(const std::string& url) {
    if (!IsPostgres(url)) return nullptr;
    return std::make_unique<postgres::PgBus>(url);
}

core::Result<int> Migrate(const std::string& url) {
    int applied = 0;
    if (IsPostgres(url)) {
        auto c = OpenPostgresMigrated(url, &applied);
        if (!c) return tl::unexpected(c.error());
        return applied;
    }
    auto db = OpenMigrated(url, &applied);
    if (!db) return tl::unexpected(db.error());
    return applied;
}

}  // namespace herald::storage
