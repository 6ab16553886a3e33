#include "auth/url_signer.hpp"

#include <sodium.h>

#include "auth/sodium_util.hpp"

namespace herald::auth {

UrlSigner::UrlSigner(const SecretKey& key) : key_(key) { detail::EnsureSodium(); }

std::string UrlSigner::Sign(std::string_view message) const {
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key_.data(), key_.size());
    crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(message.data()), message.size());
    crypto_auth_hmacsha256_final(&st, mac);
    char hex[sizeof mac * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    return hex;
}

bool UrlSigner::Verify(std::string_view message, std::string_view signature) const {
    const std::string expected = Sign(message);
    if (signature.size() != expected.size()) return false;
    return sodium_memcmp(expected.data(), signature.data(), expected.size()) == 0;
}

}  // namespace herald::auth
