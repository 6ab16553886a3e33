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
    explicit OwnServer(std::string server) : name(std::move(server)) {
        dir = (std::filesystem::temp_directory_path() / ("herald-" + name + "-" + std::to_string(::getpid()))).string();
        // Names and paths are the tests' own (no spaces or quotes), safe for a shell.
        if (std::system((kScript + " start " + name + " '" + dir + "' >/dev/null").c_str()) == 0) {
            url = FirstLine(dir + "/url");
        }
    }
    ~OwnServer() { (void)std::system((kScript + " stop " + name + " '" + dir + "'").c_str()); }
    inline static const std::string kScript = std::string(HERALD_SOURCE_DIR) + "/scripts/test-server.sh";
    std::string name;
    std::string dir;
    std::string url;
};

std::string UrlOf(const std::string& name) {
    const std::string url_file = std::string(HERALD_TEST_SERVERS_DIR) + "/test-server-" + name + "/url";
    std::string url = FirstLine(url_file);
    if (!url.empty()) return url;
    static std::mutex mu;
    static std::map<std::string, std::unique_ptr<OwnServer>> own;
    std::lock_guard lock(mu);
    auto& server = own[name];
    if (!server) server = std::make_unique<OwnServer>(name);
    if (server->url.empty()) {
        throw std::runtime_error("no " + name + " test server: " + url_file +
                                 " is empty and scripts/test-server.sh could not start one (run "
                                 "scripts/install-test-tools.sh)");
    }
    return server->url;
}

}  // namespace

std::string S3TestEndpoint() { return UrlOf("s3"); }

std::string PdsTestUrl() { return UrlOf("pds"); }

std::string NostrRelayTestUrl() { return UrlOf("nostr"); }

}  // namespace herald::testing
