// herald_rows: a batch bound to one statement as a table (storage/sqlite/rows.hpp).

#include "storage/sqlite/rows.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/sqlite/db.hpp"

namespace herald::storage::sqlite {
namespace {

using ::testing::ElementsAre;

class RowsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto opened = Db::Open(":memory:");
        ASSERT_TRUE(opened.has_value()) << opened.error().message;
        db_ = std::move(*opened);
    }
    std::unique_ptr<Db> db_;
};

TEST_F(RowsTest, ReadsEveryCellInOrderWithItsType) {
    Rows rows(3);
    rows.Add({std::string("a"), int64_t{1}, Rows::Cell()});
    rows.Add({std::string("b"), int64_t{-7}, Rows::Of(std::optional<std::string>("x"))});
    rows.Add({std::string(""), Rows::Of(std::optional<int64_t>()), Rows::Of(std::optional<int64_t>(42))});
    auto s = db_->Prepare(Sql{"rows_all", "SELECT c0, typeof(c1), c1, typeof(c2), c2, c3 FROM herald_rows(?1)"});
    s.Bind(1, rows);
    std::vector<std::string> seen;
    while (s.Step()) {
        seen.push_back(s.Text(0) + "|" + s.Text(1) + ":" + s.Text(2) + "|" + s.Text(3) + ":" + s.Text(4) + "|" +
                       (s.IsNull(5) ? "null" : "value"));
    }
    // c3 is past the width: NULL.
    EXPECT_THAT(seen, ElementsAre("a|integer:1|null:|null", "b|integer:-7|text:x|null", "|null:|integer:42|null"));
}

TEST_F(RowsTest, JoinsAgainstATableAndDrivesAnUpdate) {
    db_->Exec("CREATE TABLE t(id TEXT PRIMARY KEY, v INTEGER)");
    db_->Exec("INSERT INTO t VALUES ('k1', 0), ('k2', 0), ('k3', 0)");
    Rows rows(2);
    rows.Add({std::string("k3"), int64_t{30}});
    rows.Add({std::string("k1"), int64_t{10}});
    rows.Add({std::string("missing"), int64_t{99}});
    const int changed =
        db_->Prepare(Sql{"rows_update", "UPDATE t SET v = r.c1 FROM herald_rows(?1) AS r WHERE t.id = r.c0"})
            .Bind(1, rows)
            .Run();
    EXPECT_EQ(changed, 2);
    auto s = db_->Prepare(Sql{"rows_read", "SELECT id, v FROM t ORDER BY id"});
    std::vector<std::string> seen;
    while (s.Step()) seen.push_back(s.Text(0) + "=" + std::to_string(s.Int(1)));
    EXPECT_THAT(seen, ElementsAre("k1=10", "k2=0", "k3=30"));
}

TEST_F(RowsTest, NoRowsAndNothingBoundBothReadAsAnEmptyTable) {
    Rows none(1);
    auto s = db_->Prepare(Sql{"rows_count", "SELECT COUNT(*) FROM herald_rows(?1)"});
    s.Bind(1, none);
    ASSERT_TRUE(s.Step());
    EXPECT_EQ(s.Int(0), 0);
    // A different text: the statement cache is keyed by it, and `s` still holds the first.
    auto unbound = db_->Prepare(Sql{"rows_count_unbound", "SELECT COUNT(*) AS n FROM herald_rows(?1)"});
    ASSERT_TRUE(unbound.Step());
    EXPECT_EQ(unbound.Int(0), 0);
}

TEST_F(RowsTest, RejectsARowOfTheWrongWidth) {
    Rows rows(2);
    EXPECT_THROW(rows.Add({std::string("only one")}), std::invalid_argument);
    EXPECT_THROW(Rows(0), std::invalid_argument);
    EXPECT_THROW(Rows(Rows::kMaxWidth + 1), std::invalid_argument);
    EXPECT_TRUE(rows.empty());
}

}  // namespace
}  // namespace herald::storage::sqlite
