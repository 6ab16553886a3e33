#pragma once

// Rows handed to one statement as a table: the batch forms of the queue's writes join against
// them, so a batch of any size costs one statement per step instead of one per row, without
// packing the rows into JSON text that SQLite would parse again for every field it reads.
//
//   UPDATE deliveries SET status = r.c1 FROM herald_rows(?1) AS r WHERE deliveries.id = r.c0
//
// with `?1` bound by Stmt::Bind(1, rows). Columns are c0 … c7; a column past the rows' width
// reads as NULL. The rows must outlive the statement's run (they are not copied).

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace herald::storage::sqlite {

class Rows {
  public:
    using Cell = std::variant<std::monostate, int64_t, std::string>;
    static constexpr int kMaxWidth = 8;

    /// `width` cells a row, 1 … kMaxWidth.
    explicit Rows(int width);

    /// Appends a row of exactly `width` cells.
    void Add(std::vector<Cell> row);
    size_t size() const { return rows_; }
    bool empty() const { return rows_ == 0; }
    int width() const { return width_; }
    const Cell& At(size_t row, int col) const { return cells_[row * static_cast<size_t>(width_) + col]; }

    /// A cell from an optional: NULL when empty.
    static Cell Of(const std::optional<std::string>& v) { return v ? Cell(*v) : Cell(); }
    static Cell Of(const std::optional<int64_t>& v) { return v ? Cell(*v) : Cell(); }

  private:
    int width_;
    size_t rows_ = 0;
    std::vector<Cell> cells_;
};

/// The pointer type name that binds a Rows to a statement (sqlite3_bind_pointer).
inline constexpr const char* kRowsPointerType = "herald_rows";

/// Makes `herald_rows(?)` available on a connection.
int RegisterRowsModule(sqlite3* db);

}  // namespace herald::storage::sqlite
