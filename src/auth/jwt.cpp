#include "auth/jwt.hpp"

#include <sodium.h>

#include <array>
#include <chrono>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "auth/sodium_util.hpp"

namespace herald::auth {
namespace {

using core::ErrorCode;
using core::Fail;
using detail::Base64Variant;

constexpr std::string_view kHeaderJson = R"({"alg":"HS256","typ":"JWT"})";
// Tolerates clocks of other replicas running a little ahead of ours.
constexpr int64_t kMaxIssuedAtSkewSeconds = 60;

static_assert(sizeof(SecretKey) == crypto_auth_hmacsha256_KEYBYTES);

tl::unexpected<core::Error> Invalid(std::string message = "access token invalid") {
    return Fail(ErrorCode::kUnauthenticated, std::move(message));
}

std::string EncodePart(std::string_view bytes) {
    return detail::EncodeBase64({reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()},
                                Base64Variant::kUrlSafeNoPadding);
}

std::optional<nlohmann::json> DecodeJsonObject(std::string_view part) {
    const auto bytes = detail::DecodeBase64(part, Base64Variant::kUrlSafeNoPadding);
    if (!bytes) {
        return std::nullopt;
    }
    auto json = nlohmann::json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) {
        return std::nullopt;
    }
    return json;
}

std::optional<int64_t> GetInt64(const nlohmann::json& object, const char* name) {
    const auto it = object.find(name);
    if (it == object.end() || !it->is_number_integer()) {
        return std::nullopt;
    }
    if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return std::nullopt;
    }
    return it->get<int64_t>();
}

std::optional<std::string> GetString(const nlohmann::json& object, const char* name) {
    const auto it = object.find(name);
    if (it == object.end() || !it->is_string()) {
        return std::nullopt;
    }
    return it->get<std::string>();
}

}  // namespace

JwtSigner::JwtSigner(const SecretKey& key) : key_(key) { detail::EnsureSodium(); }

JwtSigner::~JwtSigner() { sodium_memzero(key_.data(), key_.size()); }

std::string JwtSigner::Sign(const AccessClaims& claims) const {
    // ordered_json keeps the conventional claim order, which makes tokens easier to read when debugging.
    const nlohmann::ordered_json payload = {
        {"sub", claims.user_id},
        {"ws", claims.workspace_id},
        {"iat", claims.issued_at},
        {"exp", claims.expires_at},
    };
    std::string token = EncodePart(kHeaderJson) + "." + EncodePart(payload.dump());
    std::array<unsigned char, crypto_auth_hmacsha256_BYTES> mac;
    crypto_auth_hmacsha256(mac.data(), reinterpret_cast<const unsigned char*>(token.data()), token.size(), key_.data());
    token += ".";
    token += detail::EncodeBase64(mac, Base64Variant::kUrlSafeNoPadding);
    return token;
}

core::Result<AccessClaims> JwtSigner::Verify(std::string_view token, core::TimePoint now) const {
    const size_t first_dot = token.find('.');
    if (first_dot == std::string_view::npos) {
        return Invalid();
    }
    const size_t second_dot = token.find('.', first_dot + 1);
    if (second_dot == std::string_view::npos || token.find('.', second_dot + 1) != std::string_view::npos) {
        return Invalid();
    }
    const std::string_view header_part = token.substr(0, first_dot);
    const std::string_view payload_part = token.substr(first_dot + 1, second_dot - first_dot - 1);
    const std::string_view signature_part = token.substr(second_dot + 1);

    // The algorithm is fixed by us, not chosen by the token: this is what defeats "alg":"none" and
    // algorithm-confusion attacks.
    const auto header = DecodeJsonObject(header_part);
    if (!header) {
        return Invalid();
    }
    const auto alg = GetString(*header, "alg");
    if (!alg || *alg != "HS256") {
        return Invalid();
    }

    const auto signature = detail::DecodeBase64(signature_part, Base64Variant::kUrlSafeNoPadding);
    if (!signature || signature->size() != crypto_auth_hmacsha256_BYTES) {
        return Invalid();
    }
    const std::string_view signing_input = token.substr(0, second_dot);
    if (crypto_auth_hmacsha256_verify(reinterpret_cast<const unsigned char*>(signature->data()),
                                      reinterpret_cast<const unsigned char*>(signing_input.data()),
                                      signing_input.size(), key_.data()) != 0) {
        return Invalid();
    }

    const auto payload = DecodeJsonObject(payload_part);
    if (!payload) {
        return Invalid();
    }
    auto user_id = GetString(*payload, "sub");
    auto workspace_id = GetString(*payload, "ws");
    const auto issued_at = GetInt64(*payload, "iat");
    const auto expires_at = GetInt64(*payload, "exp");
    if (!user_id || !workspace_id || !issued_at || !expires_at) {
        return Invalid();
    }

    const int64_t now_seconds = std::chrono::floor<std::chrono::seconds>(now).time_since_epoch().count();
    if (*expires_at <= now_seconds) {
        return Invalid("access token expired");
    }
    if (*issued_at > now_seconds + kMaxIssuedAtSkewSeconds) {
        return Invalid("access token issued in the future");
    }
    return AccessClaims{std::move(*user_id), std::move(*workspace_id), *issued_at, *expires_at};
}

}  // namespace herald::auth
