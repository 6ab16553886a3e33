#include "auth/sodium_util.hpp"

#include <sodium.h>

#include <mutex>
#include <stdexcept>

namespace herald::auth::detail {
namespace {

int ToSodiumVariant(Base64Variant variant) {
    switch (variant) {
        case Base64Variant::kStandard:
            return sodium_base64_VARIANT_ORIGINAL;
        case Base64Variant::kUrlSafeNoPadding:
            return sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    }
    throw std::logic_error("unknown base64 variant");
}

}  // namespace

void EnsureSodium() {
    static std::once_flag once;
    std::call_once(once, [] {
        // 1 means another component initialised it already, which is just as good.
        if (sodium_init() < 0) {
            throw std::runtime_error("libsodium failed to initialise");
        }
    });
}

std::string EncodeBase64(std::span<const unsigned char> bytes, Base64Variant variant) {
    const int sodium_variant = ToSodiumVariant(variant);
    // The reported length includes the terminating NUL that sodium_bin2base64 writes.
    std::string out(sodium_base64_encoded_len(bytes.size(), sodium_variant), '\0');
    sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), sodium_variant);
    out.resize(out.size() - 1);
    return out;
}

std::optional<std::string> DecodeBase64(std::string_view text, Base64Variant variant) {
    std::string out(text.size() / 4 * 3 + 3, '\0');
    size_t out_len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                          &out_len, &end, ToSodiumVariant(variant)) != 0 ||
        end != text.data() + text.size()) {
        return std::nullopt;
    }
    out.resize(out_len);
    return out;
}

}  // namespace herald::auth::detail
