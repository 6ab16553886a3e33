#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace herald::auth {

/// Password length bounds, counted in bytes of UTF-8. The upper bound keeps hashing cheap to refuse.
inline constexpr size_t kMinPasswordBytes = 8;
inline constexpr size_t kMaxPasswordBytes = 1024;

/// Checks a new password against the policy: kInvalidArgument with details
/// {"field": "password", "rule": "min_length" | "max_length"} when it is too short or too long.
core::Status CheckPasswordPolicy(std::string_view password);

/// Hashes a password with argon2id (interactive limits) into a self-describing "$argon2id$..." string.
/// Slow and memory-hungry by design: call it off the I/O threads. Throws std::runtime_error if the
/// memory cannot be allocated.
std::string HashPassword(std::string_view password);

/// True when password matches stored_hash; false on mismatch or a malformed hash. As slow as HashPassword.
bool VerifyPassword(std::string_view password, const std::string& stored_hash);

}  // namespace herald::auth
