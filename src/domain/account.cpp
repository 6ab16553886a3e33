#include "domain/account.hpp"

namespace herald::domain {

std::string_view ToString(Role r) {
    switch (r) {
        case Role::kViewer:
            return "viewer";
        case Role::kEditor:
            return "editor";
        case Role::kAdmin:
            return "admin";
        case Role::kOwner:
            return "owner";
    }
    return "viewer";
}

std::optional<Role> ParseRole(std::string_view s) {
    for (Role r : {Role::kViewer, Role::kEditor, Role::kAdmin, Role::kOwner}) {
        if (ToString(r) == s) return r;
    }
    return std::nullopt;
}

}  // namespace herald::domain
