#include <gtest/gtest.h>

#include <set>
#include <string>

#include "auth/tokens.hpp"

namespace herald::auth {
namespace {

bool IsBase64UrlNoPadding(std::string_view text) {
    for (char c : text) {
        const bool ok =
            (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

TEST(AuthTokens, OpaqueTokenHasPrefixAnd32RandomBytes) {
    const std::string token = NewOpaqueToken(kApiTokenPrefix);
    ASSERT_TRUE(token.starts_with("hpat_")) << token;
    const std::string_view body = std::string_view(token).substr(kApiTokenPrefix.size());
    EXPECT_EQ(body.size(), 43u);  // 32 bytes in unpadded base64
    EXPECT_TRUE(IsBase64UrlNoPadding(body)) << token;
    EXPECT_TRUE(NewOpaqueToken(kRefreshTokenPrefix).starts_with("hrt_"));
}

TEST(AuthTokens, OpaqueTokensAreDistinct) {
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        EXPECT_TRUE(seen.insert(NewOpaqueToken(kRefreshTokenPrefix)).second);
    }
}

TEST(AuthTokens, HashIsDeterministicLowercaseHexSha256) {
    const std::string token = NewOpaqueToken(kApiTokenPrefix);
    const std::string hash = HashToken(token);
    ASSERT_EQ(hash.size(), 64u);
    EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos) << hash;
    EXPECT_EQ(hash, HashToken(token));
    EXPECT_NE(hash, HashToken(NewOpaqueToken(kApiTokenPrefix)));
    // Known SHA-256 test vector, so the hash is really SHA-256 and not just any stable digest.
    EXPECT_EQ(HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// RFC 7636, Appendix B: the example verifier and the S256 challenge it must give.
TEST(PkceTest, ChallengeMatchesTheRfcExample) {
    EXPECT_EQ(PkceChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
              "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(PkceTest, FreshVerifiersAreValidAndDiffer) {
    const std::string a = NewOpaqueToken("");
    const std::string b = NewOpaqueToken("");
    EXPECT_NE(a, b);
    // 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1).
    EXPECT_GE(a.size(), 43u);
    EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"),
              std::string::npos);
    EXPECT_NE(PkceChallenge(a), PkceChallenge(b));
}

}  // namespace
}  // namespace herald::auth
