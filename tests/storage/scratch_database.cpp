#include "scratch_database.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>

#include "storage/postgres/pg.hpp"

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

// ---- PostgreSQL -----------------------------------------------------------------------------

namespace herald::test_support {
namespace {

std::string ReadFirstLine(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

// A server this process started itself, stopped when the process ends.
class OwnCluster {
  public:
    OwnCluster() {
        dir_ = std::filesystem::temp_directory_path() /
               ("herald-pg-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
        const std::string cmd = std::string(HERALD_SOURCE_DIR) + "/scripts/pg-test-cluster.sh start " + dir_.string() +
                                " >" + dir_.string() + ".log 2>&1";
        if (std::system(cmd.c_str()) == 0) {
            url_ = ReadFirstLine((dir_ / "url").string());
        } else {
            why_ = "scripts/pg-test-cluster.sh failed: " + ReadFirstLine(dir_.string() + ".log");
        }
    }
    ~OwnCluster() {
        const std::string cmd =
            std::string(HERALD_SOURCE_DIR) + "/scripts/pg-test-cluster.sh stop " + dir_.string() + " >/dev/null 2>&1";
        [[maybe_unused]] const int rc = std::system(cmd.c_str());
        std::error_code ignored;
        std::filesystem::remove(dir_.string() + ".log", ignored);
    }
    std::string url_, why_;

  private:
    std::filesystem::path dir_;
};

}  // namespace

std::string PgServerUrl(std::string* why) {
    if (const char* url = std::getenv("HERALD_TEST_PG_URL"); url != nullptr && *url != '\0') return url;
    if (const char* file = std::getenv("HERALD_TEST_PG_URL_FILE"); file != nullptr && *file != '\0') {
        std::string url = ReadFirstLine(file);
        if (!url.empty()) return url;
        if (why) *why = std::string("no URL in ") + file + " (did the pg_test_cluster_start fixture run?)";
        return "";
    }
    static OwnCluster own;
    if (own.url_.empty() && why) *why = own.why_;
    return own.url_;
}

ScratchPgDatabase::ScratchPgDatabase() {
    std::string why;
    server_url_ = PgServerUrl(&why);
    if (server_url_.empty()) throw std::runtime_error("no PostgreSQL server for the tests: " + why);
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    char name[64];
    std::snprintf(name, sizeof name, "herald_t_%ld_%u_%08x", static_cast<long>(::getpid()), counter.fetch_add(1), rd());
    name_ = name;
    const auto slash = server_url_.rfind('/');
    url_ = server_url_.substr(0, slash + 1) + name_;
    auto admin = storage::postgres::PgConn::Open(server_url_);
    if (!admin) throw std::runtime_error(admin.error().message);
    (*admin)->Run(("CREATE DATABASE " + name_).c_str());
}

ScratchPgDatabase::~ScratchPgDatabase() {
    auto admin = storage::postgres::PgConn::Open(server_url_);
    if (!admin) return;
    try {
        (*admin)->Run(("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)").c_str());
    } catch (const storage::postgres::PgError&) {
        // Left behind in a throwaway server: it goes with the server.
    }
}

namespace {

void ClusterScript(const std::string& command, const std::filesystem::path& dir) {
    const std::string log = dir.string() + ".log";
    const std::string cmd = std::string(HERALD_SOURCE_DIR) + "/scripts/pg-test-cluster.sh " + command + " " +
                            dir.string() + " >" + log + " 2>&1";
    if (std::system(cmd.c_str()) != 0) {
        throw std::runtime_error("scripts/pg-test-cluster.sh " + command + " failed: " + ReadFirstLine(log));
    }
}

}  // namespace

OwnPgServer::OwnPgServer() {
    dir_ = std::filesystem::temp_directory_path() /
           ("herald-own-pg-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    ClusterScript("start", dir_);
    url_ = ReadFirstLine((dir_ / "url").string());
}

OwnPgServer::~OwnPgServer() {
    try {
        ClusterScript("stop", dir_);
    } catch (const std::runtime_error&) {
        // Nothing more to do in a destructor; the directory is in the temp dir.
    }
    std::error_code ignored;
    std::filesystem::remove(dir_.string() + ".log", ignored);
}

void OwnPgServer::Down() { ClusterScript("down", dir_); }

void OwnPgServer::Up() { ClusterScript("up", dir_); }

ScratchDb::ScratchDb(const std::string& backend) {
    if (backend == "postgres") {
        pg_ = std::make_unique<ScratchPgDatabase>();
    } else {
        sqlite_ = std::make_unique<ScratchSqliteFile>();
    }
}

}  // namespace herald::test_support
