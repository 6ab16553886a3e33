#include "core/ids.hpp"

#include <cstdio>
#include <random>

namespace herald::core {

std::string NewId(TimePoint now) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    const auto ms = static_cast<unsigned long long>(ToUnixMillis(now)) & 0xffffffffffffULL;
    const auto rnd = rng() & 0xffffffffffffffULL;
    char buf[27];
    std::snprintf(buf, sizeof buf, "%012llx%014llx", ms, static_cast<unsigned long long>(rnd));
    return std::string(buf, 26);
}

bool IsId(std::string_view s) {
    return s.size() == 26 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace herald::core
