#include "cli/bench_queue.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "auth/secret_key.hpp"
#include "auth/vault.hpp"
#include "cli/bench_common.hpp"
#include "core/ids.hpp"
#include "platforms/registry.hpp"
#include "queue/dispatcher.hpp"
#include "storage/postgres/pg.hpp"
#include "storage/store.hpp"

namespace herald::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Counts the events the dispatcher emits, as the WebSocket hub would receive them.
class CountingSink final : public app::EventSink {
  public:
    void Publish(const app::Event& e) override {
        if (!e.data_json.empty()) events.fetch_add(1, std::memory_order_relaxed);
    }
    std::atomic<int64_t> events{0};
};

double Percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
    return v[i];
}

using storage::postgres::Params;
using storage::postgres::PgConn;
using storage::postgres::PgError;
using storage::postgres::PgSql;

// Set by SIGINT / SIGTERM in the process that coordinates a PostgreSQL run, so that it stops
// its children and drops its scratch database before it exits.
std::atomic<bool> g_interrupted{false};

bool IsPostgresUrl(const std::string& url) {
    return url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0;
}

// `url` with its database name replaced by `db` (libpq URIs only: scheme://[user@]host[:port][/db][?…]).
std::string WithDatabase(const std::string& url, const std::string& db) {
    const auto scheme = url.find("://");
    const auto path = url.find_first_of("/?", scheme + 3);
    if (path == std::string::npos) return url + "/" + db;
    const auto query = url.find('?', path);
    return url.substr(0, path) + "/" + db + (query == std::string::npos ? "" : url.substr(query));
}

// A database of its own inside the PostgreSQL server `url` names, created for one run and
// dropped (WITH (FORCE)) when this goes, unless kept. The server's other databases are not
// touched, so the URL may name any database the user can connect to (postgres, say).
class ScratchDatabase {
  public:
    static core::Result<std::unique_ptr<ScratchDatabase>> Create(const std::string& url, bool keep) {
        auto admin = PgConn::Open(url);
        if (!admin) return tl::unexpected(admin.error());
        static std::atomic<int> counter{0};
        const std::string name = "herald_bench_" + std::to_string(::getpid()) + "_" +
                                 std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                    std::chrono::system_clock::now().time_since_epoch())
                                                    .count()) +
                                 "_" + std::to_string(counter.fetch_add(1));
        try {
            (*admin)->Run(("CREATE DATABASE " + name).c_str());
        } catch (const PgError& e) {
            return core::Fail(core::ErrorCode::kUnavailable,
                              std::string("cannot create a scratch database for the benchmark: ") + e.what());
        }
        auto db = std::unique_ptr<ScratchDatabase>(new ScratchDatabase(std::move(*admin), name, keep));
        db->url_ = WithDatabase(url, name);
        return db;
    }
    ~ScratchDatabase() {
        if (keep_) {
            std::cerr << "kept the scratch database " << name_ << "\n";
            return;
        }
        try {
            admin_->Run(("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)").c_str());
        } catch (const PgError& e) {
            std::cerr << "herald bench: could not drop the scratch database " << name_ << ": " << e.what() << "\n";
        }
    }
    const std::string& url() const { return url_; }
    const std::string& name() const { return name_; }
    PgConn& admin() { return *admin_; }

  private:
    ScratchDatabase(std::unique_ptr<PgConn> admin, std::string name, bool keep)
        : admin_(std::move(admin)), name_(std::move(name)), keep_(keep) {}
    std::unique_ptr<PgConn> admin_;
    std::string name_;
    std::string url_;
    bool keep_;
};

// One store with one workspace and one sandbox account: in a directory removed afterwards
// unless the caller named it, or in a scratch PostgreSQL database dropped afterwards.
struct Fixture {
    explicit Fixture(BenchDir d) : dir(std::move(d)) {}
    ~Fixture() {
        store.reset();  // closed before its directory (or database) goes
        pg.reset();
        scratch.reset();
    }
    BenchDir dir;
    std::unique_ptr<ScratchDatabase> scratch;  ///< PostgreSQL runs
    std::unique_ptr<PgConn> pg;                ///< PostgreSQL runs: a connection of the coordinator's own
    std::unique_ptr<app::Store> store;
    std::string url;          ///< the store's URL
    bool statements = false;  ///< pg_stat_statements is there (PostgreSQL runs)
    std::string workspace_id, user_id, account_id;
};

