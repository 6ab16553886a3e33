#pragma once

#include <string>

#include "core/error.hpp"
#include "domain/account.hpp"

namespace herald::app {

/// Who is calling: every service method takes one and scopes its queries to its workspace.
struct Principal {
    std::string user_id;
    std::string workspace_id;
    domain::Role role = domain::Role::kViewer;
};

inline core::Status Require(const Principal& p, domain::Role need) {
    if (domain::RoleAtLeast(p.role, need)) return {};
    return core::Fail(
        core::ErrorCode::kPermissionDenied,
        "your role (" + std::string(domain::ToString(p.role)) + ") cannot do this; it needs " +
            std::string(domain::ToString(need)) + " or above",
        {{"role", std::string(domain::ToString(p.role))}, {"required", std::string(domain::ToString(need))}});
}

}  // namespace herald::app
