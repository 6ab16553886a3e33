// 5,000 posts published to the sandbox while the server is SIGKILLed at random moments and
// restarted on the same data directory. Afterwards every delivery has settled (published, failed
// with a reason, or unconfirmed where the platform can neither dedupe nor be asked), the sandbox
// holds no post twice, and no post was lost.
//
// The kill times come from a printed seed (HERALD_CRASH_SEED overrides it) so a failure can be
// replayed; the thread interleaving of the creators cannot be, which is why the checks are
// about invariants, not about exact counts.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "domain/time.hpp"
#include "http_client.hpp"
#include "process.hpp"
#include "scratch_database.hpp"
#include "server_fixture.hpp"

namespace herald::testing {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr int kPosts = 5000;
constexpr int kKills = 12;
constexpr int kCreators = 3;
// A sandbox call waits before storing the post and again before answering, so that kills land
// both before the platform has the post and after it has it but before Herald knows (the window
// in which a careless recovery publishes twice).
constexpr int kDelayBeforeStoreMs = 100;
constexpr int kDelayBeforeAnswerMs = 100;
// How long the server lives between a (re)start and the next kill.
constexpr int kMinUpMs = 300;
constexpr int kMaxUpMs = 2500;
// Posts are due now or within this many milliseconds of being created.
constexpr int kDueSpreadMs = 3000;
constexpr auto kRequestTimeout = milliseconds(10000);
constexpr auto kCreateDeadline = std::chrono::seconds(150);
constexpr auto kDrainDeadline = std::chrono::seconds(60);
constexpr uint32_t kDefaultSeed = 20261107;

// One `herald serve` process. Its output is drained on a thread from the start (a full pipe
// would stall the server's logging and with it the server) and kept for the failure report.
class ServerRun {
  public:
    ServerRun(const std::vector<std::string>& args, int index) : index_(index) {
        child_ = Spawn(args);
        reader_ = std::thread([this] { Drain(); });
    }
    ~ServerRun() {
        if (!reaped_) {
            ::kill(child_.pid, SIGKILL);
            WaitFor(child_.pid, milliseconds(10000));
        }
        if (reader_.joinable()) reader_.join();
    }
    ServerRun(const ServerRun&) = delete;
    ServerRun& operator=(const ServerRun&) = delete;

    /// The port from the banner; 0 if none came within `timeout` (or the server ended).
    uint16_t WaitForPort(milliseconds timeout) {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, timeout, [&] { return port_ != 0 || ended_; });
        return port_;
    }
    void Signal(int sig) { ::kill(child_.pid, sig); }
    /// Exit code (128 + signal), or nullopt if it did not end within `timeout`.
    std::optional<int> WaitExit(milliseconds timeout) {
        auto code = WaitFor(child_.pid, timeout);
        if (code) {
            reaped_ = true;
            reader_.join();  // the pipe's writer is gone: the reader sees end of file
        }
        return code;
    }
    std::string Log() {
        std::lock_guard lock(mu_);
        return log_;
    }
    int index() const { return index_; }

  private:
    void Drain() {
        static const std::regex kBanner(R"(Herald is running at http://127\.0\.0\.1:(\d+))");
        char buf[16384];
        while (true) {
            const ssize_t n = ::read(child_.out_fd, buf, sizeof buf);
            if (n <= 0) break;
            std::lock_guard lock(mu_);
            log_.append(buf, static_cast<size_t>(n));
            std::smatch m;
            if (port_ == 0 && std::regex_search(log_, m, kBanner)) {
                port_ = static_cast<uint16_t>(std::stoi(m[1]));
                cv_.notify_all();
            }
        }
        ::close(child_.out_fd);
        std::lock_guard lock(mu_);
        ended_ = true;
        cv_.notify_all();
    }

    int index_;
    Child child_;
    bool reaped_ = false;
    std::thread reader_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::string log_;
    uint16_t port_ = 0;
    bool ended_ = false;
};

size_t CountOf(const std::string& haystack, const std::string& needle) {
    size_t n = 0;
    for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
    return n;
}

