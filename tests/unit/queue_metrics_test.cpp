#include <gtest/gtest.h>

#include "queue/metrics.hpp"

namespace herald::queue {
namespace {

AttemptReport Attempt(const std::string& platform, domain::DeliveryStatus status, core::Millis late,
                      core::Millis took) {
    const core::TimePoint due{std::chrono::hours(1000)};
    return AttemptReport{"job", "delivery", platform, due, due + late, due + late + took, status};
}

TEST(QueueMetrics, RendersCumulativeHistogramsAndCountersInPrometheusText) {
    Metrics m;
    m.Record(Attempt("sandbox", domain::DeliveryStatus::kPublished, core::Millis(3), core::Millis(40)));
    m.Record(Attempt("sandbox", domain::DeliveryStatus::kPublished, core::Millis(200), core::Millis(2000)));
    m.Record(Attempt("x", domain::DeliveryStatus::kFailed, core::Millis(-5), core::Millis(100000)));
    app::QueueStats stats;
    stats.pending = 7;
    stats.due = 2;
    stats.oldest_due_age = core::Millis(1500);
    stats.by_platform.push_back(app::QueueCount{"x", "x", 1, 2, 3, 4});
    const auto text = m.Render(stats);
    auto has = [&](const std::string& line) { return text.find(line + "\n") != std::string::npos; };
    EXPECT_TRUE(has("herald_queue_jobs{state=\"pending\"} 7")) << text;
    EXPECT_TRUE(has("herald_queue_due_jobs 2"));
    EXPECT_TRUE(has("herald_queue_lag_seconds 1.5"));
    EXPECT_TRUE(has("herald_queue_platform_jobs{platform=\"x\",state=\"dead\"} 4"));
    EXPECT_TRUE(has("herald_publish_outcomes_total{platform=\"sandbox\",status=\"published\"} 2"));
    EXPECT_TRUE(has("herald_publish_outcomes_total{platform=\"x\",status=\"failed\"} 1"));
    // Lag: 3 ms, 200 ms and a negative one (counted as 0): buckets are cumulative.
    EXPECT_TRUE(has("herald_publish_lag_seconds_bucket{le=\"0.001\"} 1"));
    EXPECT_TRUE(has("herald_publish_lag_seconds_bucket{le=\"0.005\"} 2"));
    EXPECT_TRUE(has("herald_publish_lag_seconds_bucket{le=\"0.25\"} 3"));
    EXPECT_TRUE(has("herald_publish_lag_seconds_bucket{le=\"+Inf\"} 3"));
    EXPECT_TRUE(has("herald_publish_lag_seconds_count 3"));
    // Duration: 100 s lands only in +Inf.
    EXPECT_TRUE(has("herald_publish_duration_seconds_bucket{le=\"60\"} 2"));
    EXPECT_TRUE(has("herald_publish_duration_seconds_bucket{le=\"+Inf\"} 3"));
    EXPECT_TRUE(has("# TYPE herald_publish_duration_seconds histogram"));
}

}  // namespace
}  // namespace herald::queue
