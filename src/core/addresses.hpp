#pragma once

#include <sys/socket.h>

#include <string>

namespace herald::core {

/// Whether `address` (an IPv4 or IPv6 literal) is one a URL from a user may not reach:
/// loopback, private, link-local (cloud metadata at 169.254.169.254), carrier-grade NAT,
/// multicast, reserved and documentation ranges, and IPv6 forms that embed such an IPv4.
/// Anything that is not an IP literal is blocked too.
bool IsBlockedAddress(const std::string& address);

/// The same for a socket address about to be connected (libcurl's open-socket callback, after
/// DNS resolution, so a name cannot resolve past the check). `where` gets "ip:port" (IPv6
/// without brackets), for allow-lists and messages; empty for a family other than IP.
bool IsBlockedSocketAddress(const sockaddr* address, std::string* where);

}  // namespace herald::core