std::string Tail(const std::string& s, size_t n) { return s.size() <= n ? s : "…" + s.substr(s.size() - n); }

// Log lines at warn or above, at most `max` of them: what a failure report needs first.
std::string Complaints(const std::string& log, size_t max) {
    std::istringstream in(log);
    std::string line, out;
    size_t n = 0;
    while (std::getline(in, line)) {
        if (line.find("level=error") == std::string::npos && line.find("level=critical") == std::string::npos &&
            line.find("event=store_") == std::string::npos) {
            continue;
        }
        if (n++ < max) out += line + "\n";
    }
    if (n > max) out += "(" + std::to_string(n - max) + " more)\n";
    return out;
}

struct Created {
    std::string post_id;
    std::string delivery_id;
    std::string account_id;
    std::string text;
};

// What the post creators share with the driver.
struct Creation {
    std::atomic<uint16_t> port{0};  ///< the live server's port; 0 while it is down
    std::atomic<int> next_slot{0};
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::vector<Created> created;                ///< answered 201
    std::set<std::string> unanswered;            ///< texts of creates that got no answer
    std::map<std::string, std::string> refused;  ///< text → the non-201 answer
    std::vector<std::string> problems;           ///< unexpected answers, reported at the end
};

std::string SeedFromEnvironment() {
    const char* s = std::getenv("HERALD_CRASH_SEED");
    return s != nullptr ? s : "";
}

