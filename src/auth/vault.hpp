#pragma once

#include <string>
#include <string_view>

#include "auth/secret_key.hpp"
#include "core/error.hpp"

namespace herald::auth {

/// Encrypts platform account credentials at rest (XSalsa20-Poly1305, fresh random nonce per seal).
/// Construct it with DeriveKey(master, kVaultSubkey, kKdfContext), never with the master key itself.
class TokenVault {
  public:
    explicit TokenVault(const SecretKey& key);
    ~TokenVault();
    TokenVault(const TokenVault&) = default;
    TokenVault& operator=(const TokenVault&) = default;

    /// Encrypts plaintext into printable text: "v1:" + base64(nonce || ciphertext).
    std::string Seal(std::string_view plaintext) const;

    /// Decrypts what Seal produced. Fails with kFailedPrecondition on an unknown version, malformed
    /// text, or authentication failure (wrong key or tampered data); messages never contain plaintext.
    core::Result<std::string> Open(std::string_view sealed) const;

  private:
    SecretKey key_;
};

}  // namespace herald::auth
