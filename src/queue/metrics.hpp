#pragma once

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "app/ports.hpp"
#include "queue/dispatcher.hpp"

namespace herald::queue {

/// Counts what the workers do, for Prometheus (GET /metrics): outcomes per platform, and how
/// late and how long attempts were, as histograms. Record() is cheap and thread-safe.
class Metrics {
  public:
    void Record(const AttemptReport& attempt);
    /// The Prometheus text exposition (version 0.0.4), with the queue's gauges read from
    /// `stats` (installation-wide).
    std::string Render(const app::QueueStats& stats) const;

    /// Upper bounds of the histogram buckets, in seconds.
    static constexpr std::array<double, 14> kBuckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                        0.5,   1,     2.5,  5,     10,   30,  60};

  private:
    struct Histogram {
        std::array<int64_t, kBuckets.size()> counts{};  ///< per bucket, not cumulative
        int64_t count = 0;
        double sum = 0;
        void Observe(double seconds);
    };
    mutable std::mutex mu_;
    std::map<std::pair<std::string, std::string>, int64_t> outcomes_;  ///< (platform, status) → count
    Histogram lag_;                                                    ///< start of the platform call − due time
    Histogram duration_;  ///< outcome recorded − start of the platform call
};

}  // namespace herald::queue