// "sqlite": one embedded server, killed and restarted (it is the only process). "postgres": a
// cluster on one PostgreSQL database, two API-only nodes and three worker nodes; the killed and
// restarted ones are random workers, and the API nodes take the posts throughout.
class CrashRecovery : public ::testing::TestWithParam<std::string> {
  protected:
    bool cluster() const { return GetParam() == "postgres"; }
    void SetUp() override {
        dir_ = MakeTempDir("herald-crash");
        if (cluster()) {
            db_ = std::make_unique<test_support::ScratchPgDatabase>();
            // Every node signs and checks tokens with one key; a killed worker's jobs come back
            // after a short lease instead of the default minute.
            ::setenv("HERALD_SECRET_KEY", "6a1f0c3e5b7d9f11223344556677889900aabbccddeeff00112233445566778f", 1);
            ::setenv("HERALD_LEASE_SECONDS", "4", 1);
        }
    }
    std::vector<std::string> NodeArgs(const std::string& name, int workers) const {
        // In the cluster, nodes with workers are `herald worker`; the API nodes `serve --workers 0`.
        const std::string command = cluster() && workers > 0 ? "worker" : "serve";
        std::vector<std::string> args = {HERALD_BINARY, command,      "--listen",
                                         "127.0.0.1:0", "--data-dir", (dir_ / name).string()};
        if (cluster()) {
            args.insert(args.end(), {"--database", db_->url(), "--workers", std::to_string(workers)});
        }
        return args;
    }
    // A node of the cluster (or the one embedded server), started and waited for.
    std::unique_ptr<ServerRun> StartNode(const std::string& name, int workers, int index, uint16_t* port) {
        auto run = std::make_unique<ServerRun>(NodeArgs(name, workers), index);
        *port = run->WaitForPort(milliseconds(20000));
        EXPECT_NE(*port, 0) << name << " printed no banner:\n" << Tail(run->Log(), 4000);
        return run;
    }
    void TearDown() override {
        creation_.stop = true;
        for (auto& t : creators_) {
            if (t.joinable()) t.join();
        }
        if (server_ && ::testing::Test::HasFailure()) {
            std::cout << "---- server run " << server_->index() << " output (tail) ----\n"
                      << Tail(server_->Log(), 6000) << "\n";
        }
        for (size_t i = 0; i < workers_.size() && ::testing::Test::HasFailure(); ++i) {
            std::cout << "---- worker " << i << " (run " << workers_[i]->index() << ") output (tail) ----\n"
                      << Tail(workers_[i]->Log(), 3000) << "\n";
        }
        server_.reset();
        api_nodes_.clear();
        workers_.clear();
        if (cluster()) {
            ::unsetenv("HERALD_SECRET_KEY");
            ::unsetenv("HERALD_LEASE_SECONDS");
        }
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    HttpResult Call(const std::string& method, const std::string& target, const nlohmann::json& body = nullptr) {
        HttpClient client(creation_.port.load());
        return client.TryRequest(method, target, body.is_null() ? "" : body.dump(),
                                 {{"Authorization", "Bearer " + token_}}, kRequestTimeout);
    }

    // Starts a server on the data directory and waits for its banner.
    void StartServer(int index) {
        uint16_t port = 0;
        server_ = StartNode("server", 4, index, &port);
        ASSERT_NE(port, 0);
        creation_.port = port;
    }

    // Creates posts until every slot has a 201, whatever the server is going through.
    void CreatorLoop(uint32_t seed, SteadyClock::time_point deadline) {
        std::mt19937 rng(seed);
        std::uniform_int_distribution<int> due_in(0, kDueSpreadMs);
        while (!creation_.stop) {
            const int slot = creation_.next_slot.fetch_add(1);
            if (slot >= kPosts) return;
            const std::string& account = accounts_[static_cast<size_t>(slot) % accounts_.size()].id;
            for (int attempt = 1; !creation_.stop; ++attempt) {
                if (SteadyClock::now() > deadline) {
                    std::lock_guard lock(creation_.mu);
                    creation_.problems.push_back("creating posts did not finish within the deadline");
                    creation_.stop = true;
                    return;
                }
                // The cluster's API nodes take turns; the embedded server is the only one.
                const uint16_t port = api_ports_.empty() ? creation_.port.load()
                                                         : api_ports_[static_cast<size_t>(slot) % api_ports_.size()];
                if (port == 0) {
                    std::this_thread::sleep_for(milliseconds(2));
                    continue;
                }
                const std::string text = "crash post " + std::to_string(slot) + " try " + std::to_string(attempt);
                const auto now = std::chrono::time_point_cast<core::Millis>(std::chrono::system_clock::now());
                const nlohmann::json body = {{"text", text},
                                             {"account_ids", {account}},
                                             {"scheduled_at", domain::FormatRfc3339(now + milliseconds(due_in(rng)))}};
                const auto r = HttpClient(port).TryRequest("POST", "/api/v1/posts", body.dump(),
                                                           {{"Authorization", "Bearer " + token_}}, kRequestTimeout);
                std::lock_guard lock(creation_.mu);
                if (r.status == 201) {
                    auto j = nlohmann::json::parse(r.body, nullptr, false);
                    if (j.is_discarded() || !j.contains("deliveries") || j["deliveries"].size() != 1 ||
                        j["deliveries"][0].value("account_id", "") != account) {
                        creation_.problems.push_back("a 201 with an unexpected body: " + r.body);
                        creation_.stop = true;
                        return;
                    }
                    creation_.created.push_back(Created{j["id"], j["deliveries"][0]["id"], account, text});
                    break;
                }
                if (r.status == 0) {
                    // Killed mid-request: the post may or may not exist. Another try gets another text.
                    creation_.unanswered.insert(text);
                    continue;
                }
                creation_.refused[text] = std::to_string(r.status) + " " + r.body;
                if (r.status < 500) {
                    // A 4xx is the test's or the server's bug (a token that stopped working
                    // after a restart shows up here): no point in flooding the server.
                    creation_.problems.push_back("creating a post was answered " + std::to_string(r.status) + ": " +
                                                 r.body);
                    creation_.stop = true;
                    return;
                }
            }
        }
    }

    struct Account {
        std::string id;
        std::string dedupe;
    };

    std::filesystem::path dir_;
    std::unique_ptr<test_support::ScratchPgDatabase> db_;  ///< postgres: the cluster's database
    std::unique_ptr<ServerRun> server_;                    ///< sqlite: the one server
    std::vector<std::unique_ptr<ServerRun>> api_nodes_;    ///< postgres: API-only nodes, never killed
    std::vector<std::unique_ptr<ServerRun>> workers_;      ///< postgres: worker nodes, killed at random
    std::vector<uint16_t> api_ports_;
    std::string token_;
    std::vector<Account> accounts_;
    Creation creation_;
    std::vector<std::thread> creators_;
};

TEST_P(CrashRecovery, FiveThousandPostsSurviveRepeatedSigkillWithoutDuplicatesOrLoss) {
    const auto started = SteadyClock::now();
    const std::string seed_text = SeedFromEnvironment();
    const uint32_t seed = seed_text.empty() ? kDefaultSeed : static_cast<uint32_t>(std::stoul(seed_text));
    std::cout << "crash-test: seed=" << seed << " (set HERALD_CRASH_SEED to replay the kill times)\n";
    std::mt19937 rng(seed);

    // ---- setup: one user, one workspace, one sandbox account per exactly-once mode ----------
    constexpr int kWorkerNodes = 3;
    if (cluster()) {
        for (int i = 0; i < 2; ++i) {
            uint16_t port = 0;
            api_nodes_.push_back(StartNode("api" + std::to_string(i), 0, 0, &port));
            ASSERT_NE(port, 0);
            api_ports_.push_back(port);
        }
        creation_.port = api_ports_[0];  // this test's own calls go to the first API node
        for (int i = 0; i < kWorkerNodes; ++i) {
            uint16_t port = 0;
            workers_.push_back(StartNode("worker" + std::to_string(i), 2, 0, &port));
            ASSERT_NE(port, 0);
        }
    } else {
        StartServer(0);
    }
    ASSERT_FALSE(HasFatalFailure());
    {
        auto reg = HttpClient(creation_.port.load())
                       .Post("/api/v1/auth/register",
                             {{"email", "crash@example.com"}, {"password", "correct horse"}, {"name", "Crash"}});
        ASSERT_EQ(reg.status, 201) << reg.body;
        token_ = reg.Json()["access_token"];
    }
    for (const char* dedupe : {"idempotent", "lookup", "none"}) {
        auto r = Call(
            "POST", "/api/v1/accounts",
            {{"platform", "sandbox"},
             {"name", std::string("crash ") + dedupe},
             {"settings",
              {{"delay_ms", kDelayBeforeStoreMs}, {"answer_delay_ms", kDelayBeforeAnswerMs}, {"dedupe", dedupe}}}});
        ASSERT_EQ(r.status, 201) << r.body << r.error;
        accounts_.push_back({nlohmann::json::parse(r.body)["id"], dedupe});
    }

    // ---- creators and the kill driver, together -------------------------------------------
    const auto create_deadline = started + kCreateDeadline;
    for (int i = 0; i < kCreators; ++i) {
        creators_.emplace_back([this, seed, i, create_deadline] { CreatorLoop(seed + 1 + i, create_deadline); });
    }
    std::uniform_int_distribution<int> up_for(kMinUpMs, kMaxUpMs);
    std::string logs;  // every finished run's output, for the counts in the summary
    int kills = 0;
    for (int k = 1; k <= kKills; ++k) {
        std::this_thread::sleep_for(milliseconds(up_for(rng)));
        if (cluster()) {
            // A random worker node dies; the others and the API nodes carry on.
            const size_t victim = static_cast<size_t>(rng()) % workers_.size();
            workers_[victim]->Signal(SIGKILL);
            const auto code = workers_[victim]->WaitExit(milliseconds(10000));
            ASSERT_TRUE(code.has_value()) << "worker " << victim << " did not die on SIGKILL";
            ASSERT_EQ(*code, 128 + SIGKILL) << Tail(workers_[victim]->Log(), 4000);
            ++kills;
            logs += workers_[victim]->Log();
            uint16_t port = 0;
            workers_[victim] = StartNode("worker" + std::to_string(victim), 2, k, &port);
            ASSERT_NE(port, 0);
            continue;
        }
        creation_.port = 0;
        server_->Signal(SIGKILL);
        const auto code = server_->WaitExit(milliseconds(10000));
        ASSERT_TRUE(code.has_value()) << "server run " << k - 1 << " did not die on SIGKILL";
        ASSERT_EQ(*code, 128 + SIGKILL) << Tail(server_->Log(), 4000);
        ++kills;
        logs += server_->Log();
        StartServer(k);
        ASSERT_FALSE(HasFatalFailure());
        // The access token was signed with the key in the data directory: it outlives the process.
        auto me = Call("GET", "/api/v1/accounts");
        ASSERT_EQ(me.status, 200) << "after restart " << k << ": " << me.body << me.error;
    }
    for (auto& t : creators_) t.join();
    const auto created_at = SteadyClock::now();
    {
        std::lock_guard lock(creation_.mu);
        for (const auto& p : creation_.problems) ADD_FAILURE() << p;
        ASSERT_TRUE(creation_.problems.empty());
        ASSERT_EQ(creation_.created.size(), static_cast<size_t>(kPosts));
    }

    // ---- drain: wait until nothing is waiting or in flight --------------------------------
    const auto drain_deadline = SteadyClock::now() + kDrainDeadline;
    std::map<std::string, size_t> still;
    while (true) {
        still.clear();
        for (const char* s : {"draft", "scheduled", "queued", "publishing", "needs_approval"}) {
            auto r = Call("GET", std::string("/api/v1/posts?limit=200&status=") + s);
            ASSERT_EQ(r.status, 200) << r.body << r.error;
            const size_t n = nlohmann::json::parse(r.body)["items"].size();
            if (n > 0) still[s] = n;
        }
        if (still.empty() || SteadyClock::now() > drain_deadline) break;
        std::this_thread::sleep_for(milliseconds(250));
    }
    const auto drained_at = SteadyClock::now();

    // ---- read everything back -------------------------------------------------------------
    std::map<std::string, nlohmann::json> posts;  // id → post
    std::string cursor;
    for (int page = 0; page < 1000; ++page) {
        auto r = Call("GET", "/api/v1/posts?limit=200" + (cursor.empty() ? "" : "&cursor=" + cursor));
        ASSERT_EQ(r.status, 200) << r.body << r.error;
        auto j = nlohmann::json::parse(r.body);
        for (auto& p : j["items"]) posts[p["id"].get<std::string>()] = p;
        if (j["next_cursor"].is_null()) break;
        cursor = j["next_cursor"];
    }
    std::map<std::string, nlohmann::json> sandbox;  // account id → items
    for (const auto& a : accounts_) {
        auto r = Call("GET", "/api/v1/accounts/" + a.id + "/sandbox/posts");
        ASSERT_EQ(r.status, 200) << r.body << r.error;
        sandbox[a.id] = nlohmann::json::parse(r.body)["items"];
    }

    // ---- checks ---------------------------------------------------------------------------
    // Examples of each kind of violation, capped so that a systematic bug stays readable.
    std::map<std::string, std::vector<std::string>> violations;
    auto violation = [&](const std::string& kind, const std::string& what) {
        auto& v = violations[kind];
        if (v.size() < 5)
            v.push_back(what);
        else if (v.size() == 5)
            v.push_back("…");
    };

    // 3. No created post is missing; nothing appeared that nobody asked for.
    std::map<std::string, const Created*> created_by_id;
    for (const auto& c : creation_.created) {
        created_by_id[c.post_id] = &c;
        auto it = posts.find(c.post_id);
        if (it == posts.end()) {
            violation("a post whose creation was answered 201 is missing", c.post_id + " (" + c.text + ")");
        } else if (it->second["text"] != c.text) {
            violation("a post's text changed", c.post_id);
        } else if (it->second["deliveries"].size() != 1 || it->second["deliveries"][0]["id"] != c.delivery_id ||
                   it->second["deliveries"][0]["account_id"] != c.account_id) {
            violation("a post's delivery changed", c.post_id + ": " + it->second["deliveries"].dump());
        }
    }
    size_t created_without_answer = 0;
    for (const auto& [id, p] : posts) {
        if (created_by_id.count(id)) continue;
        const std::string text = p["text"];
        if (creation_.unanswered.count(text)) {
            ++created_without_answer;  // the kill came after the commit, before the answer
        } else if (creation_.refused.count(text)) {
            violation("a create answered with an error created a post anyway", id + ": " + creation_.refused.at(text));
        } else {
            violation("a post nobody created", id + " (" + text + ")");
        }
    }

    // 1. Every delivery settled, in a state its account's mode allows.
    struct Tally {
        std::map<std::string, size_t> by_status;
        size_t resent_after_kill = 0;       // published on a later attempt: was in flight at a kill
        size_t unconfirmed_in_sandbox = 0;  // none mode: a kill came after the store, before the answer
        std::map<std::string, const nlohmann::json*> deliveries;  // delivery id → delivery
        std::map<std::string, std::string> text_of;               // delivery id → post text
    };
    std::map<std::string, Tally> tally;  // account id → tally
    std::map<std::string, std::string> mode_of;
    for (const auto& a : accounts_) mode_of[a.id] = a.dedupe;
    for (const auto& [id, p] : posts) {
        for (const auto& d : p["deliveries"]) {
            const std::string account = d["account_id"], status = d["status"], did = d["id"];
            if (!mode_of.count(account)) {
                violation("a delivery to an unknown account", did);
                continue;
            }
            auto& t = tally[account];
            t.by_status[status]++;
            t.deliveries[did] = &d;
            t.text_of[did] = p["text"];
            const std::string where = mode_of[account] + " mode, post " + id + ", delivery " + did;
            const std::string error = d["error"].is_string() ? d["error"].get<std::string>() : "";
            if (status == "published") {
                if (!d["remote_id"].is_string()) violation("published without a remote id", where);
                if (d["attempts"].get<int>() > 1) t.resent_after_kill++;
            } else if (status == "failed") {
                if (error.empty()) violation("failed without a reason", where);
            } else if (status == "unconfirmed") {
                if (mode_of[account] != "none") {
                    violation("unconfirmed on an account that can dedupe or look up", where + ": " + error);
                } else if (error.empty()) {
                    violation("unconfirmed without a reason", where);
                }
            } else {
                violation("a delivery did not settle", where + " is " + status + " (" + error + ")");
            }
        }
    }

    // 2. The sandbox holds no post twice, and holds every published one.
    std::map<std::string, size_t> sandbox_count;
    for (const auto& a : accounts_) {
        auto& t = tally[a.id];
        std::map<std::string, std::vector<const nlohmann::json*>> by_key;
        for (const auto& s : sandbox[a.id]) by_key[s["idempotency_key"].get<std::string>()].push_back(&s);
        sandbox_count[a.id] = sandbox[a.id].size();
        for (const auto& [key, copies] : by_key) {
            const std::string where = a.dedupe + " mode, key " + key;
            if (copies.size() > 1)
                violation("the sandbox holds a post twice", where + " x" + std::to_string(copies.size()));
            auto d = t.deliveries.find(key);
            if (d == t.deliveries.end()) {
                violation("the sandbox holds a post no delivery knows", where);
                continue;
            }
            const std::string status = (*d->second)["status"];
            if (status != "published" && !(a.dedupe == "none" && status == "unconfirmed")) {
                violation("the sandbox holds a post its delivery does not count as sent", where + " is " + status);
            }
            if ((*copies.front())["text"] != t.text_of[key]) violation("the sandbox holds another text", where);
            if (status == "unconfirmed") t.unconfirmed_in_sandbox++;
        }
        size_t published = 0;
        for (const auto& [did, d] : t.deliveries) {
            if ((*d)["status"] != "published") continue;
            ++published;
            auto s = by_key.find(did);
            if (s == by_key.end()) {
                violation("a published delivery is not in the sandbox (lost)", a.dedupe + " mode, delivery " + did);
            } else if ((*s->second.front())["remote_id"] != (*d)["remote_id"]) {
                violation("a published delivery names another sandbox post", a.dedupe + " mode, delivery " + did);
            }
        }
        if (a.dedupe != "none" && published != by_key.size()) {
            violation("published deliveries and sandbox posts differ in number",
                      a.dedupe + " mode: " + std::to_string(published) + " published, " +
                          std::to_string(by_key.size()) + " in the sandbox");
        }
        if (a.dedupe == "none" && sandbox[a.id].size() > t.deliveries.size()) {
            violation("the sandbox holds more posts than there are deliveries", a.dedupe + " mode");
        }
    }

    // ---- stop cleanly -----------------------------------------------------------------------
    std::vector<ServerRun*> running;
    if (server_) running.push_back(server_.get());
    for (auto& n : api_nodes_) running.push_back(n.get());
    for (auto& n : workers_) running.push_back(n.get());
    for (auto* n : running) n->Signal(SIGTERM);
    for (auto* n : running) {
        const auto term = n->WaitExit(milliseconds(40000));
        EXPECT_TRUE(term.has_value()) << "a node did not stop within 40 s of SIGTERM";
        if (term) {
            EXPECT_EQ(*term, 0) << Tail(n->Log(), 4000);
        }
        logs += n->Log();
    }
    const auto ended = SteadyClock::now();

    // The kills must have hit publishes in flight in every mode, and some after the sandbox had
    // stored the post but before Herald heard back, or the run proved little.
    const size_t reconciled = CountOf(logs, "event=reconciled_by_lookup");
    for (const auto& a : accounts_) {
        const auto& t = tally[a.id];
        // In flight at a kill: none mode leaves it unconfirmed; the others send it again (or
        // find it) on a later attempt.
        const auto unconfirmed = t.by_status.find("unconfirmed");
        const size_t hit = a.dedupe != "none"                 ? t.resent_after_kill
                           : unconfirmed != t.by_status.end() ? unconfirmed->second
                                                              : 0;
        if (hit == 0) violation("no kill landed while a publish was in flight", a.dedupe + " mode");
        // Idempotent mode dedupes silently; it shares every batch (one store transaction) with
        // the other two, whose outcomes show the window was hit.
        const size_t after_store = a.dedupe == "lookup" ? reconciled
                                   : a.dedupe == "none" ? t.unconfirmed_in_sandbox
                                                        : 1;
        if (after_store == 0) {
            violation("no kill landed after the sandbox stored a post and before Herald recorded it",
                      a.dedupe + " mode");
        }
    }

    // ---- report -----------------------------------------------------------------------------
    auto secs = [](SteadyClock::duration d) {
        std::ostringstream o;
        o.precision(1);
        o << std::fixed << std::chrono::duration<double>(d).count() << "s";
        return o.str();
    };
    std::ostringstream summary;
    summary << "crash-test: seed=" << seed << " kills=" << kills << " posts=" << creation_.created.size() << " (+"
            << created_without_answer << " created without an answer; " << creation_.unanswered.size()
            << " creates unanswered, " << creation_.refused.size() << " refused)"
            << " duration=" << secs(ended - started) << " (create+kill " << secs(created_at - started) << ", drain "
            << secs(drained_at - created_at) << ")";
    for (const auto& a : accounts_) {
        const auto& t = tally[a.id];
        summary << " | " << a.dedupe << ":";
        for (const auto& [status, n] : t.by_status) summary << " " << status << "=" << n;
        summary << " resent_after_kill=" << t.resent_after_kill << " sandbox=" << sandbox_count[a.id];
        if (a.dedupe == "none") summary << " (unconfirmed_in_sandbox=" << t.unconfirmed_in_sandbox << ")";
    }
    summary << " | topology=" << GetParam() << " rescued=" << CountOf(logs, "event=rescued_from_previous_run")
            << " lease_expired=" << CountOf(logs, "event=lease_expired") << " reconciled_by_lookup=" << reconciled;
    std::cout << summary.str() << "\n";

    if (!still.empty()) {
        std::string s;
        for (const auto& [status, n] : still) s += " " + status + "=" + std::to_string(n);
        ADD_FAILURE() << "the queue did not drain within " << kDrainDeadline.count() << " s; still (first page):" << s;
    }
    for (const auto& [kind, examples] : violations) {
        std::string list;
        for (const auto& e : examples) list += "\n  " + e;
        ADD_FAILURE() << kind << ":" << list;
    }
    if (!violations.empty() || !still.empty()) {
        std::cout << "---- errors logged by the server (all runs) ----\n" << Complaints(logs, 40);
    }
}

INSTANTIATE_TEST_SUITE_P(On, CrashRecovery, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace herald::testing
