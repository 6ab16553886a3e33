#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace herald::test_support {

/// A SQLite file that exists for one test only: a unique path under the system temp directory,
/// removed together with its companions (SQLite's -wal and -shm, the sandbox's -sandbox file)
/// when this object goes away.
class ScratchSqliteFile {
  public:
    ScratchSqliteFile();
    ~ScratchSqliteFile();
    ScratchSqliteFile(const ScratchSqliteFile&) = delete;
    ScratchSqliteFile& operator=(const ScratchSqliteFile&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::string url() const { return "sqlite:" + path_.string(); }

  private:
    std::filesystem::path path_;
};

/// The URL of the PostgreSQL server the storage tests share ("" when none can be had, with
/// the reason in `why`): HERALD_TEST_PG_URL if set; else the one CTest started for the suite
/// (scripts/pg-test-cluster.sh, URL in the file HERALD_TEST_PG_URL_FILE names); else one this
/// process starts with that script on first use and stops when it exits.
std::string PgServerUrl(std::string* why = nullptr);

/// A PostgreSQL server of one test's own, for tests that stop and start it (the shared one
/// must stay up for the others): started on construction, removed on destruction.
class OwnPgServer {
  public:
    OwnPgServer();  ///< throws std::runtime_error when it cannot start
    ~OwnPgServer();
    OwnPgServer(const OwnPgServer&) = delete;
    OwnPgServer& operator=(const OwnPgServer&) = delete;
    const std::string& url() const { return url_; }
    void Down();  ///< fast shutdown, data kept
    void Up();    ///< started again on the same port

  private:
    std::filesystem::path dir_;
    std::string url_;
};

/// A PostgreSQL database that exists for one test only, in the shared server: created with a
/// unique name, dropped (with any connections still open to it) when this object goes away.
class ScratchPgDatabase {
  public:
    /// Throws std::runtime_error when there is no server or the database cannot be created.
    ScratchPgDatabase();
    ~ScratchPgDatabase();
    ScratchPgDatabase(const ScratchPgDatabase&) = delete;
    ScratchPgDatabase& operator=(const ScratchPgDatabase&) = delete;

    const std::string& url() const { return url_; }

  private:
    std::string server_url_;
    std::string name_;
    std::string url_;
};

/// A scratch database of the named backend ("sqlite" or "postgres"), for tests that run on
/// both.
class ScratchDb {
  public:
    explicit ScratchDb(const std::string& backend);
    std::string url() const { return sqlite_ ? sqlite_->url() : pg_->url(); }

  private:
    std::unique_ptr<ScratchSqliteFile> sqlite_;
    std::unique_ptr<ScratchPgDatabase> pg_;
};

/// The backends a test suite runs on, for INSTANTIATE_TEST_SUITE_P, and the case names.
inline const std::vector<std::string> kBackends = {"sqlite", "postgres"};
inline std::string BackendName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

}  // namespace herald::test_support
