#pragma once

#include <cstdint>
#include <string>

namespace herald::cli {

/// `herald bench queue`: the queue's figures on this machine, through the full publish path,
/// in-process on a fresh SQLite store, or on PostgreSQL with worker processes (see bench/README.md).
struct BenchQueueOptions {
    std::string workload = "burn-down";  ///< burn-down | lateness | scale | soak
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
    /// Empty: a temporary SQLite store. postgres://…: a scratch database created inside that
    /// server for the run (the URL names any database to connect to first) and dropped after.
    std::string database;
    /// PostgreSQL: 0 runs the dispatcher in this process; N starts N worker processes
    /// (`--role worker` children) that claim from the same queue while this one only counts.
    int processes = 0;
    bool keep_database = false;  ///< PostgreSQL: keep the scratch database afterwards
    /// PostgreSQL: SQL run on the scratch database after its migrations (autovacuum settings, …).
    std::string setup_sql;
    int64_t window = 100000;        ///< soak: report the rate over every this many jobs
    int64_t chunk = 50000;          ///< soak: enqueue this many at a time, whenever fewer remain queued
    double timeout_seconds = 3600;  ///< worker processes: give up after this long
    /// Hidden: "worker" makes this process one of the worker processes of a PostgreSQL run.
    std::string role;
    bool collect_lateness = false;  ///< hidden, for --role worker: report each job's lateness
};

/// Runs one workload and prints its result (JSON) on stdout, progress on stderr. Exit code 0
/// when every job was published.
int BenchQueue(const BenchQueueOptions& options);

}  // namespace herald::cli
