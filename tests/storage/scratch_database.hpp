#pragma once

#include <filesystem>
#include <string>

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

}  // namespace herald::test_support
