#pragma once

// libcurl's shared pieces. The guard every libcurl transfer to a user-given address goes through (media downloads,
// servers an account names): the address is checked as each connection opens, after DNS
// resolution and on every redirect, so a name cannot resolve past it. Header-only: only the
// libraries that link libcurl include it.

#include <curl/curl.h>
#include <sys/socket.h>

#include <mutex>
#include <set>
#include <string>

#include "core/addresses.hpp"

namespace herald::core {

/// curl_global_init, once per process, before the first transfer of any libcurl user.
inline void InitCurlOnce() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

/// CURLOPT_OPENSOCKETDATA for GuardedOpenSocket.
struct ConnectGuard {
    const std::set<std::string>* allowed = nullptr;  ///< "ip:port" let through although private
    std::string blocked;                             ///< the address refused, if one was
};

/// CURLOPT_OPENSOCKETFUNCTION: refuses private, loopback and link-local addresses (IsBlockedAddress)
/// unless allowed; the refused address is left in the guard for the error message.
inline curl_socket_t GuardedOpenSocket(void* clientp, curlsocktype purpose, curl_sockaddr* address) {
    auto* guard = static_cast<ConnectGuard*>(clientp);
    std::string where;
    const bool blocked = purpose != CURLSOCKTYPE_IPCXN || IsBlockedSocketAddress(&address->addr, &where);
    if (blocked && (guard->allowed == nullptr || !guard->allowed->count(where))) {
        guard->blocked = where.empty() ? "a non-IP address" : where.substr(0, where.rfind(':'));
        return CURL_SOCKET_BAD;
    }
    return ::socket(address->family, address->socktype, address->protocol);
}

}  // namespace herald::core
