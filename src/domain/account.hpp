#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace herald::domain {

/// A connected social account. Credentials live only in the store, sealed by the token vault;
/// this value never carries them.
struct Account {
    std::string id;
    std::string workspace_id;
    std::string platform;       ///< adapter name, e.g. "sandbox"
    std::string name;           ///< what the user calls it
    std::string settings_json;  ///< adapter-specific, non-secret settings (JSON object)
    bool has_credentials = false;
    core::TimePoint created_at{};
};

enum class Role { kViewer, kEditor, kAdmin, kOwner };

std::string_view ToString(Role r);
std::optional<Role> ParseRole(std::string_view s);

/// Roles are ordered: each can do what the ones below it can.
inline bool RoleAtLeast(Role have, Role need) { return static_cast<int>(have) >= static_cast<int>(need); }

struct User {
    std::string id;
    std::string email;
    std::string name;
    core::TimePoint created_at{};
};

struct Workspace {
    std::string id;
    std::string name;
    core::TimePoint created_at{};
};

struct Member {
    std::string user_id;
    std::string email;
    std::string name;
    Role role = Role::kViewer;
};

}  // namespace herald::domain
