#pragma once

// Internal to herald_auth: the one place that initialises libsodium and wraps its base64 codec.

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace herald::auth::detail {

/// Runs sodium_init() exactly once per process; throws std::runtime_error if libsodium cannot start.
void EnsureSodium();

enum class Base64Variant {
    kStandard,          ///< RFC 4648 alphabet with '=' padding
    kUrlSafeNoPadding,  ///< RFC 4648 URL-safe alphabet, no padding (JWT, opaque tokens)
};

/// Encodes bytes as base64 in the given variant.
std::string EncodeBase64(std::span<const unsigned char> bytes, Base64Variant variant);

/// Decodes base64; std::nullopt unless the whole input is valid, canonical base64 of that variant.
std::optional<std::string> DecodeBase64(std::string_view text, Base64Variant variant);

}  // namespace herald::auth::detail
