#include "auth/vault.hpp"

#include <sodium.h>

#include "auth/sodium_util.hpp"

namespace herald::auth {
namespace {

constexpr std::string_view kVersionPrefix = "v1:";

static_assert(sizeof(SecretKey) == crypto_secretbox_KEYBYTES);

}  // namespace

TokenVault::TokenVault(const SecretKey& key) : key_(key) { detail::EnsureSodium(); }

TokenVault::~TokenVault() { sodium_memzero(key_.data(), key_.size()); }

std::string TokenVault::Seal(std::string_view plaintext) const {
    std::string box(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size(), '\0');
    auto* nonce = reinterpret_cast<unsigned char*>(box.data());
    randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES, reinterpret_cast<const unsigned char*>(plaintext.data()),
                          plaintext.size(), nonce, key_.data());
    return std::string(kVersionPrefix) + detail::EncodeBase64({nonce, box.size()}, detail::Base64Variant::kStandard);
}

core::Result<std::string> TokenVault::Open(std::string_view sealed) const {
    using core::ErrorCode;
    using core::Fail;
    if (!sealed.starts_with(kVersionPrefix)) {
        return Fail(ErrorCode::kFailedPrecondition, "stored credential has an unknown format (expected \"v1:\")");
    }
    const auto box = detail::DecodeBase64(sealed.substr(kVersionPrefix.size()), detail::Base64Variant::kStandard);
    if (!box) {
        return Fail(ErrorCode::kFailedPrecondition, "stored credential is corrupted: not valid base64");
    }
    if (box->size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
        return Fail(ErrorCode::kFailedPrecondition, "stored credential is corrupted: too short");
    }
    const auto* nonce = reinterpret_cast<const unsigned char*>(box->data());
    const auto* ciphertext = nonce + crypto_secretbox_NONCEBYTES;
    const size_t ciphertext_len = box->size() - crypto_secretbox_NONCEBYTES;
    std::string plaintext(ciphertext_len - crypto_secretbox_MACBYTES, '\0');
    if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plaintext.data()), ciphertext, ciphertext_len,
                                   nonce, key_.data()) != 0) {
        return Fail(ErrorCode::kFailedPrecondition,
                    "stored credential cannot be decrypted: wrong secret key or corrupted data");
    }
    return plaintext;
}

}  // namespace herald::auth
