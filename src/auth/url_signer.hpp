#pragma once

#include <string>
#include <string_view>

#include "auth/secret_key.hpp"

namespace herald::auth {

/// Signs and checks short messages (HMAC-SHA256), for links that work without a login until
/// they expire, such as the public URLs of media that platforms download. Construct it with
/// DeriveKey(master, kUrlSubkey, kKdfContext).
class UrlSigner {
  public:
    explicit UrlSigner(const SecretKey& key);
    /// 64 hex characters.
    std::string Sign(std::string_view message) const;
    /// In constant time.
    bool Verify(std::string_view message, std::string_view signature) const;

  private:
    SecretKey key_;
};

}  // namespace herald::auth
