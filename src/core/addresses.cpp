#include "core/addresses.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>

namespace herald::core {
namespace {

bool BlockedV4(uint32_t a) {  // host byte order
    auto in = [a](uint32_t net, int bits) { return (a >> (32 - bits)) == (net >> (32 - bits)); };
    return in(0x00000000, 8) ||   // "this" network
           in(0x0A000000, 8) ||   // 10/8
           in(0x64400000, 10) ||  // 100.64/10, carrier-grade NAT
           in(0x7F000000, 8) ||   // loopback
           in(0xA9FE0000, 16) ||  // link-local, cloud metadata
           in(0xAC100000, 12) ||  // 172.16/12
           in(0xC0000000, 24) ||  // IETF protocol assignments
           in(0xC0000200, 24) ||  // TEST-NET-1
           in(0xC0A80000, 16) ||  // 192.168/16
           in(0xC6120000, 15) ||  // benchmarking
           in(0xC6336400, 24) ||  // TEST-NET-2
           in(0xCB007100, 24) ||  // TEST-NET-3
           in(0xE0000000, 4) ||   // multicast
           in(0xF0000000, 4);     // reserved, broadcast
}

bool BlockedV6(const unsigned char* b) {
    static const unsigned char zero[16] = {};
    if (std::memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1)) return true;  // :: and ::1
    const bool v4_mapped = std::memcmp(b, zero, 10) == 0 && b[10] == 0xff && b[11] == 0xff;
    const bool v4_compat = std::memcmp(b, zero, 12) == 0;
    const bool nat64 = b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b &&
                       std::memcmp(b + 4, zero, 8) == 0;  // 64:ff9b::/96
    if (v4_mapped || v4_compat || nat64) {
        const uint32_t v4 = (uint32_t{b[12]} << 24) | (uint32_t{b[13]} << 16) | (uint32_t{b[14]} << 8) | b[15];
        return BlockedV4(v4);
    }
    return (b[0] & 0xfe) == 0xfc ||                                         // fc00::/7, unique local
           (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||                       // fe80::/10, link-local
           b[0] == 0xff ||                                                  // multicast
           (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8);  // documentation
}

}  // namespace

bool IsBlockedAddress(const std::string& address) {
    in_addr v4{};
    in6_addr v6{};
    if (inet_pton(AF_INET, address.c_str(), &v4) == 1) return BlockedV4(ntohl(v4.s_addr));
    if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) return BlockedV6(v6.s6_addr);
    return true;
}

bool IsBlockedSocketAddress(const sockaddr* address, std::string* where) {
    char ip[INET6_ADDRSTRLEN] = {};
    where->clear();
    if (address->sa_family == AF_INET) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(address);
        inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
        *where = std::string(ip) + ":" + std::to_string(ntohs(sin->sin_port));
        return BlockedV4(ntohl(sin->sin_addr.s_addr));
    }
    if (address->sa_family == AF_INET6) {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(address);
        inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof ip);
        *where = std::string(ip) + ":" + std::to_string(ntohs(sin6->sin6_port));
        return BlockedV6(sin6->sin6_addr.s6_addr);
    }
    return true;
}

}  // namespace herald::core
