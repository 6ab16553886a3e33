#include "test_servers.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace herald::testing {
namespace {

std::string FirstLine(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

// A server this binary started itself, stopped when it exits.
struct OwnServer {
    explicit OwnServer(std::string script_name) : script(std::string(HERALD_SOURCE_DIR) + "/scripts/" + script_name) {
        dir = (std::filesystem::temp_directory_path() / (script_name + "-" + std::to_string(::getpid()))).string();
        if (std::system((script + " start " + dir + " >/dev/null").c_str()) == 0) url = FirstLine(dir + "/url");
    }
    ~OwnServer() { (void)std::system((script + " stop " + dir).c_str()); }
    std::string script;
    std::string dir;
    std::string url;
};

std::string UrlOf(const std::string& script_name, const std::string& url_file) {
    std::string url = FirstLine(url_file);
    if (!url.empty()) return url;
    static std::mutex mu;
    static std::map<std::string, std::unique_ptr<OwnServer>> own;
    std::lock_guard lock(mu);
    auto& server = own[script_name];
    if (!server) server = std::make_unique<OwnServer>(script_name);
    if (server->url.empty()) {
        throw std::runtime_error("no test server: " + url_file + " is empty and scripts/" + script_name +
                                 " could not start one (run scripts/install-test-tools.sh)");
    }
    return server->url;
}

}  // namespace

std::string S3TestEndpoint() { return UrlOf("s3-test-server.sh", HERALD_TEST_S3_URL_FILE); }

std::string PdsTestUrl() { return UrlOf("pds-test-server.sh", HERALD_TEST_PDS_URL_FILE); }

}  // namespace herald::testing
