#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "storage/postgres/pg.hpp"
#include "storage/store.hpp"

namespace herald::storage::postgres {

/// The cluster bus on PostgreSQL (storage::ClusterBus). One thread per process holds a
/// connection of its own that LISTENs on two channels:
/// - herald_queue: a trigger on jobs sends it when a statement leaves a job pending (created,
///   retried, rescued, resumed, requeued); the node wakes its scheduler. PostgreSQL folds the
///   notifications of one transaction into one, and the scheduler folds repeated wake-ups.
/// - herald_events: events for WebSocket clients of other nodes, packed into one NOTIFY per
///   burst (10 ms), sent only for topics another node has listeners for. Each node writes its
///   topics to event_watchers every 2 s (rows expire after 10 s, so a dead node's go away). An
///   event too big for a notification waits in event_outbox and the message names its row.
/// When the connection is lost the thread reconnects with backoff (0.1 s doubling to 5 s),
/// says so through Hooks::connected, and wakes the scheduler once listening again, since
/// whatever was notified in between is lost.
class PgBus final : public ClusterBus {
  public:
    explicit PgBus(std::string url);
    ~PgBus() override;
    void Start(Hooks hooks) override;
    void Stop() override;
    void Publish(const std::string& topic, const std::string& text) override;
    bool RemoteListens(const std::string& topic) const override;

  private:
    void Run();
    void Serve(PgConn& c);
    void RefreshPresence(PgConn& c);
    void Flush(PgConn& c);
    void Receive(PgConn& c, const std::string& message);
    void WaitFor(std::chrono::milliseconds d);
    void Kick();

    std::string url_;
    std::string node_;
    Hooks hooks_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    int wake_fd_ = -1;
    mutable std::mutex mu_;
    std::vector<std::pair<std::string, std::string>> outbox_;
    std::unordered_set<std::string> remote_topics_;
};

}  // namespace herald::storage::postgres
