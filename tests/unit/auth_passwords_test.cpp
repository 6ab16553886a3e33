#include <gtest/gtest.h>

#include <string>

#include "auth/passwords.hpp"

namespace herald::auth {
namespace {

TEST(AuthPasswords, HashThenVerifyAcceptsTheSamePassword) {
    const std::string hash = HashPassword("correct horse battery staple");
    EXPECT_TRUE(hash.starts_with("$argon2id$")) << hash;
    EXPECT_TRUE(VerifyPassword("correct horse battery staple", hash));
}

TEST(AuthPasswords, VerifyRejectsAWrongPassword) {
    const std::string hash = HashPassword("correct horse battery staple");
    EXPECT_FALSE(VerifyPassword("correct horse battery stapl", hash));
    EXPECT_FALSE(VerifyPassword("", hash));
}

TEST(AuthPasswords, SamePasswordHashesDifferentlyEachTime) {
    // A per-hash salt means equal passwords are not visible as equal hashes in the database.
    EXPECT_NE(HashPassword("hunter2hunter2"), HashPassword("hunter2hunter2"));
}

TEST(AuthPasswords, VerifyRejectsMalformedHashes) {
    EXPECT_FALSE(VerifyPassword("password", ""));
    EXPECT_FALSE(VerifyPassword("password", "password"));
    EXPECT_FALSE(VerifyPassword("password", "$argon2id$v=19$m=65536,t=2,p=1$garbage"));
    EXPECT_FALSE(VerifyPassword("password", std::string(500, '$')));
}

TEST(AuthPasswords, PolicyAcceptsLengthsWithinBounds) {
    EXPECT_TRUE(CheckPasswordPolicy(std::string(kMinPasswordBytes, 'a')).has_value());
    EXPECT_TRUE(CheckPasswordPolicy(std::string(kMaxPasswordBytes, 'a')).has_value());
}

TEST(AuthPasswords, PolicyRejectsTooShort) {
    const auto status = CheckPasswordPolicy(std::string(kMinPasswordBytes - 1, 'a'));
    ASSERT_FALSE(status.has_value());
    EXPECT_EQ(status.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_EQ(status.error().details.at("field"), "password");
    EXPECT_EQ(status.error().details.at("rule"), "min_length");
    EXPECT_NE(status.error().message.find("8"), std::string::npos);
}

TEST(AuthPasswords, PolicyRejectsTooLong) {
    const auto status = CheckPasswordPolicy(std::string(kMaxPasswordBytes + 1, 'a'));
    ASSERT_FALSE(status.has_value());
    EXPECT_EQ(status.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_EQ(status.error().details.at("field"), "password");
    EXPECT_EQ(status.error().details.at("rule"), "max_length");
}

}  // namespace
}  // namespace herald::auth
