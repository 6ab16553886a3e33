#include "queue/metrics.hpp"

#include <sstream>

namespace herald::queue {
namespace {

double Seconds(core::TimePoint from, core::TimePoint to) { return std::chrono::duration<double>(to - from).count(); }

void WriteHistogram(std::ostringstream& out, const char* name, const char* help,
                    const std::array<int64_t, Metrics::kBuckets.size()>& counts, int64_t count, double sum) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " histogram\n";
    int64_t cumulative = 0;
    for (size_t i = 0; i < Metrics::kBuckets.size(); ++i) {
        cumulative += counts[i];
        out << name << "_bucket{le=\"" << Metrics::kBuckets[i] << "\"} " << cumulative << '\n';
    }
    out << name << "_bucket{le=\"+Inf\"} " << count << '\n';
    out << name << "_sum " << sum << '\n' << name << "_count " << count << '\n';
}

}  // namespace

void Metrics::Histogram::Observe(double seconds) {
    if (seconds < 0) seconds = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
        if (seconds <= kBuckets[i]) {
            ++counts[i];
            break;
        }
    }
    ++count;
    sum += seconds;
}

void Metrics::Record(const AttemptReport& a) {
    std::lock_guard lock(mu_);
    ++outcomes_[{a.platform, std::string(domain::ToString(a.status))}];
    lag_.Observe(Seconds(a.due_at, a.started_at));
    duration_.Observe(Seconds(a.started_at, a.finished_at));
}

std::string Metrics::Render(const app::QueueStats& s) const {
    std::ostringstream out;
    out << "# HELP herald_queue_jobs Jobs in the queue by state.\n# TYPE herald_queue_jobs gauge\n";
    for (const auto& [state, n] : {std::pair<const char*, int64_t>{"pending", s.pending},
                                   {"paused", s.paused},
                                   {"running", s.running},
                                   {"dead", s.dead}}) {
        out << "herald_queue_jobs{state=\"" << state << "\"} " << n << '\n';
    }
    out << "# HELP herald_queue_due_jobs Pending jobs whose time has come.\n# TYPE herald_queue_due_jobs gauge\n"
        << "herald_queue_due_jobs " << s.due << '\n';
    out << "# HELP herald_queue_lag_seconds How long the oldest due job has waited.\n"
        << "# TYPE herald_queue_lag_seconds gauge\n"
        << "herald_queue_lag_seconds " << static_cast<double>(s.oldest_due_age.count()) / 1000.0 << '\n';
    out << "# HELP herald_queue_platform_jobs Jobs waiting per platform and state.\n"
        << "# TYPE herald_queue_platform_jobs gauge\n";
    for (const auto& c : s.by_platform) {
        for (const auto& [state, n] : {std::pair<const char*, int64_t>{"pending", c.pending},
                                       {"paused", c.paused},
                                       {"running", c.running},
                                       {"dead", c.dead}}) {
            out << "herald_queue_platform_jobs{platform=\"" << c.platform << "\",state=\"" << state << "\"} " << n
                << '\n';
        }
    }
    std::lock_guard lock(mu_);
    out << "# HELP herald_publish_outcomes_total Recorded publish attempts by platform and resulting status.\n"
        << "# TYPE herald_publish_outcomes_total counter\n";
    for (const auto& [key, n] : outcomes_) {
        out << "herald_publish_outcomes_total{platform=\"" << key.first << "\",status=\"" << key.second << "\"} " << n
            << '\n';
    }
    WriteHistogram(out, "herald_publish_lag_seconds", "From a job's due time to the start of its platform call.",
                   lag_.counts, lag_.count, lag_.sum);
    WriteHistogram(out, "herald_publish_duration_seconds", "From the start of a platform call to its recorded outcome.",
                   duration_.counts, duration_.count, duration_.sum);
    return out.str();
}

}  // namespace herald::queue
