#include "storage/postgres/pg_bus.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_set>

namespace herald::storage::postgres {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A NOTIFY payload must stay under 8,000 bytes; events are packed into messages up to this.
constexpr size_t kMessageBytes = 7000;
// Events wait this long for company before they are sent: one NOTIFY for a burst.
constexpr auto kBatchDelay = 10ms;
// How often a node says which topics it has listeners for, and reads the others'.
constexpr auto kPresenceEvery = 2s;
constexpr int64_t kPresenceTtlMs = 10'000;

constexpr const char* kQueueChannel = "herald_queue";
constexpr const char* kEventsChannel = "herald_events";

constexpr PgSql kNotify{"bus_notify", "SELECT pg_notify($1, $2)"};
constexpr PgSql kOutboxInsert{"bus_outbox_insert",
                              "INSERT INTO event_outbox(payload, created_at) VALUES ($1, $2) RETURNING id"};
constexpr PgSql kOutboxRead{"bus_outbox_read", "SELECT payload FROM event_outbox WHERE id = ANY($1::bigint[])"};
constexpr PgSql kOutboxTrim{"bus_outbox_trim", "DELETE FROM event_outbox WHERE created_at < $1"};
constexpr PgSql kWatchUpsert{"bus_watch_upsert",
                             "INSERT INTO event_watchers(node_id, topic, expires_at) "
                             "SELECT $1, t, $3 FROM unnest($2::text[]) AS t "
                             "ON CONFLICT (node_id, topic) DO UPDATE SET expires_at = excluded.expires_at"};
constexpr PgSql kWatchDropOthers{"bus_watch_drop",
                                 "DELETE FROM event_watchers WHERE (node_id = $1 AND NOT (topic = ANY($2::text[]))) "
                                 "OR expires_at < $3"};
constexpr PgSql kWatchRemote{"bus_watch_remote",
                             "SELECT DISTINCT topic FROM event_watchers WHERE node_id <> $1 AND expires_at >= $2"};

int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string NewNodeId() {
    std::random_device rd;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
    return buf;
}

}  // namespace

