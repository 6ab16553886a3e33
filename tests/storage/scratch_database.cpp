#include "scratch_database.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <random>

namespace herald::test_support {

ScratchSqliteFile::ScratchSqliteFile() {
    // Several test binaries may run at once (ctest -j): pid, a counter and random bits keep
    // every name apart without asking the file system first.
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    char name[96];
    std::snprintf(name, sizeof name, "herald-storage-test-%ld-%u-%08x%08x.db", static_cast<long>(::getpid()),
                  counter.fetch_add(1), rd(), rd());
    path_ = std::filesystem::temp_directory_path() / name;
}

ScratchSqliteFile::~ScratchSqliteFile() {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm", "-journal", "-sandbox", "-sandbox-wal", "-sandbox-shm"}) {
        std::filesystem::remove(path_.string() + suffix, ignored);
    }
}

}  // namespace herald::test_support
