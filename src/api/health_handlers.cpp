#include "api/api.hpp"

namespace herald::api {

extern const std::string_view kOpenApiJson;

net::Response Api::Healthz(const net::Request&, const Params&) { return JsonResponse(200, {{"status", "ok"}}); }

net::Response Api::Readyz(const net::Request&, const Params&) {
    nlohmann::json body;
    bool ready = true;
    auto ping = deps_.store.Ping();
    body["database"] = ping ? "ok" : "unreachable";
    ready = ready && ping.has_value();
    if (deps_.dispatcher == nullptr) {
        // An API-only node (workers 0): other nodes publish; nothing here to wait for.
        body["scheduler"] = "none";
        body["status"] = ready ? "ready" : "not_ready";
        return JsonResponse(ready ? 200 : 503, body);
    }
    const bool scheduler_running = deps_.dispatcher->running();
    body["scheduler"] = scheduler_running ? "running" : "stopped";
    ready = ready && scheduler_running;
    if (ping) {
        const auto now = deps_.clock.Now();
        auto age = deps_.store.OldestDueAge(now);
        if (age) {
            // Claimed and waiting for a worker counts as waiting. For a platform that drops
            // repeats the claim already shows the delivery as publishing, so only the
            // dispatcher knows which of those have not started.
            if (auto waiting = deps_.dispatcher->OldestWaitingDue(); waiting && *waiting < now) {
                age = std::max(*age, std::chrono::duration_cast<core::Millis>(now - *waiting));
            }
        }
        if (age) {
            const double seconds = static_cast<double>(age->count()) / 1000.0;
            body["oldest_due_job_age_seconds"] = seconds;
            body["max_lag_seconds"] = deps_.ready_max_lag_seconds;
            // Due work that nobody picks up is the failure users feel; report it, don't hide it.
            if (seconds > static_cast<double>(deps_.ready_max_lag_seconds)) ready = false;
        } else {
            ready = false;
        }
    }
    body["status"] = ready ? "ready" : "not_ready";
    return JsonResponse(ready ? 200 : 503, body);
}

net::Response Api::OpenApi(const net::Request&, const Params&) {
    return net::Response{200, "application/json", std::string(kOpenApiJson), {}};
}

}  // namespace herald::api
