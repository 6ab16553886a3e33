#include "auth/tokens.hpp"

#include <sodium.h>

#include <array>

#include "auth/sodium_util.hpp"

namespace herald::auth {

std::string NewOpaqueToken(std::string_view prefix) {
    detail::EnsureSodium();
    std::array<unsigned char, 32> random;
    randombytes_buf(random.data(), random.size());
    std::string token(prefix);
    token += detail::EncodeBase64(random, detail::Base64Variant::kUrlSafeNoPadding);
    sodium_memzero(random.data(), random.size());
    return token;
}

std::string HashToken(std::string_view token) {
    detail::EnsureSodium();
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest;
    crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(token.data()), token.size());
    std::array<char, crypto_hash_sha256_BYTES * 2 + 1> hex;
    sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
    return std::string(hex.data(), hex.size() - 1);
}

std::string PkceChallenge(std::string_view verifier) {
    detail::EnsureSodium();
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest;
    crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size());
    return detail::EncodeBase64(digest, detail::Base64Variant::kUrlSafeNoPadding);
}

}  // namespace herald::auth
