#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "auth/secret_key.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"

namespace herald::auth {

/// What an access token asserts. Times are unix seconds.
struct AccessClaims {
    std::string user_id;       ///< JWT "sub"
    std::string workspace_id;  ///< JWT "ws"
    int64_t issued_at = 0;     ///< JWT "iat"
    int64_t expires_at = 0;    ///< JWT "exp"
};

/// Issues and checks short-lived HS256 JWT access tokens. Only HS256 is ever accepted, whatever the
/// token's header claims. Construct it with DeriveKey(master, kJwtSubkey, kKdfContext).
class JwtSigner {
  public:
    explicit JwtSigner(const SecretKey& key);
    ~JwtSigner();
    JwtSigner(const JwtSigner&) = default;
    JwtSigner& operator=(const JwtSigner&) = default;

    /// Returns header.payload.signature, each part base64url without padding.
    std::string Sign(const AccessClaims& claims) const;

    /// Checks the signature (constant time) before reading any claim, then that the token is not
    /// expired at `now` and not issued more than 60 s in the future. Every failure is kUnauthenticated.
    core::Result<AccessClaims> Verify(std::string_view token, core::TimePoint now) const;

  private:
    SecretKey key_;
};

}  // namespace herald::auth
