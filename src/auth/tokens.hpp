#pragma once

#include <string>
#include <string_view>

namespace herald::auth {

/// Prefixes make leaked tokens recognisable (e.g. by secret scanners) and tell the two kinds apart.
inline constexpr std::string_view kRefreshTokenPrefix = "hrt_";
inline constexpr std::string_view kApiTokenPrefix = "hpat_";

/// A new random bearer token: prefix + base64url (no padding) of 32 random bytes.
std::string NewOpaqueToken(std::string_view prefix);

/// Lowercase hex SHA-256 of the token (64 characters). Stored instead of the token, so a database
/// leak does not leak usable tokens; the tokens are random enough that no salt or slow hash is needed.
std::string HashToken(std::string_view token);

/// The PKCE S256 code challenge of a code verifier (RFC 7636 §4.2): base64url, no padding, of
/// its SHA-256. NewOpaqueToken("") makes a suitable verifier (43 characters of the allowed set).
std::string PkceChallenge(std::string_view verifier);

}  // namespace herald::auth
