#pragma once

// What the benchmarks share: a scratch directory, and the machine's state to print beside the
// figures.

#include <string>

#include "core/error.hpp"

namespace herald::cli {

/// A directory for a benchmark's database: the one named (which must not hold a herald.db
/// yet), or a fresh temporary one, removed when this goes.
class BenchDir {
  public:
    static core::Result<BenchDir> Make(const std::string& named);
    BenchDir(BenchDir&& other) noexcept : path_(std::move(other.path_)), remove_(other.remove_) {
        other.remove_ = false;
    }
    BenchDir& operator=(BenchDir&&) = delete;
    ~BenchDir();
    const std::string& path() const { return path_; }

  private:
    BenchDir(std::string path, bool remove) : path_(std::move(path)), remove_(remove) {}
    std::string path_;
    bool remove_ = false;
};

/// Peak resident memory of this process, in MB.
double PeakRssMb();
/// The 1, 5 and 15 minute load averages, as /proc/loadavg gives them.
std::string LoadAverage();

}  // namespace herald::cli