core::Result<std::unique_ptr<Fixture>> MakeFixture(const BenchQueueOptions& o, const std::string& data_dir,
                                                   const core::Clock& clock) {
    auto dir = BenchDir::Make(IsPostgresUrl(o.database) ? "" : data_dir);
    if (!dir) return tl::unexpected(dir.error());
    auto f = std::make_unique<Fixture>(std::move(*dir));
    if (IsPostgresUrl(o.database)) {
        auto scratch = ScratchDatabase::Create(o.database, o.keep_database);
        if (!scratch) return tl::unexpected(scratch.error());
        f->scratch = std::move(*scratch);
        f->url = f->scratch->url();
    } else {
        f->url = "sqlite:" + f->dir.path() + "/herald.db";
    }
    auto store = storage::OpenStore(f->url, {});
    if (!store) return tl::unexpected(store.error());
    f->store = std::move(*store);
    if (f->scratch) {
        auto pg = PgConn::Open(f->url);
        if (!pg) return tl::unexpected(pg.error());
        f->pg = std::move(*pg);
        try {
            // Per-statement times for the soak's windows, when the server preloads it (the
            // server bench/queue.sh starts does); without it the windows simply lack them.
            f->pg->Run("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
            f->statements = true;
        } catch (const PgError&) {
        }
        if (!o.setup_sql.empty()) {
            try {
                f->pg->Run(o.setup_sql.c_str());
            } catch (const PgError& e) {
                return core::Fail(core::ErrorCode::kInvalidArgument, std::string("--setup-sql failed: ") + e.what());
            }
        }
    }
    const auto now = clock.Now();
    const domain::User user{core::NewId(now), "bench@example.com", "Bench", now};
    const domain::Workspace ws{core::NewId(now), "Bench", now};
    if (auto ok = f->store->CreateUserWithWorkspace(user, "not-a-real-hash", ws); !ok) {
        return tl::unexpected(ok.error());
    }
    domain::Account account{
        core::NewId(now), ws.id, "sandbox", "bench sandbox", nlohmann::json{{"dedupe", o.dedupe}}.dump(), false, now};
    if (auto ok = f->store->InsertAccount(account, ""); !ok) return tl::unexpected(ok.error());
    f->workspace_id = ws.id;
    f->user_id = user.id;
    f->account_id = account.id;
    return f;
}

// Writes `count` posts (one sandbox delivery each) due at due(i), in transactions of 5,000.
core::Status AddPosts(Fixture& f, int64_t count, const std::function<core::TimePoint(int64_t)>& due,
                      const core::Clock& clock, const char* what) {
    constexpr int64_t kChunk = 5000;
    std::vector<domain::Post> chunk;
    for (int64_t i = 0; i < count; ++i) {
        const auto now = clock.Now();
        domain::Post p;
        p.id = core::NewId(now);
        p.workspace_id = f.workspace_id;
        p.created_by = f.user_id;
        p.text = "benchmark post " + std::to_string(i);
        p.scheduled_at = due(i);
        p.status = domain::PostStatus::kScheduled;
        p.created_at = p.updated_at = now;
        domain::Delivery d;
        d.id = core::NewId(now);
        d.post_id = p.id;
        d.account_id = f.account_id;
        d.status = domain::DeliveryStatus::kScheduled;
        d.updated_at = now;
        p.deliveries.push_back(std::move(d));
        chunk.push_back(std::move(p));
        if (static_cast<int64_t>(chunk.size()) == kChunk || i + 1 == count) {
            if (auto ok = f.store->CreatePosts(chunk); !ok) return ok;
            chunk.clear();
            if (what != nullptr) std::cerr << "\r" << what << ": " << (i + 1) << "/" << count << std::flush;
            if (g_interrupted) return core::Fail(core::ErrorCode::kUnavailable, "interrupted");
        }
    }
    if (count > 0 && what != nullptr) std::cerr << "\n";
    return {};
}

struct RunResult {
    double seconds = 0;
    int64_t published = 0;
    int64_t other = 0;
    std::vector<double> lateness_ms;
};

// Starts a dispatcher on the fixture and waits until `expect` attempts were recorded.
RunResult RunDispatcher(Fixture& f, const BenchQueueOptions& o, int64_t expect, const core::Clock& clock) {
    auto registry = platforms::BuiltinRegistry(*f.store, clock);
    CountingSink sink;
    auth::SecretKey key{};
    key.fill(7);
    auth::TokenVault vault(key);
    std::mutex mu;
    std::condition_variable cv;
    RunResult r;
    r.lateness_ms.reserve(static_cast<size_t>(expect));
    queue::DispatcherSettings ds;
    ds.workers = o.workers;
    ds.worker_batch = o.worker_batch;
    ds.claim_batch = o.claim_batch;
    ds.on_attempt = [&](const queue::AttemptReport& a) {
        std::lock_guard lock(mu);
        if (a.status == domain::DeliveryStatus::kPublished) {
            ++r.published;
        } else {
            ++r.other;
        }
        r.lateness_ms.push_back(static_cast<double>((a.started_at - a.due_at).count()));
        if (r.published + r.other >= expect) cv.notify_all();
    };
    queue::Dispatcher dispatcher(*f.store, clock, *registry, sink, vault, ds);
    const auto t0 = Clock::now();
    dispatcher.Start(true);
    {
        std::unique_lock lock(mu);
        int64_t last = -1;
        while (r.published + r.other < expect && !g_interrupted) {
            cv.wait_for(lock, std::chrono::milliseconds(500));
            if (r.published + r.other != last) {
                last = r.published + r.other;
                std::cerr << "\rrecorded: " << last << "/" << expect << std::flush;
            }
        }
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    std::cerr << "\n";
    dispatcher.Stop(std::chrono::seconds(10));
    return r;
}

// The server's own settings, for the printed durability; empty for SQLite.
nlohmann::json ServerSettings(Fixture& f) {
    if (!f.pg) return nullptr;
    auto r = f.pg->Exec(PgSql{"bench_server_settings",
                              "SELECT current_setting('server_version'), current_setting('fsync'), "
                              "current_setting('synchronous_commit'), current_setting('full_page_writes'), "
                              "current_setting('wal_writer_delay'), current_setting('max_wal_size'), "
                              "current_setting('shared_buffers'), current_setting('wal_compression')"});
    return {{"server_version", r.Text(0, 0)},     {"fsync", r.Text(0, 1)},
            {"synchronous_commit", r.Text(0, 2)}, {"full_page_writes", r.Text(0, 3)},
            {"wal_writer_delay", r.Text(0, 4)},   {"max_wal_size", r.Text(0, 5)},
            {"shared_buffers", r.Text(0, 6)},     {"wal_compression", r.Text(0, 7)}};
}

std::string Settings(const BenchQueueOptions& o, const nlohmann::json& server) {
    const bool pg = IsPostgresUrl(o.database);
    const std::string path =
        o.dedupe == "idempotent"
            ? "the sandbox account deduplicates by idempotency key (dedupe=idempotent, the default), so a resend "
              "cannot duplicate: the claim itself marks the deliveries publishing and no commit is fsynced per job"
            : "the sandbox account cannot drop a repeat (dedupe=" + o.dedupe +
                  "): a publishing mark is fsynced before every platform call, group-committed across workers";
    std::string store;
    if (pg) {
        store = "PostgreSQL " + server.value("server_version", std::string("?")) +
                " (server: fsync=" + server.value("fsync", std::string("?")) +
                ", synchronous_commit=" + server.value("synchronous_commit", std::string("?")) +
                ", full_page_writes=" + server.value("full_page_writes", std::string("?")) +
                ", wal_writer_delay=" + server.value("wal_writer_delay", std::string("?")) +
                "), a scratch database of its own; Herald's claims, outcomes (+ move to history) and sandbox writes "
                "commit with SET LOCAL synchronous_commit=off: they survive a crash of any process and reach disk "
                "within about 3 x wal_writer_delay, a power cut can lose the last of them and they are redone (a "
                "lost claim is claimed again, a lost outcome leaves its delivery publishing, checked before any "
                "resend); publishing marks, rate-limit permits and post creation commit with synchronous_commit=on "
                "(fsynced)";
    } else {
        store = "SQLite WAL, synchronous=NORMAL for queue writes: every commit survives a crash of the process";
    }
    const std::string shape = o.processes > 0
                                  ? std::to_string(o.processes) + " worker process(es) x " + std::to_string(o.workers) +
                                        " workers on one database (the coordinating process only enqueues and counts)"
                                  : std::to_string(o.workers) + " workers in one process";
    return store + "; " + path + "; " + shape + ", worker batch " + std::to_string(o.worker_batch) + ", claim batch " +
           std::to_string(o.claim_batch) + "; full path per job: claim, sandbox publish (stored in " +
           (pg ? std::string("the sandbox_posts table") : std::string("the sandbox's own SQLite file")) +
           "), record outcome + move to history, delivery events, and the rate-limit check (the bench account has "
           "no caps, so it is decided in memory; an account with caps takes a synced permit, see herald bench "
           "limits)";
}

void Print(const BenchQueueOptions& o, const nlohmann::json& server, nlohmann::json j) {
    j["system"] = "herald";
    j["version"] = "0.1.0";
    j["store"] = IsPostgresUrl(o.database) ? "postgresql" : "sqlite";
    j["processes"] = o.processes;
    j["workers"] = o.workers;
    if (!server.is_null()) j["server"] = server;
    j["settings"] = Settings(o, server);
    j["load_average"] = LoadAverage();
    if (o.json) {
        std::cout << j.dump() << std::endl;
    } else {
        std::cout << j.dump(2) << std::endl;
    }
}

int Fail(const core::Error& e) {
    std::cerr << "herald bench: " << e.message << "\n";
    return 1;
}

// ---- PostgreSQL: worker processes ----------------------------------------------------------

int64_t QueryInt(PgConn& c, const PgSql& sql) {
    auto r = c.Exec(sql);
    return r.IsNull(0, 0) ? 0 : r.Int(0, 0);
}

// Every job still in `jobs`, counted through the four partial indexes of its states (the CHECK
// allows no other). `SELECT count(*) FROM jobs` reads the heap, dead rows too: in the soak, with
// the table bloated to 600 MB, one count took 0.6 s of a core every second, against 60 ms.
constexpr PgSql kRemainingJobs{
    "bench_remaining_jobs",
    "SELECT (SELECT count(*) FROM jobs WHERE state = 'pending') + (SELECT count(*) FROM jobs WHERE state = "
    "'running') + (SELECT count(*) FROM jobs WHERE state = 'paused') + (SELECT count(*) FROM jobs WHERE state = "
    "'dead')"};
constexpr PgSql kPublishedDeliveries{"bench_published_deliveries",
                                     "SELECT count(*) FROM deliveries WHERE status = 'published'"};
constexpr PgSql kPublishedHistory{"bench_published_history",
                                  "SELECT count(*) FROM job_history WHERE outcome = 'published'"};
constexpr PgSql kSandboxPosts{"bench_sandbox_posts", "SELECT count(*) FROM sandbox_posts"};

// Table and index sizes (bytes), live and dead tuples and vacuum counts of the tables the
// queue writes, as pg_stat_user_tables saw them last.
nlohmann::json TableSizes(PgConn& c) {
    nlohmann::json out = nlohmann::json::object();
    auto r = c.Exec(PgSql{
        "bench_table_sizes",
        "SELECT s.relname, pg_relation_size(s.relid), pg_total_relation_size(s.relid), s.n_live_tup, s.n_dead_tup, "
        "s.autovacuum_count, s.vacuum_count, s.autoanalyze_count, "
        "(SELECT COALESCE(json_object_agg(i.indexrelname, pg_relation_size(i.indexrelid)), '{}') "
        " FROM pg_stat_user_indexes i WHERE i.relid = s.relid)::text "
        "FROM pg_stat_user_tables s WHERE s.relname IN ('jobs', 'job_history', 'deliveries', 'posts', "
        "'sandbox_posts') ORDER BY s.relname"});
    for (int i = 0; i < r.rows(); ++i) {
        out[r.Text(i, 0)] = {{"table_bytes", r.Int(i, 1)},  {"total_bytes", r.Int(i, 2)},
                             {"live_tuples", r.Int(i, 3)},  {"dead_tuples", r.Int(i, 4)},
                             {"autovacuums", r.Int(i, 5)},  {"vacuums", r.Int(i, 6)},
                             {"autoanalyzes", r.Int(i, 7)}, {"index_bytes", nlohmann::json::parse(r.Text(i, 8))}};
    }
    return out;
}

// The server's WAL written so far (pg_stat_wal: bytes, full-page images) and its checkpoints
// (pg_stat_bgwriter), cluster-wide: in a benchmark the scratch database is all there is.
// pg_stat_statements of the scratch database, by query id: the first 70 characters of the
// statement, its calls and its total execution time (ms). Empty when the extension is missing.
std::map<std::string, std::tuple<std::string, int64_t, double>> StatementTimes(PgConn& c, bool available) {
    std::map<std::string, std::tuple<std::string, int64_t, double>> out;
    if (!available) return out;
    auto r = c.Exec(PgSql{"bench_statement_times",
                          "SELECT queryid::text, left(regexp_replace(query, '\\s+', ' ', 'g'), 70), calls, "
                          "total_exec_time FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database "
                          "WHERE datname = current_database())"});
    for (int i = 0; i < r.rows(); ++i) {
        out[r.Text(i, 0)] = {r.Text(i, 1), r.Int(i, 2), std::stod(r.Text(i, 3))};
    }
    return out;
}

// The statements that took most of a window's server time: each one's calls, mean time and
// milliseconds per job finished in the window, so that a statement whose cost grows with the
// tables shows up from one window to the next.
nlohmann::json TopStatements(const std::map<std::string, std::tuple<std::string, int64_t, double>>& before,
                             const std::map<std::string, std::tuple<std::string, int64_t, double>>& after,
                             int64_t jobs) {
    std::vector<std::tuple<double, std::string, int64_t>> rows;
    for (const auto& [id, now] : after) {
        const auto it = before.find(id);
        const int64_t calls = std::get<1>(now) - (it == before.end() ? 0 : std::get<1>(it->second));
        const double ms = std::get<2>(now) - (it == before.end() ? 0.0 : std::get<2>(it->second));
        if (calls > 0) rows.emplace_back(ms, std::get<0>(now), calls);
    }
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < rows.size() && i < 8; ++i) {
        const auto& [ms, query, calls] = rows[i];
        out.push_back({{"query", query},
                       {"calls", calls},
                       {"mean_ms", ms / static_cast<double>(calls)},
                       {"ms_per_job", ms / static_cast<double>(std::max<int64_t>(1, jobs))}});
    }
    return out;
}

nlohmann::json WalCounters(PgConn& c) {
    auto r = c.Exec(PgSql{"bench_wal_counters",
                          "SELECT w.wal_bytes::bigint, w.wal_fpi, b.checkpoints_timed + b.checkpoints_req "
                          "FROM pg_stat_wal w, pg_stat_bgwriter b"});
    return {{"wal_bytes", r.Int(0, 0)}, {"wal_fpi", r.Int(0, 1)}, {"checkpoints", r.Int(0, 2)}};
}

// One `herald bench queue --role worker` child: its pid and the two ends of its pipes.
struct Child {
    pid_t pid = -1;
    int to = -1;           ///< its stdin
    FILE* from = nullptr;  ///< its stdout
};

// The worker processes of one run. The destructor stops any still running (SIGTERM, then
// SIGKILL after 30 s), so that a failed run leaves none behind.
class Children {
  public:
    ~Children() { Stop(nullptr); }

    core::Status Spawn(const BenchQueueOptions& o, const std::string& url) {
        std::vector<std::string> args = {"herald",
                                         "bench",
                                         "queue",
                                         "--role",
                                         "worker",
                                         "--database",
                                         url,
                                         "--workers",
                                         std::to_string(o.workers),
                                         "--worker-batch",
                                         std::to_string(o.worker_batch),
                                         "--claim-batch",
                                         std::to_string(o.claim_batch),
                                         "--dedupe",
                                         o.dedupe};
        if (o.workload == "lateness") args.push_back("--collect-lateness");
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        for (int i = 0; i < o.processes; ++i) {
            int in[2], out[2];
            if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
                return core::Fail(core::ErrorCode::kInternal, "pipe failed");
            }
            const pid_t pid = ::fork();
            if (pid < 0) return core::Fail(core::ErrorCode::kInternal, "fork failed");
            if (pid == 0) {
                ::dup2(in[0], 0);  // dup2 clears close-on-exec on 0 and 1
                ::dup2(out[1], 1);
                ::execv("/proc/self/exe", argv.data());
                ::_exit(127);
            }
            ::close(in[0]);
            ::close(out[1]);
            children_.push_back(Child{pid, in[1], ::fdopen(out[0], "r")});
        }
        // Each child opens its store, warms its connections and says "ready"; only then does
        // the clock start.
        for (auto& c : children_) {
            char line[256];
            if (std::fgets(line, sizeof line, c.from) == nullptr || std::string(line) != "ready\n") {
                return core::Fail(core::ErrorCode::kUnavailable,
                                  "worker process " + std::to_string(c.pid) + " did not start (see its stderr)");
            }
        }
        return {};
    }

    void Go() {
        for (auto& c : children_) {
            if (::write(c.to, "go\n", 3) != 3) std::cerr << "herald bench: could not start child " << c.pid << "\n";
        }
    }

    // SIGTERM to every child, then their last lines (JSON with their counts) into `reports`.
    void Stop(std::vector<nlohmann::json>* reports) {
        for (auto& c : children_) {
            if (c.pid <= 0) continue;
            ::kill(c.pid, SIGTERM);
            // The end of its stdin stops a child too, also one still waiting for "go" (SIGTERM
            // is blocked there until it runs).
            ::close(c.to);
            c.to = -1;
        }
        for (auto& c : children_) {
            if (c.pid <= 0) continue;
            std::string last;
            char buf[1 << 16];
            std::string acc;
            // The child writes its JSON line when it has stopped; it exits right after.
            while (std::fgets(buf, sizeof buf, c.from) != nullptr) {
                acc += buf;
                if (!acc.empty() && acc.back() == '\n') {
                    last = acc;
                    acc.clear();
                }
            }
            if (reports && !last.empty()) {
                auto j = nlohmann::json::parse(last, nullptr, false);
                if (!j.is_discarded()) reports->push_back(std::move(j));
            }
            int status = 0;
            bool gone = false;
            for (int i = 0; i < 300 && !gone; ++i) {
                gone = ::waitpid(c.pid, &status, WNOHANG) == c.pid;
                if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
            if (!gone) {
                ::kill(c.pid, SIGKILL);
                ::waitpid(c.pid, &status, 0);
            }
            std::fclose(c.from);
            c.pid = -1;
        }
        children_.clear();
    }

  private:
    std::vector<Child> children_;
};

struct ProcessRun {
    double seconds = 0;
    int64_t published = 0;          ///< deliveries published, as stored
    int64_t history_published = 0;  ///< job_history rows with outcome published
    int64_t sandbox_posts = 0;      ///< what the platform received
    int64_t reported = 0;           ///< attempts the children reported, summed (more than jobs: a repeat)
    int64_t reported_published = 0;
    std::vector<double> lateness_ms;
    nlohmann::json windows = nlohmann::json::array();
    nlohmann::json sizes_before, sizes_after;
    bool ok = false;
};

void OnSignal(int) { g_interrupted = true; }

// Runs `o.processes` worker processes on the fixture's database until `total` jobs have left
// the jobs table. `initial` jobs are in the queue before the clock starts; with `feed` the
// rest are enqueued by a thread of this process in chunks of `o.chunk`, whenever fewer than a
// chunk remain queued, while the workers drain (the soak). Progress (and, with `window`, the
// rate over every `window` jobs) is read from the database.
ProcessRun RunProcesses(Fixture& f, const BenchQueueOptions& o, int64_t initial, int64_t total,
                        const std::function<core::Status(int64_t)>& feed) {
    ProcessRun r;
    ::signal(SIGPIPE, SIG_IGN);  // a child that died: its pipe's write fails instead
    Children children;
    if (auto ok = children.Spawn(o, f.url); !ok) {
        std::cerr << "herald bench: " << ok.error().message << "\n";
        return r;
    }
    r.sizes_before = TableSizes(*f.pg);
    std::atomic<int64_t> enqueued{initial};
    std::atomic<int64_t> remaining{initial};
    std::atomic<bool> stop_feeder{false};
    std::atomic<bool> feed_failed{false};
    std::thread feeder;
    const auto t0 = Clock::now();
    children.Go();
    if (feed) {
        feeder = std::thread([&] {
            while (!stop_feeder && enqueued < total) {
                if (remaining.load() < o.chunk) {
                    const int64_t n = std::min<int64_t>(o.chunk, total - enqueued.load());
                    if (auto ok = feed(n); !ok) {
                        std::cerr << "\nherald bench: enqueueing failed: " << ok.error().message << "\n";
                        feed_failed = true;
                        return;
                    }
                    enqueued += n;
                    remaining += n;
                } else {
                    std::this_thread::sleep_for(std::chrono::milliseconds(50));
                }
            }
        });
    }
    const auto deadline = t0 + std::chrono::seconds(static_cast<int64_t>(o.timeout_seconds));
    int64_t last_done = -1;
    auto last_print = t0;
    auto window_start = t0;
    int64_t window_start_done = 0;
    auto window_wal = o.window > 0 ? WalCounters(*f.pg) : nlohmann::json();
    auto window_statements = StatementTimes(*f.pg, o.window > 0 && f.statements);
    int64_t next_window = o.window;
    double rate = 0;  // jobs/s over the last poll, to poll often only near the end
    auto last_poll = t0;
    int64_t last_poll_done = 0;
    while (true) {
        // `enqueued` before `remaining`: a chunk the feeder adds in between counts as not yet
        // enqueued and not yet done, never as done.
        const int64_t in = enqueued.load();
        const int64_t left = QueryInt(*f.pg, kRemainingJobs);
        remaining = left;
        const auto now = Clock::now();
        const int64_t done = in - left;
        if (done != last_poll_done && now > last_poll) {
            rate = static_cast<double>(done - last_poll_done) / std::chrono::duration<double>(now - last_poll).count();
        }
        last_poll = now;
        last_poll_done = done;
        if (o.window > 0 && done >= next_window) {
            const double secs = std::chrono::duration<double>(now - window_start).count();
            const auto wal = WalCounters(*f.pg);
            const auto per_job = [&](const char* key) {
                return static_cast<double>(wal[key].get<int64_t>() - window_wal[key].get<int64_t>()) /
                       static_cast<double>(std::max<int64_t>(1, done - window_start_done));
            };
            r.windows.push_back(
                {{"done", done},
                 {"seconds", secs},
                 {"jobs_per_s", static_cast<double>(done - window_start_done) / secs},
                 {"at_seconds", std::chrono::duration<double>(now - t0).count()},
                 {"jobs_total_bytes",
                  QueryInt(*f.pg, PgSql{"bench_jobs_bytes", "SELECT pg_total_relation_size('jobs')"})},
                 {"jobs_dead_tuples", QueryInt(*f.pg, PgSql{"bench_jobs_dead",
                                                            "SELECT n_dead_tup FROM pg_stat_user_tables "
                                                            "WHERE relname = 'jobs'"})},
                 {"wal_bytes_per_job", per_job("wal_bytes")},
                 {"wal_full_page_images_per_job", per_job("wal_fpi")},
                 {"checkpoints", wal["checkpoints"].get<int64_t>() - window_wal["checkpoints"].get<int64_t>()},
                 {"load_average", LoadAverage()}});
            window_wal = wal;
            if (f.statements) {
                auto statements = StatementTimes(*f.pg, true);
                r.windows.back()["statements"] = TopStatements(window_statements, statements, done - window_start_done);
                window_statements = std::move(statements);
            }
            std::cerr << "\rwindow to " << done << ": " << static_cast<int64_t>(r.windows.back()["jobs_per_s"])
                      << " jobs/s, WAL " << static_cast<int64_t>(r.windows.back()["wal_bytes_per_job"].get<double>())
                      << " bytes and " << r.windows.back()["wal_full_page_images_per_job"].get<double>()
                      << " full-page images a job, " << r.windows.back()["checkpoints"].get<int64_t>()
                      << " checkpoints\n";
            window_start = now;
            window_start_done = done;
            while (next_window <= done) next_window += o.window;
        }
        if (in >= total && left == 0) {
            r.seconds = std::chrono::duration<double>(now - t0).count();
            r.ok = true;
            break;
        }
        if (g_interrupted || feed_failed || now > deadline) {
            std::cerr << "\nherald bench: "
                      << (g_interrupted ? "interrupted"
                          : feed_failed ? "enqueueing failed"
                                        : "timed out")
                      << " with " << left << " jobs left\n";
            break;
        }
        if (done != last_done && now - last_print > std::chrono::milliseconds(500)) {
            std::cerr << "\rrecorded: " << done << "/" << total << std::flush;
            last_done = done;
            last_print = now;
        }
        // Poll every 200 ms (the soak: every second; the count still costs more as `jobs`
        // bloats), and every 5 ms once the end is less than half a second away.
        const bool near_end = in >= total && rate > 0 && static_cast<double>(left) / rate < 0.5;
        std::this_thread::sleep_for(std::chrono::milliseconds(near_end ? 5 : feed ? 1000 : 200));
    }
    std::cerr << "\n";
    stop_feeder = true;
    if (feeder.joinable()) feeder.join();
    std::vector<nlohmann::json> reports;
    children.Stop(&reports);
    for (const auto& j : reports) {
        r.reported += j.value("published", int64_t{0}) + j.value("other", int64_t{0});
        r.reported_published += j.value("published", int64_t{0});
        if (j.contains("lateness_ms")) {
            for (const auto& v : j["lateness_ms"]) r.lateness_ms.push_back(v.get<double>());
        }
    }
    if (reports.size() != static_cast<size_t>(o.processes)) {
        std::cerr << "herald bench: " << (o.processes - static_cast<int>(reports.size()))
                  << " worker process(es) did not report\n";
        r.ok = false;
    }
    r.published = QueryInt(*f.pg, kPublishedDeliveries);
    r.history_published = QueryInt(*f.pg, kPublishedHistory);
    r.sandbox_posts = QueryInt(*f.pg, kSandboxPosts);
    r.sizes_after = TableSizes(*f.pg);
    return r;
}

nlohmann::json ProcessFields(const ProcessRun& r) {
    return {{"history_published", r.history_published},
            {"sandbox_posts", r.sandbox_posts},
            {"attempts_reported", r.reported},
            {"duplicates", r.reported_published - r.published}};
}

int BurnDown(const BenchQueueOptions& o, const core::Clock& clock) {
    auto f = MakeFixture(o, o.data_dir, clock);
    if (!f) return Fail(f.error());
    const auto now = clock.Now();
    if (auto ok = AddPosts(
            **f, o.jobs, [&](int64_t) { return now; }, clock, "creating posts due now");
        !ok) {
        return Fail(ok.error());
    }
    const auto server = ServerSettings(**f);
    if (o.processes > 0) {
        auto r = RunProcesses(**f, o, o.jobs, o.jobs, nullptr);
        nlohmann::json j = {{"workload", "burn-down"},
                            {"jobs", o.jobs},
                            {"published", r.published},
                            {"seconds", r.seconds},
                            {"jobs_per_s", r.ok ? static_cast<double>(o.jobs) / r.seconds : 0.0}};
        j.update(ProcessFields(r));
        Print(o, server, j);
        return r.ok && r.published == o.jobs && r.history_published == o.jobs ? 0 : 1;
    }
    auto r = RunDispatcher(**f, o, o.jobs, clock);
    Print(o, server,
          {{"workload", "burn-down"},
           {"jobs", o.jobs},
           {"published", r.published},
           {"seconds", r.seconds},
           {"jobs_per_s", static_cast<double>(o.jobs) / r.seconds},
           {"peak_rss_mb", PeakRssMb()}});
    return r.published == o.jobs ? 0 : 1;
}

int Lateness(const BenchQueueOptions& o, const core::Clock& clock) {
    auto f = MakeFixture(o, o.data_dir, clock);
    if (!f) return Fail(f.error());
    // Spread over `over_seconds`, starting 2 s after the posts are written.
    const auto start = clock.Now() + std::chrono::seconds(2);
    const double step_ms = o.over_seconds * 1000.0 / static_cast<double>(std::max<int64_t>(o.jobs, 1));
    auto due = [&](int64_t i) { return start + core::Millis(static_cast<int64_t>(static_cast<double>(i) * step_ms)); };
    if (auto ok = AddPosts(**f, o.jobs, due, clock, "scheduling posts"); !ok) return Fail(ok.error());
    const auto server = ServerSettings(**f);
    std::vector<double> lateness;
    int64_t published = 0;
    bool ok = true;
    nlohmann::json extra = nlohmann::json::object();
    if (o.processes > 0) {
        auto r = RunProcesses(**f, o, o.jobs, o.jobs, nullptr);
        lateness = std::move(r.lateness_ms);
        published = r.published;
        ok = r.ok;
        extra = ProcessFields(r);
    } else {
        auto r = RunDispatcher(**f, o, o.jobs, clock);
        lateness = std::move(r.lateness_ms);
        published = r.published;
        extra["peak_rss_mb"] = PeakRssMb();
    }
    nlohmann::json j = {{"workload", "lateness"},
                        {"jobs", o.jobs},
                        {"over_seconds", o.over_seconds},
                        {"published", published},
                        {"p50_ms", Percentile(lateness, 0.50)},
                        {"p99_ms", Percentile(lateness, 0.99)},
                        {"max_ms", Percentile(lateness, 1.0)}};
    j.update(extra);
    Print(o, server, j);
    return ok && published == o.jobs ? 0 : 1;
}

int Scale(const BenchQueueOptions& o, const core::Clock& clock) {
    // The same burn-down twice: on an otherwise empty queue, then with `backlog` jobs scheduled
    // for the coming year in the table.
    auto empty = MakeFixture(o, "", clock);
    if (!empty) return Fail(empty.error());
    const auto now = clock.Now();
    if (auto ok = AddPosts(
            **empty, o.jobs, [&](int64_t) { return now; }, clock, "empty queue: posts due now");
        !ok) {
        return Fail(ok.error());
    }
    const auto server = ServerSettings(**empty);
    auto base = RunDispatcher(**empty, o, o.jobs, clock);
    empty->reset();

    auto full = MakeFixture(o, o.data_dir, clock);
    if (!full) return Fail(full.error());
    const auto later = clock.Now() + std::chrono::hours(24);
    const auto spread = std::chrono::hours(24 * 365) / std::max<int64_t>(o.backlog, 1);
    if (auto ok = AddPosts(
            **full, o.backlog, [&](int64_t i) { return later + i * spread; }, clock, "backlog: posts in the future");
        !ok) {
        return Fail(ok.error());
    }
    const auto now2 = clock.Now();
    if (auto ok = AddPosts(
            **full, o.jobs, [&](int64_t) { return now2; }, clock, "posts due now");
        !ok) {
        return Fail(ok.error());
    }
    auto loaded = RunDispatcher(**full, o, o.jobs, clock);
    const double base_rate = static_cast<double>(o.jobs) / base.seconds;
    const double loaded_rate = static_cast<double>(o.jobs) / loaded.seconds;
    Print(o, server,
          {{"workload", "scale"},
           {"jobs", o.jobs},
           {"backlog", o.backlog},
           {"empty_jobs_per_s", base_rate},
           {"loaded_jobs_per_s", loaded_rate},
           {"loaded_vs_empty", loaded_rate / base_rate},
           {"peak_rss_mb", PeakRssMb()}});
    return base.published == o.jobs && loaded.published == o.jobs ? 0 : 1;
}

// The soak's enqueuer. The first chunk of posts goes through Store::CreatePosts (the API's
// path) before the clock starts; every later chunk is a copy of it made inside the server
// (INSERT … SELECT from template tables, three statements in one transaction with
// synchronous_commit on, as CreatePosts commits), with fresh ids and due now. Posting 50,000
// posts through CreatePosts costs 150,000 round trips, as much CPU as running them on this
// machine; the copy keeps the windows a measure of the queue, not of the client's inserts.
class SoakFeeder {
  public:
    static core::Result<std::unique_ptr<SoakFeeder>> Make(const std::string& url) {
        auto c = PgConn::Open(url);
        if (!c) return tl::unexpected(c.error());
        auto f = std::unique_ptr<SoakFeeder>(new SoakFeeder(std::move(*c)));
        try {
            f->c_->Run(
                "CREATE TABLE bench_tpl_posts AS SELECT row_number() OVER (ORDER BY id) AS bench_n, * FROM posts; "
                "CREATE TABLE bench_tpl_deliveries AS SELECT p.bench_n, d.* FROM deliveries d "
                "JOIN bench_tpl_posts p ON p.id = d.post_id; "
                "CREATE TABLE bench_tpl_jobs AS SELECT d.bench_n, j.* FROM jobs j "
                "JOIN bench_tpl_deliveries d ON d.id = j.delivery_id");
            // $1: id suffix, $2: how many posts of the template, $3: now (Unix ms).
            f->texts_[0] = f->Copy("posts", {{"id", Fresh("id")},
                                             {"scheduled_at", "$3::bigint"},
                                             {"created_at", "$3::bigint"},
                                             {"updated_at", "$3::bigint"}});
            f->texts_[1] = f->Copy("deliveries",
                                   {{"id", Fresh("id")}, {"post_id", Fresh("post_id")}, {"updated_at", "$3::bigint"}});
            f->texts_[2] = f->Copy("jobs", {{"id", Fresh("id")},
                                            {"delivery_id", Fresh("delivery_id")},
                                            {"due_at", "$3::bigint"},
                                            {"created_at", "$3::bigint"},
                                            {"updated_at", "$3::bigint"}});
        } catch (const PgError& e) {
            return core::Fail(core::ErrorCode::kInternal, std::string("soak: cannot prepare the copies: ") + e.what());
        }
        return f;
    }

    core::Status Add(int64_t n) {
        try {
            const std::string suffix = "-" + std::to_string(++chunks_);
            const int64_t now = core::ToUnixMillis(core::SystemClock().Now());
            storage::postgres::PgTransaction tx(*c_);
            for (size_t i = 0; i < texts_.size(); ++i) {
                c_->Exec(PgSql{kNames[i], texts_[i].c_str()}, Params().Add(suffix).Add(n).Add(now));
            }
            tx.Commit();
        } catch (const PgError& e) {
            return core::Fail(core::ErrorCode::kInternal, e.what());
        }
        return {};
    }

  private:
    explicit SoakFeeder(std::unique_ptr<PgConn> c) : c_(std::move(c)) {}
    // A copied id as core::NewId would make it now: the time prefix (12 hex digits of Unix ms)
    // replaced by $3's, the random part kept, and the chunk's suffix for uniqueness. Keeping the
    // template's prefix (an earlier version appended the suffix only) put every copy next to its
    // original in the primary keys: 50,000 insert points spread over indexes that grow to
    // gigabytes, unlike the API, whose ids all land at the right edge. That alone made the rate
    // fall as the indexes grew.
    static std::string Fresh(const std::string& column) {
        return "lpad(to_hex($3::bigint), 12, '0') || substr(" + column + ", 13) || $1";
    }
    // INSERT INTO table (every column) SELECT (the same, some replaced) FROM its template.
    std::string Copy(const std::string& table, const std::map<std::string, std::string>& replace) {
        auto r = c_->Exec(PgSql{"bench_columns",
                                "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                                "current_schema() AND table_name = $1 ORDER BY ordinal_position"},
                          Params().Add(table));
        std::string cols, values;
        for (int i = 0; i < r.rows(); ++i) {
            const std::string col = r.Text(i, 0);
            if (i > 0) {
                cols += ", ";
                values += ", ";
            }
            cols += col;
            const auto it = replace.find(col);
            values += it == replace.end() ? col : it->second;
        }
        return "INSERT INTO " + table + " (" + cols + ") SELECT " + values + " FROM bench_tpl_" + table +
               " WHERE bench_n <= $2";
    }
    static constexpr const char* kNames[3] = {"bench_copy_posts", "bench_copy_deliveries", "bench_copy_jobs"};
    std::unique_ptr<PgConn> c_;
    std::array<std::string, 3> texts_;  ///< prepared by address: they live as long as this
    int64_t chunks_ = 0;
};

// `--jobs` in all, through worker processes, enqueued in chunks while they drain; the rate
// over every `--window` jobs, and the tables' sizes before and after.
int Soak(const BenchQueueOptions& o, const core::Clock& clock) {
    auto f = MakeFixture(o, o.data_dir, clock);
    if (!f) return Fail(f.error());
    const int64_t initial = std::min(o.jobs, o.chunk);
    const auto now = clock.Now();
    if (auto ok = AddPosts(
            **f, initial, [&](int64_t) { return now; }, clock, "soak: first posts due now (the template)");
        !ok) {
        return Fail(ok.error());
    }
    const auto server = ServerSettings(**f);
    auto feeder = SoakFeeder::Make((*f)->url);
    if (!feeder) return Fail(feeder.error());
    auto feed = [&](int64_t n) { return (*feeder)->Add(n); };
    auto r = RunProcesses(**f, o, initial, o.jobs, feed);
    double first = 0, last = 0;
    if (!r.windows.empty()) {
        first = r.windows.front()["jobs_per_s"].get<double>();
        last = r.windows.back()["jobs_per_s"].get<double>();
    }
    nlohmann::json j = {{"workload", "soak"},
                        {"jobs", o.jobs},
                        {"published", r.published},
                        {"seconds", r.seconds},
                        {"jobs_per_s", r.ok ? static_cast<double>(o.jobs) / r.seconds : 0.0},
                        {"window", o.window},
                        {"chunk", o.chunk},
                        {"setup_sql", o.setup_sql},
                        {"first_window_jobs_per_s", first},
                        {"last_window_jobs_per_s", last},
                        {"last_vs_first", first > 0 ? last / first : 0.0},
                        {"windows", r.windows},
                        {"sizes_before", r.sizes_before},
                        {"sizes_after", r.sizes_after}};
    j.update(ProcessFields(r));
    feeder->reset();
    Print(o, server, j);
    return r.ok && r.published == o.jobs ? 0 : 1;
}

// `--role worker`: one worker process of a PostgreSQL run. Opens the store and says "ready" on
// stdout; starts its dispatcher (and the LISTEN/NOTIFY wake-ups, as herald worker does) when
// "go" comes on stdin; stops on SIGTERM, SIGINT or the end of stdin, and prints one JSON line
// with what it recorded.
int Worker(const BenchQueueOptions& o) {
    if (!IsPostgresUrl(o.database)) {
        std::cerr << "herald bench queue --role worker needs --database postgres://...\n";
        return 2;
    }
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // before any thread: sigwait below takes them
    core::SystemClock clock;
    storage::StoreOptions so;
    so.pool_size = std::max(8, o.workers + 4);
    auto store = storage::OpenStore(o.database, so);
    if (!store) return Fail(store.error());
    auto registry = platforms::BuiltinRegistry(**store, clock);
    CountingSink sink;
    auth::SecretKey key{};
    key.fill(7);
    auth::TokenVault vault(key);
    std::atomic<int64_t> published{0}, other{0};
    std::mutex mu;
    std::vector<double> lateness;
    queue::DispatcherSettings ds;
    ds.workers = o.workers;
    ds.worker_batch = o.worker_batch;
    ds.claim_batch = o.claim_batch;
    const bool collect = o.collect_lateness;
    ds.on_attempt = [&](const queue::AttemptReport& a) {
        (a.status == domain::DeliveryStatus::kPublished ? published : other).fetch_add(1);
        if (collect) {
            std::lock_guard lock(mu);
            lateness.push_back(static_cast<double>((a.started_at - a.due_at).count()));
        }
    };
    queue::Dispatcher dispatcher(**store, clock, *registry, sink, vault, ds);
    auto bus = storage::OpenClusterBus(o.database);
    std::cout << "ready" << std::endl;
    std::string line;
    if (!std::getline(std::cin, line) || line != "go") return 0;  // the coordinator gave up
    dispatcher.Start(/*sole_owner=*/false);
    if (bus) {
        storage::ClusterBus::Hooks hooks;
        hooks.wake = [&dispatcher] { dispatcher.Notify(); };
        hooks.deliver = [](const std::string&, const std::string&) {};
        hooks.local_topics = [] { return std::vector<std::string>{}; };
        hooks.connected = [](bool) {};
        bus->Start(std::move(hooks));
    }
    // The end of stdin (the coordinator died) stops this process too.
    std::thread([] {
        std::string rest;
        while (std::getline(std::cin, rest)) {
        }
        ::kill(::getpid(), SIGTERM);
    }).detach();
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (bus) bus->Stop();
    dispatcher.Stop(std::chrono::seconds(10));
    nlohmann::json j = {
        {"role", "worker"}, {"pid", ::getpid()}, {"published", published.load()}, {"other", other.load()}};
    if (collect) {
        std::lock_guard lock(mu);
        j["lateness_ms"] = lateness;
    }
    std::cout << j.dump() << std::endl;
    std::_Exit(0);  // the stdin reader is still blocked in read
}

}  // namespace

int BenchQueue(const BenchQueueOptions& o) {
    // The benchmark measures the queue, not the log: only warnings and errors are printed, on
    // stderr (stdout carries the result; a worker process's stdout is a pipe that its
    // coordinator reads only at the end, so a log line there could block it).
    spdlog::set_default_logger(spdlog::stderr_color_mt("herald-bench"));
    spdlog::set_level(spdlog::level::warn);
    if (o.role == "worker") return Worker(o);
    if (!o.database.empty() && !IsPostgresUrl(o.database)) {
        std::cerr << "herald bench queue: --database takes a postgres:// URL (without it: a temporary SQLite)\n";
        return 2;
    }
    if (o.processes > 0 && !IsPostgresUrl(o.database)) {
        std::cerr << "herald bench queue: --processes needs --database postgres://... (SQLite has one process)\n";
        return 2;
    }
    if (o.workload == "soak" && o.processes == 0) {
        std::cerr << "herald bench queue: --workload soak needs --database postgres://... and --processes N\n";
        return 2;
    }
    if (o.workload == "scale" && o.processes > 0) {
        std::cerr << "herald bench queue: --workload scale runs in one process; drop --processes\n";
        return 2;
    }
    if (IsPostgresUrl(o.database)) {
        // Ctrl-C or a time-out's SIGTERM stops the run where it is checked (posting, waiting),
        // so that the children are stopped and the scratch database is dropped on the way out.
        struct sigaction sa {};
        sa.sa_handler = OnSignal;
        ::sigaction(SIGINT, &sa, nullptr);
        ::sigaction(SIGTERM, &sa, nullptr);
    }
    core::SystemClock clock;
    if (o.workload == "burn-down") return BurnDown(o, clock);
    if (o.workload == "lateness") return Lateness(o, clock);
    if (o.workload == "scale") return Scale(o, clock);
    if (o.workload == "soak") return Soak(o, clock);
    std::cerr << "herald bench queue: --workload must be burn-down, lateness, scale or soak\n";
    return 2;
}

}  // namespace herald::cli
