#include <gtest/gtest.h>

#include <string>

#include "auth/vault.hpp"

namespace herald::auth {
namespace {

SecretKey KeyFilledWith(unsigned char byte) {
    SecretKey key;
    key.fill(byte);
    return key;
}

TEST(AuthVault, SealThenOpenReturnsThePlaintext) {
    const TokenVault vault(KeyFilledWith(7));
    const std::string secret = R"({"access_token":"ya29.secret","refresh_token":"1//r"})";
    const std::string sealed = vault.Seal(secret);
    EXPECT_TRUE(sealed.starts_with("v1:")) << sealed;
    EXPECT_EQ(sealed.find("ya29"), std::string::npos);
    const auto opened = vault.Open(sealed);
    ASSERT_TRUE(opened.has_value()) << opened.error().message;
    EXPECT_EQ(*opened, secret);
}

TEST(AuthVault, EmptyPlaintextRoundTrips) {
    const TokenVault vault(KeyFilledWith(7));
    const auto opened = vault.Open(vault.Seal(""));
    ASSERT_TRUE(opened.has_value()) << opened.error().message;
    EXPECT_EQ(*opened, "");
}

TEST(AuthVault, SealingTheSameTextTwiceDiffers) {
    const TokenVault vault(KeyFilledWith(7));
    EXPECT_NE(vault.Seal("same text"), vault.Seal("same text"));
}

TEST(AuthVault, TamperedCiphertextIsRejected) {
    const TokenVault vault(KeyFilledWith(7));
    std::string sealed = vault.Seal("credential value");
    // Change one base64 character in the middle, which flips bits of the ciphertext or MAC.
    char& c = sealed[sealed.size() / 2];
    c = c == 'A' ? 'B' : 'A';
    const auto opened = vault.Open(sealed);
    ASSERT_FALSE(opened.has_value());
    EXPECT_EQ(opened.error().code, core::ErrorCode::kFailedPrecondition);
    EXPECT_EQ(opened.error().message.find("credential value"), std::string::npos);
}

TEST(AuthVault, AnotherKeyCannotOpen) {
    const std::string sealed = TokenVault(KeyFilledWith(7)).Seal("credential value");
    const auto opened = TokenVault(KeyFilledWith(8)).Open(sealed);
    ASSERT_FALSE(opened.has_value());
    EXPECT_EQ(opened.error().code, core::ErrorCode::kFailedPrecondition);
    EXPECT_NE(opened.error().message.find("wrong secret key"), std::string::npos) << opened.error().message;
    EXPECT_EQ(opened.error().message.find("credential value"), std::string::npos);
}

TEST(AuthVault, MalformedInputIsRejected) {
    const TokenVault vault(KeyFilledWith(7));
    const std::string sealed = vault.Seal("x");
    for (const std::string& bad : {"v2:" + sealed.substr(3), sealed.substr(3), std::string("v1:not base64!"),
                                   std::string("v1:AAAA"), std::string("v1:"), std::string("")}) {
        const auto opened = vault.Open(bad);
        ASSERT_FALSE(opened.has_value()) << bad;
        EXPECT_EQ(opened.error().code, core::ErrorCode::kFailedPrecondition) << bad;
    }
}

}  // namespace
}  // namespace herald::auth
