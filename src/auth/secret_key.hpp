#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace herald::auth {

/// The server's master secret; every other key (vault, JWT) is derived from it with DeriveKey.
using SecretKey = std::array<unsigned char, 32>;

/// Subkey ids for DeriveKey. Never renumber: data sealed or signed under an id depends on it.
inline constexpr uint64_t kVaultSubkey = 1;
inline constexpr uint64_t kJwtSubkey = 2;
inline constexpr uint64_t kUrlSubkey = 3;

/// The KDF context: exactly 8 characters (the trailing NUL is not part of it).
inline constexpr char kKdfContext[] = "herald__";

/// Parses a key written as 64 hex characters or as standard base64 (padding optional) of exactly
/// 32 bytes, ignoring surrounding whitespace. Fails with kInvalidArgument; the message never
/// contains the input.
core::Result<SecretKey> ParseSecretKey(std::string_view text);

/// Returns the master key: parsed from `configured` when it is non-empty, otherwise read from
/// key_file_path, otherwise generated and written there (hex, mode 0600, never readable by others).
/// Fails with kInvalidArgument for an unparsable key and kFailedPrecondition when the file is
/// readable by group/others, its directory is missing, or it cannot be read or written.
core::Result<SecretKey> LoadOrCreateSecretKey(const std::string& configured, const std::string& key_file_path);

/// Derives an independent 32-byte subkey from master (crypto_kdf); context is 8 characters,
/// normally kKdfContext.
SecretKey DeriveKey(const SecretKey& master, uint64_t subkey_id, const char context[8]);

}  // namespace herald::auth
