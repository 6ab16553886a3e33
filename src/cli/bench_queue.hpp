#pragma once

#include <cstdint>
#include <string>

namespace herald::cli {

/// `herald bench queue`: the queue's figures on this machine, through the full publish path,
/// in-process on a fresh SQLite store (see bench/README.md).
struct BenchQueueOptions {
    std::string workload = "burn-down";  ///< burn-down | lateness | scale
    int64_t jobs = 50000;                ///< posts (one delivery each)
    double over_seconds = 10;            ///< lateness: the posts' times spread over this long
    int64_t backlog = 1000000;           ///< scale: future jobs in the table
    int workers = 4;
    int worker_batch = 256;
    int claim_batch = 2048;
    /// The sandbox account's dedupe mode, which decides the exactly-once path: idempotent (the
    /// platform drops a repeat: the claim marks publishing, nothing is synced per batch), lookup
    /// or none (a mark synced to disk before every call).
    std::string dedupe = "idempotent";
    std::string data_dir;  ///< empty: a temporary directory, removed afterwards
    bool json = false;     ///< one JSON line instead of an indented object
};

/// Runs one workload and prints its result (JSON) on stdout, progress on stderr. Exit code 0
/// when every job was published.
int BenchQueue(const BenchQueueOptions& options);

}  // namespace herald::cli
