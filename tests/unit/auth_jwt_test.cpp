#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "auth/jwt.hpp"

namespace herald::auth {
namespace {

using std::chrono::seconds;

constexpr int64_t kNow = 1'700'000'000;

core::TimePoint At(int64_t unix_seconds) { return core::FromUnixMillis(unix_seconds * 1000); }

SecretKey KeyFilledWith(unsigned char byte) {
    SecretKey key;
    key.fill(byte);
    return key;
}

AccessClaims Claims() { return AccessClaims{"user-1", "ws-1", kNow, kNow + 900}; }

// Hand-rolled token pieces, so the tests can build tokens the signer itself would never produce.
std::string B64Url(std::string_view bytes) {
    if (sodium_init() < 0) {
        ADD_FAILURE() << "sodium_init failed";
    }
    std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    out.resize(out.size() - 1);
    return out;
}

std::string HmacB64Url(std::string_view input, const SecretKey& key) {
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256(mac, reinterpret_cast<const unsigned char*>(input.data()), input.size(), key.data());
    return B64Url(std::string_view(reinterpret_cast<const char*>(mac), sizeof(mac)));
}

// A correctly HMAC-SHA256-signed token with arbitrary header and payload JSON.
std::string CraftToken(std::string_view header_json, std::string_view payload_json, const SecretKey& key) {
    const std::string signing_input = B64Url(header_json) + "." + B64Url(payload_json);
    return signing_input + "." + HmacB64Url(signing_input, key);
}

constexpr std::string_view kGoodPayload = R"({"sub":"user-1","ws":"ws-1","iat":1700000000,"exp":1700000900})";

void ExpectUnauthenticated(const core::Result<AccessClaims>& result, std::string_view what) {
    ASSERT_FALSE(result.has_value()) << "accepted: " << what;
    EXPECT_EQ(result.error().code, core::ErrorCode::kUnauthenticated) << what;
    EXPECT_FALSE(result.error().message.empty());
}

TEST(AuthJwt, SignThenVerifyReturnsTheClaims) {
    const JwtSigner signer(KeyFilledWith(1));
    const std::string token = signer.Sign(Claims());
    const auto claims = signer.Verify(token, At(kNow + 10));
    ASSERT_TRUE(claims.has_value()) << claims.error().message;
    EXPECT_EQ(claims->user_id, "user-1");
    EXPECT_EQ(claims->workspace_id, "ws-1");
    EXPECT_EQ(claims->issued_at, kNow);
    EXPECT_EQ(claims->expires_at, kNow + 900);
}

TEST(AuthJwt, SignedTokenHasTheExactHeaderAndNoPadding) {
    const std::string token = JwtSigner(KeyFilledWith(1)).Sign(Claims());
    EXPECT_TRUE(token.starts_with(B64Url(R"({"alg":"HS256","typ":"JWT"})") + ".")) << token;
    EXPECT_EQ(token.find('='), std::string::npos);
    EXPECT_EQ(std::count(token.begin(), token.end(), '.'), 2);
}

TEST(AuthJwt, HandCraftedHs256TokenIsAccepted) {
    // Guards the crafted-token tests below: they fail only because of what they change.
    const SecretKey key = KeyFilledWith(1);
    const auto claims =
        JwtSigner(key).Verify(CraftToken(R"({"alg":"HS256","typ":"JWT"})", kGoodPayload, key), At(kNow));
    ASSERT_TRUE(claims.has_value()) << claims.error().message;
    EXPECT_EQ(claims->user_id, "user-1");
}

TEST(AuthJwt, ExpiredTokenIsRejected) {
    const JwtSigner signer(KeyFilledWith(1));
    const std::string token = signer.Sign(Claims());
    EXPECT_TRUE(signer.Verify(token, At(kNow + 899)).has_value());
    const auto at_expiry = signer.Verify(token, At(kNow + 900));
    ExpectUnauthenticated(at_expiry, "token at exp");
    EXPECT_EQ(at_expiry.error().message, "access token expired");
    ExpectUnauthenticated(signer.Verify(token, At(kNow + 100'000)), "long expired token");
}

TEST(AuthJwt, TamperedPayloadIsRejected) {
    const JwtSigner signer(KeyFilledWith(1));
    const std::string token = signer.Sign(Claims());
    const size_t first_dot = token.find('.');
    const size_t second_dot = token.find('.', first_dot + 1);
    const std::string forged_payload = B64Url(R"({"sub":"admin","ws":"ws-1","iat":1700000000,"exp":1700000900})");
    const std::string forged =
        token.substr(0, first_dot + 1) + forged_payload + token.substr(second_dot);  // keeps the old signature
    ExpectUnauthenticated(signer.Verify(forged, At(kNow)), forged);
}

TEST(AuthJwt, TokenSignedWithAnotherKeyIsRejected) {
    const std::string token = JwtSigner(KeyFilledWith(2)).Sign(Claims());
    ExpectUnauthenticated(JwtSigner(KeyFilledWith(1)).Verify(token, At(kNow)), token);
}

TEST(AuthJwt, AlgorithmsOtherThanHs256AreRejected) {
    const SecretKey key = KeyFilledWith(1);
    const JwtSigner signer(key);
    for (std::string_view header :
         {R"({"alg":"none","typ":"JWT"})", R"({"alg":"HS512","typ":"JWT"})", R"({"alg":"hs256","typ":"JWT"})",
          R"({"typ":"JWT"})", R"({"alg":null})", R"(["HS256"])", R"("HS256")", "not json"}) {
        // Validly signed with HMAC-SHA256, so only the header can be the reason for rejection.
        ExpectUnauthenticated(signer.Verify(CraftToken(header, kGoodPayload, key), At(kNow)), header);
    }
    // The classic "alg":"none" token carries an empty signature.
    const std::string unsigned_token = B64Url(R"({"alg":"none","typ":"JWT"})") + "." + B64Url(kGoodPayload) + ".";
    ExpectUnauthenticated(signer.Verify(unsigned_token, At(kNow)), unsigned_token);
}

TEST(AuthJwt, MalformedTokensAreRejected) {
    const SecretKey key = KeyFilledWith(1);
    const JwtSigner signer(key);
    const std::string good = signer.Sign(Claims());
    for (const std::string& bad : {std::string(""), std::string("a.b"), good + ".extra", good + "=",
                                   good.substr(0, good.size() - 1), std::string("..")}) {
        ExpectUnauthenticated(signer.Verify(bad, At(kNow)), bad);
    }
}

TEST(AuthJwt, PayloadClaimsMustHaveTheRightTypes) {
    const SecretKey key = KeyFilledWith(1);
    const JwtSigner signer(key);
    const std::string_view header = R"({"alg":"HS256","typ":"JWT"})";
    for (std::string_view payload : {
             R"({"ws":"ws-1","iat":1700000000,"exp":1700000900})",
             R"({"sub":7,"ws":"ws-1","iat":1700000000,"exp":1700000900})",
             R"({"sub":"user-1","iat":1700000000,"exp":1700000900})",
             R"({"sub":"user-1","ws":"ws-1","exp":1700000900})",
             R"({"sub":"user-1","ws":"ws-1","iat":1700000000})",
             R"({"sub":"user-1","ws":"ws-1","iat":1700000000,"exp":"1700000900"})",
             R"({"sub":"user-1","ws":"ws-1","iat":1700000000,"exp":1700000900.5})",
             R"({"sub":"user-1","ws":"ws-1","iat":1700000000,"exp":18446744073709551615})",
             R"(["user-1"])",
             "{broken",
         }) {
        ExpectUnauthenticated(signer.Verify(CraftToken(header, payload, key), At(kNow)), payload);
    }
}

TEST(AuthJwt, IssuedAtMoreThanAMinuteInTheFutureIsRejected) {
    const JwtSigner signer(KeyFilledWith(1));
    AccessClaims claims = Claims();
    claims.issued_at = kNow + 60;
    claims.expires_at = kNow + 960;
    EXPECT_TRUE(signer.Verify(signer.Sign(claims), At(kNow)).has_value());
    claims.issued_at = kNow + 61;
    ExpectUnauthenticated(signer.Verify(signer.Sign(claims), At(kNow)), "iat now+61");
}

}  // namespace
}  // namespace herald::auth
