#pragma once

// Internal to the PostgreSQL store's .cpp files: the connection-per-call wrapper and small
// helpers they share.

#include <spdlog/spdlog.h>

#include <string>

#include "core/error.hpp"
#include "domain/post.hpp"
#include "storage/postgres/pg_store.hpp"

namespace herald::storage::postgres {

/// The connection the current thread uses inside a PgStore call, if any: the edit callbacks
/// of UpdatePost and DeletePost call back into the store on the same thread, and must use the
/// connection (and so the transaction) the outer call holds.
inline thread_local PgConn* tls_conn = nullptr;

/// A job, live or finished (pg_store_ops.cpp); `workspace_id` nullopt: any workspace.
std::optional<app::JobView> LoadJobView(PgConn& c, const std::optional<std::string>& workspace_id,
                                        const std::string& id);

inline std::string S(domain::DeliveryStatus s) { return std::string(domain::ToString(s)); }

template <typename Fn>
auto PgStore::WithConn(const char* op, Fn&& fn) -> decltype(fn(std::declval<PgConn&>())) {
    if (tls_conn != nullptr) return fn(*tls_conn);
    try {
        auto lease = pool_->Acquire();
        tls_conn = &*lease;
        struct Reset {
            ~Reset() { tls_conn = nullptr; }
        } reset;
        try {
            return fn(*lease);
        } catch (const PgError& e) {
            if (e.unique_violation()) {
                spdlog::warn("event=store_constraint op={} error=\"{}\"", op, e.what());
                return core::Fail(core::ErrorCode::kAlreadyExists, "that already exists");
            }
            throw;
        }
    } catch (const StoreError& e) {
        spdlog::error("event=store_error backend=postgres op={} error=\"{}\"", op, e.what());
        return core::Fail(core::ErrorCode::kUnavailable, "the database failed; try again");
    }
}

}  // namespace herald::storage::postgres
