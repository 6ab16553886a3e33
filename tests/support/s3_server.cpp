#include "s3_server.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace herald::testing {
namespace {

std::string FirstLine(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

// Started on first use and stopped when the test binary exits.
struct OwnServer {
    OwnServer() {
        dir = (std::filesystem::temp_directory_path() / ("herald-s3-" + std::to_string(::getpid()))).string();
        const std::string script = std::string(HERALD_SOURCE_DIR) + "/scripts/s3-test-server.sh";
        if (std::system((script + " start " + dir + " >/dev/null").c_str()) == 0) url = FirstLine(dir + "/url");
    }
    ~OwnServer() {
        const std::string script = std::string(HERALD_SOURCE_DIR) + "/scripts/s3-test-server.sh";
        (void)std::system((script + " stop " + dir).c_str());
    }
    std::string dir;
    std::string url;
};

}  // namespace

std::string S3TestEndpoint() {
    std::string url = FirstLine(HERALD_TEST_S3_URL_FILE);
    if (!url.empty()) return url;
    static OwnServer own;
    if (own.url.empty()) {
        throw std::runtime_error(std::string("no S3 test server: ") + HERALD_TEST_S3_URL_FILE +
                                 " is empty and scripts/s3-test-server.sh could not start one "
                                 "(run scripts/install-test-tools.sh)");
    }
    return own.url;
}

}  // namespace herald::testing
