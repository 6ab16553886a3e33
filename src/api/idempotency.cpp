// Idempotency-Key on POST: the first response to a request is stored and replayed to its
// retries, so a client that lost an answer (timeout, dropped connection) can send again without
// creating a second post, account or token.
//
// The key is reserved before the handler runs, so two copies of a request racing each other
// cannot both run: the second is told the first is still in progress. Only answers below 500
// are kept (429 aside); a 5xx or 429 drops the reservation (nothing was created) and the client may retry. If the
// server dies while the first request runs, the reservation stays: later copies are refused
// with an explanation rather than risk creating the thing twice.

#include <spdlog/spdlog.h>

#include "api/api.hpp"
#include "auth/tokens.hpp"

namespace herald::api {
namespace {

constexpr size_t kMaxKeyLength = 255;

bool ValidKey(const std::string& key) {
    if (key.empty() || key.size() > kMaxKeyLength) return false;
    for (unsigned char c : key) {
        if (c < 0x21 || c > 0x7e) return false;
    }
    return true;
}

}  // namespace

net::Response Api::WithIdempotency(const net::Request& r, const app::Principal& who,
                                   const std::function<net::Response()>& handler) {
    const std::string key = *r.Header("idempotency-key");
    if (!ValidKey(key)) {
        return ErrorResponse(core::Error{core::ErrorCode::kInvalidArgument,
                                         "Idempotency-Key must be 1 to 255 visible ASCII characters",
                                         {{"rule", "idempotency_key"}}});
    }
    app::IdempotencyRecord request{r.method, r.path, auth::HashToken(r.body), 0, "", deps_.clock.Now()};
    auto existing = deps_.store.ReserveIdempotencyKey(who.workspace_id, who.user_id, key, request);
    if (!existing) return ErrorResponse(existing.error());
    if (*existing) {
        const auto& first = **existing;
        if (first.method != request.method || first.path != request.path || first.body_hash != request.body_hash) {
            return ErrorResponse(core::Error{core::ErrorCode::kFailedPrecondition,
                                             "this Idempotency-Key was already used for a different request (" +
                                                 first.method + " " + first.path + "); use a new key for a new request",
                                             {{"rule", "idempotency_key_reuse"}}});
        }
        if (first.status == 0) {
            return ErrorResponse(core::Error{
                core::ErrorCode::kFailedPrecondition,
                "the first request with this Idempotency-Key has not finished (or the server stopped while it "
                "ran); check whether it took effect before sending it again with a new key",
                {{"rule", "idempotency_key_in_progress"}}});
        }
        net::Response replay{first.status, "application/json", first.response, {}};
        replay.headers.emplace_back("Idempotent-Replayed", "true");
        return replay;
    }
    net::Response resp;
    try {
        resp = handler();
    } catch (...) {
        (void)deps_.store.FinishIdempotencyKey(who.workspace_id, who.user_id, key, 0, "");
        throw;
    }
    const int keep = resp.status < 500 && resp.status != 429 ? resp.status : 0;
    if (auto ok = deps_.store.FinishIdempotencyKey(who.workspace_id, who.user_id, key, keep, resp.body); !ok) {
        // The request took effect; only its replay record is missing. Say so in the log, and
        // still answer: the client must not think it failed.
        spdlog::error("event=idempotency_record_failed request_id={} error=\"{}\"", r.request_id, ok.error().message);
    }
    return resp;
}

}  // namespace herald::api
