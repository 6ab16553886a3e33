#include "storage/sqlite/rows.hpp"

#include <stdexcept>

namespace herald::storage::sqlite {

Rows::Rows(int width) : width_(width) {
    if (width < 1 || width > kMaxWidth) throw std::invalid_argument("Rows: width must be 1 to 8");
}

void Rows::Add(std::vector<Cell> row) {
    if (static_cast<int>(row.size()) != width_) throw std::invalid_argument("Rows::Add: wrong number of cells");
    for (auto& c : row) cells_.push_back(std::move(c));
    ++rows_;
}

namespace {

// An eponymous, read-only virtual table: its one hidden column takes the bound Rows pointer as
// a table-valued function argument, and its cursor walks the rows in order.
constexpr int kRowsColumn = Rows::kMaxWidth;  // the hidden argument column, after c0 … c7

struct Cursor {
    sqlite3_vtab_cursor base{};
    const Rows* rows = nullptr;
    size_t at = 0;
};

int Connect(sqlite3* db, void*, int, const char* const*, sqlite3_vtab** out, char**) {
    const int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(c0, c1, c2, c3, c4, c5, c6, c7, rows HIDDEN)");
    if (rc != SQLITE_OK) return rc;
    auto* vtab = static_cast<sqlite3_vtab*>(sqlite3_malloc(sizeof(sqlite3_vtab)));
    if (vtab == nullptr) return SQLITE_NOMEM;
    *vtab = sqlite3_vtab{};
    *out = vtab;
    sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
    return SQLITE_OK;
}

int Disconnect(sqlite3_vtab* vtab) {
    sqlite3_free(vtab);
    return SQLITE_OK;
}

int BestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
    for (int i = 0; i < info->nConstraint; ++i) {
        const auto& c = info->aConstraint[i];
        if (c.iColumn != kRowsColumn || c.op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
        if (!c.usable) return SQLITE_CONSTRAINT;  // try another join order: the rows come first
        info->aConstraintUsage[i].argvIndex = 1;
        info->aConstraintUsage[i].omit = 1;
        info->estimatedCost = 10;
        info->estimatedRows = 100;
        return SQLITE_OK;
    }
    return SQLITE_CONSTRAINT;  // herald_rows needs its argument
}

int Open(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
    auto* cur = new (std::nothrow) Cursor();
    if (cur == nullptr) return SQLITE_NOMEM;
    *out = &cur->base;
    return SQLITE_OK;
}

int Close(sqlite3_vtab_cursor* cur) {
    delete reinterpret_cast<Cursor*>(cur);
    return SQLITE_OK;
}

int Filter(sqlite3_vtab_cursor* base, int, const char*, int argc, sqlite3_value** argv) {
    auto* cur = reinterpret_cast<Cursor*>(base);
    cur->rows = argc > 0 ? static_cast<const Rows*>(sqlite3_value_pointer(argv[0], kRowsPointerType)) : nullptr;
    cur->at = 0;
    return SQLITE_OK;
}

int Next(sqlite3_vtab_cursor* base) {
    ++reinterpret_cast<Cursor*>(base)->at;
    return SQLITE_OK;
}

int Eof(sqlite3_vtab_cursor* base) {
    const auto* cur = reinterpret_cast<Cursor*>(base);
    return cur->rows == nullptr || cur->at >= cur->rows->size();
}

int Column(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int col) {
    const auto* cur = reinterpret_cast<Cursor*>(base);
    if (col >= cur->rows->width()) {
        sqlite3_result_null(ctx);
        return SQLITE_OK;
    }
    const auto& cell = cur->rows->At(cur->at, col);
    if (const auto* i = std::get_if<int64_t>(&cell)) {
        sqlite3_result_int64(ctx, *i);
    } else if (const auto* s = std::get_if<std::string>(&cell)) {
        sqlite3_result_text(ctx, s->data(), static_cast<int>(s->size()), SQLITE_STATIC);
    } else {
        sqlite3_result_null(ctx);
    }
    return SQLITE_OK;
}

int Rowid(sqlite3_vtab_cursor* base, sqlite3_int64* rowid) {
    *rowid = static_cast<sqlite3_int64>(reinterpret_cast<Cursor*>(base)->at);
    return SQLITE_OK;
}

sqlite3_module MakeModule() {
    sqlite3_module m{};
    m.iVersion = 0;
    m.xCreate = nullptr;  // eponymous only: no CREATE VIRTUAL TABLE
    m.xConnect = Connect;
    m.xBestIndex = BestIndex;
    m.xDisconnect = Disconnect;
    m.xDestroy = nullptr;
    m.xOpen = Open;
    m.xClose = Close;
    m.xFilter = Filter;
    m.xNext = Next;
    m.xEof = Eof;
    m.xColumn = Column;
    m.xRowid = Rowid;
    return m;
}

const sqlite3_module kModule = MakeModule();

}  // namespace

int RegisterRowsModule(sqlite3* db) { return sqlite3_create_module(db, kRowsPointerType, &kModule, nullptr); }

}  // namespace herald::storage::sqlite