PgBus::PgBus(std::string url) : url_(std::move(url)), node_(NewNodeId()) {
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

PgBus::~PgBus() {
    Stop();
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

void PgBus::Start(Hooks hooks) {
    hooks_ = std::move(hooks);
    stop_ = false;
    thread_ = std::thread([this] { Run(); });
}

void PgBus::Stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    Kick();
    thread_.join();
}

void PgBus::Kick() {
    const uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
}

void PgBus::Publish(const std::string& topic, const std::string& text) {
    if (!RemoteListens(topic)) return;
    bool first = false;
    {
        std::lock_guard lock(mu_);
        // Unbounded growth while the database is away would only end in an OOM: past this
        // many, the oldest live events are dropped (clients reload on reconnect anyway).
        if (outbox_.size() >= 100'000) outbox_.erase(outbox_.begin());
        first = outbox_.empty();
        outbox_.emplace_back(topic, text);
    }
    if (first) Kick();
}

bool PgBus::RemoteListens(const std::string& topic) const {
    std::lock_guard lock(mu_);
    return remote_topics_.count(topic) > 0;
}

void PgBus::Run() {
    auto backoff = 100ms;
    while (!stop_) {
        auto c = PgConn::Open(url_);
        if (!c) {
            spdlog::warn("event=bus_connect_failed retry_in_ms={} error=\"{}\"", backoff.count(), c.error().message);
            WaitFor(backoff);
            backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5s);
            continue;
        }
        backoff = 100ms;
        try {
            (*c)->Run("LISTEN herald_queue; LISTEN herald_events");
            if (hooks_.connected) hooks_.connected(true);
            // Whatever was notified while this node was not listening is lost: look now.
            if (hooks_.wake) hooks_.wake();
            spdlog::info("event=bus_listening node={}", node_);
            Serve(**c);
        } catch (const PgError& e) {
            spdlog::warn("event=bus_lost error=\"{}\"", e.what());
        }
        if (hooks_.connected) hooks_.connected(false);
    }
}

void PgBus::WaitFor(std::chrono::milliseconds d) {
    pollfd p{wake_fd_, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(d.count()));
    uint64_t drained = 0;
    [[maybe_unused]] const auto n = ::read(wake_fd_, &drained, sizeof drained);
}

void PgBus::Serve(PgConn& c) {
    pg_conn* raw = c.raw();
    auto next_presence = Clock::now();
    // When the events waiting now go out; max: none waiting.
    auto flush_at = Clock::time_point::max();
    while (!stop_) {
        const auto now = Clock::now();
        if (now >= next_presence) {
            RefreshPresence(c);
            next_presence = now + kPresenceEvery;
        }
        bool pending = false;
        {
            std::lock_guard lock(mu_);
            pending = !outbox_.empty();
        }
        if (pending && flush_at == Clock::time_point::max()) flush_at = now + kBatchDelay;
        if (now >= flush_at) {
            Flush(c);
            flush_at = Clock::time_point::max();
            continue;
        }
        const auto until = std::min(next_presence, flush_at);
        const auto wait = std::max<int64_t>(
            0, std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count() + 1);
        pollfd fds[2] = {{PQsocket(raw), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        if (::poll(fds, 2, static_cast<int>(wait)) < 0 && errno != EINTR) throw PgError("poll failed", "");
        if (fds[1].revents & POLLIN) {
            uint64_t drained = 0;
            [[maybe_unused]] const auto n = ::read(wake_fd_, &drained, sizeof drained);
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (PQconsumeInput(raw) == 0) throw PgError(std::string("lost: ") + PQerrorMessage(raw), "");
        }
        bool wake = false;
        std::vector<std::string> messages;
        while (PGnotify* n = PQnotifies(raw)) {
            if (std::string_view(n->relname) == kQueueChannel) {
                wake = true;
            } else {
                messages.emplace_back(n->extra);
            }
            PQfreemem(n);
        }
        if (wake && hooks_.wake) hooks_.wake();
        for (const auto& m : messages) Receive(c, m);
        if (PQstatus(raw) != CONNECTION_OK) throw PgError("connection lost", "");
    }
}

void PgBus::RefreshPresence(PgConn& c) {
    std::vector<std::string> local = hooks_.local_topics ? hooks_.local_topics() : std::vector<std::string>{};
    const int64_t now = NowMs();
    ArrayParam topics;
    for (const auto& t : local) topics.Add(t);
    const std::string array = topics.Take();
    if (!local.empty()) c.Exec(kWatchUpsert, Params().Add(node_).Add(array).Add(now + kPresenceTtlMs));
    c.Exec(kWatchDropOthers, Params().Add(node_).Add(array).Add(now));
    c.Exec(kOutboxTrim, Params().Add(now - 60'000));
    auto r = c.Exec(kWatchRemote, Params().Add(node_).Add(now));
    std::unordered_set<std::string> remote;
    for (int i = 0; i < r.rows(); ++i) remote.insert(r.Text(i, 0));
    std::lock_guard lock(mu_);
    remote_topics_ = std::move(remote);
}

void PgBus::Flush(PgConn& c) {
    std::vector<std::pair<std::string, std::string>> batch;
    {
        std::lock_guard lock(mu_);
        batch.swap(outbox_);
    }
    nlohmann::json events = nlohmann::json::array();
    size_t bytes = 0;
    auto send = [&] {
        if (events.empty()) return;
        c.Exec(kNotify, Params().Add(kEventsChannel).Add(nlohmann::json{{"n", node_}, {"e", events}}.dump()));
        events = nlohmann::json::array();
        bytes = 0;
    };
    for (auto& [topic, text] : batch) {
        const size_t size = topic.size() + text.size() + 8;
        if (size > kMessageBytes) {
            // Too big for a notification: it waits in a table, and the message names it.
            auto r = c.Exec(kOutboxInsert, Params().Add(nlohmann::json::array({topic, text}).dump()).Add(NowMs()));
            c.Exec(kNotify, Params()
                                .Add(kEventsChannel)
                                .Add(nlohmann::json{{"n", node_}, {"r", nlohmann::json::array({r.Int(0, 0)})}}.dump()));
            continue;
        }
        if (bytes + size > kMessageBytes) send();
        events.push_back(nlohmann::json::array({std::move(topic), std::move(text)}));
        bytes += size;
    }
    send();
}

void PgBus::Receive(PgConn& c, const std::string& message) {
    auto m = nlohmann::json::parse(message, nullptr, false);
    if (!m.is_object() || m.value("n", "") == node_ || !hooks_.deliver) return;  // our own, or not ours
    if (auto e = m.find("e"); e != m.end() && e->is_array()) {
        for (const auto& item : *e) {
            if (item.is_array() && item.size() == 2 && item[0].is_string() && item[1].is_string()) {
                hooks_.deliver(item[0].get<std::string>(), item[1].get<std::string>());
            }
        }
    }
    if (auto refs = m.find("r"); refs != m.end() && refs->is_array()) {
        ArrayParam ids;
        for (const auto& id : *refs) {
            if (id.is_number_integer()) ids.Add(id.get<int64_t>());
        }
        if (ids.empty()) return;
        auto r = c.Exec(kOutboxRead, Params().Add(ids.Take()));
        for (int i = 0; i < r.rows(); ++i) {
            auto item = nlohmann::json::parse(r.View(i, 0), nullptr, false);
            if (item.is_array() && item.size() == 2 && item[0].is_string() && item[1].is_string()) {
                hooks_.deliver(item[0].get<std::string>(), item[1].get<std::string>());
            }
        }
    }
}

}  // namespace herald::storage::postgres
