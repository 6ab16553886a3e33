#pragma once

#include <string>

namespace herald::cli {

/// `herald bench limits`: the rate limiter's and the planner's figures (see bench/README.md).
struct BenchLimitsOptions {
    std::string workload = "all";  ///< decisions | plan | bulk | all
    int accounts = 500;
    int posts = 2000;        ///< plan: posts, each to every account
    int bulk_posts = 10000;  ///< bulk: posts, one account each
    std::string data_dir;    ///< empty: temporary directories, removed afterwards
    bool json = false;
};

/// Runs the workloads and prints one JSON object per workload on stdout (progress on stderr).
/// Exit code 0 when every check held (caps kept, every post on its planned minute).
int BenchLimits(const BenchLimitsOptions& options);

}  // namespace herald::cli
