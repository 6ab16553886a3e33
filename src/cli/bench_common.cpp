#include "cli/bench_common.hpp"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace herald::cli {

core::Result<BenchDir> BenchDir::Make(const std::string& named) {
    if (named.empty()) {
        std::string tmpl = (std::filesystem::temp_directory_path() / "herald-bench-XXXXXX").string();
        if (mkdtemp(tmpl.data()) == nullptr) {
            return core::Fail(core::ErrorCode::kInternal, "cannot create a temporary directory for the benchmark");
        }
        return BenchDir(tmpl, true);
    }
    std::error_code ec;
    std::filesystem::create_directories(named, ec);
    if (std::filesystem::exists(named + "/herald.db")) {
        return core::Fail(core::ErrorCode::kAlreadyExists,
                          named + "/herald.db exists: the benchmark needs an empty directory");
    }
    return BenchDir(named, false);
}

BenchDir::~BenchDir() {
    if (remove_) {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
}

double PeakRssMb() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    }
    return 0;
}

std::string LoadAverage() {
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

}  // namespace herald::cli
