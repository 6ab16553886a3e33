#include "storage/store.hpp"

#include "storage/sqlite/migrations.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace herald::storage {
namespace {

core::Result<std::unique_ptr<sqlite::Db>> OpenMigrated(const std::string& url, int* applied) {
    constexpr std::string_view kSqlite = "sqlite:";
    if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) {
        return core::Fail(core::ErrorCode::kInvalidArgument,
                          "PostgreSQL is not supported by this build yet; use the embedded SQLite default "
                          "(leave --database unset) or sqlite:PATH");
    }
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
    auto db = OpenMigrated(url, nullptr);
    if (!db) return tl::unexpected(db.error());
    return std::unique_ptr<app::Store>(
        new sqlite::SqliteStore(std::move(*db), url.substr(std::string_view("sqlite:").size()), options));
}

core::Result<int> Migrate(const std::string& url) {
    int applied = 0;
    auto db = OpenMigrated(url, &applied);
    if (!db) return tl::unexpected(db.error());
    return applied;
}

}  // namespace herald::storage
