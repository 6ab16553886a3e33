#include "auth/passwords.hpp"

#include <sodium.h>

#include <stdexcept>
#include <string>

#include "auth/sodium_util.hpp"

namespace herald::auth {

core::Status CheckPasswordPolicy(std::string_view password) {
    if (password.size() < kMinPasswordBytes) {
        return core::FieldError("password", "min_length",
                                "password must be at least " + std::to_string(kMinPasswordBytes) + " bytes long");
    }
    if (password.size() > kMaxPasswordBytes) {
        return core::FieldError("password", "max_length",
                                "password must be at most " + std::to_string(kMaxPasswordBytes) + " bytes long");
    }
    return {};
}

std::string HashPassword(std::string_view password) {
    detail::EnsureSodium();
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(hash, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        throw std::runtime_error("password hashing failed: out of memory");
    }
    return std::string(hash);
}

bool VerifyPassword(std::string_view password, const std::string& stored_hash) {
    detail::EnsureSodium();
    // No accepted password is longer than the policy allows, so skip the expensive hash for junk input.
    if (password.size() > kMaxPasswordBytes) {
        return false;
    }
    // libsodium reads the hash as a C string of at most crypto_pwhash_STRBYTES including the NUL.
    if (stored_hash.empty() || stored_hash.size() >= crypto_pwhash_STRBYTES ||
        stored_hash.find('\0') != std::string::npos) {
        return false;
    }
    return crypto_pwhash_str_verify(stored_hash.c_str(), password.data(), password.size()) == 0;
}

}  // namespace herald::auth
