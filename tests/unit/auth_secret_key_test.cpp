#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "auth/secret_key.hpp"

namespace herald::auth {
namespace {

namespace fs = std::filesystem;

// 0x00 0x01 ... 0x1f in both encodings.
constexpr std::string_view kHexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr std::string_view kBase64Key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

SecretKey SequentialKey() {
    SecretKey key;
    for (size_t i = 0; i < key.size(); ++i) {
        key[i] = static_cast<unsigned char>(i);
    }
    return key;
}

// A private, empty directory per test, removed afterwards.
class AuthSecretKeyFile : public ::testing::Test {
  protected:
    void SetUp() override {
        static std::atomic<int> counter{0};
        dir_ = fs::temp_directory_path() / ("herald_auth_key_test_" + std::to_string(::getpid()) + "_" +
                                            std::to_string(counter++) + "_" + std::to_string(std::random_device{}()));
        ASSERT_TRUE(fs::create_directory(dir_));
    }
    void TearDown() override {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    static unsigned ModeOf(const fs::path& path) {
        struct stat st {};
        EXPECT_EQ(::stat(path.c_str(), &st), 0);
        return st.st_mode & 07777;
    }

    fs::path dir_;
};

TEST(AuthSecretKey, ParsesHex) {
    const auto key = ParseSecretKey(kHexKey);
    ASSERT_TRUE(key.has_value()) << key.error().message;
    EXPECT_EQ(*key, SequentialKey());
}

TEST(AuthSecretKey, ParsesUppercaseHexWithSurroundingWhitespace) {
    std::string text = "  " + std::string(kHexKey) + "\n";
    for (char& c : text) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    const auto key = ParseSecretKey(text);
    ASSERT_TRUE(key.has_value()) << key.error().message;
    EXPECT_EQ(*key, SequentialKey());
}

TEST(AuthSecretKey, ParsesBase64WithAndWithoutPadding) {
    const auto padded = ParseSecretKey(std::string(kBase64Key) + "\r\n");
    ASSERT_TRUE(padded.has_value()) << padded.error().message;
    EXPECT_EQ(*padded, SequentialKey());

    const auto unpadded = ParseSecretKey(kBase64Key.substr(0, kBase64Key.size() - 1));
    ASSERT_TRUE(unpadded.has_value()) << unpadded.error().message;
    EXPECT_EQ(*unpadded, SequentialKey());
}

TEST(AuthSecretKey, RejectsWrongLengthsAndGarbageWithoutEchoingThem) {
    const std::string hex_31_bytes(62, 'a');
    const std::string hex_33_bytes(66, 'b');
    const std::string base64_31_bytes = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==";
    const std::string base64_33_bytes = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g";
    const std::string garbage = "this-is-not-a-key-SECRETWORD!";
    const std::string almost_hex = std::string(63, 'c') + "z";
    for (const std::string& bad : {hex_31_bytes, hex_33_bytes, base64_31_bytes, base64_33_bytes, garbage, almost_hex,
                                   std::string(""), std::string("   \n")}) {
        const auto key = ParseSecretKey(bad);
        ASSERT_FALSE(key.has_value()) << "accepted: " << bad;
        EXPECT_EQ(key.error().code, core::ErrorCode::kInvalidArgument);
        if (!bad.empty() && bad.find_first_not_of(" \n") != std::string::npos) {
            EXPECT_EQ(key.error().message.find(bad), std::string::npos) << key.error().message;
        }
    }
    EXPECT_EQ(ParseSecretKey(garbage).error().message.find("SECRETWORD"), std::string::npos);
}

TEST(AuthSecretKey, DeriveKeyIsDeterministicAndSeparatesSubkeys) {
    const SecretKey master = SequentialKey();
    const SecretKey vault = DeriveKey(master, kVaultSubkey, kKdfContext);
    const SecretKey jwt = DeriveKey(master, kJwtSubkey, kKdfContext);
    EXPECT_EQ(vault, DeriveKey(master, kVaultSubkey, kKdfContext));
    EXPECT_NE(vault, jwt);
    EXPECT_NE(vault, master);
    EXPECT_NE(vault, DeriveKey(master, kVaultSubkey, "other___"));
    SecretKey other_master = master;
    other_master[0] ^= 1;
    EXPECT_NE(vault, DeriveKey(other_master, kVaultSubkey, kKdfContext));
}

TEST_F(AuthSecretKeyFile, ConfiguredKeyWinsAndNoFileIsCreated) {
    const fs::path path = dir_ / "secret.key";
    const auto key = LoadOrCreateSecretKey(std::string(kHexKey), path.string());
    ASSERT_TRUE(key.has_value()) << key.error().message;
    EXPECT_EQ(*key, SequentialKey());
    EXPECT_FALSE(fs::exists(path));
}

TEST_F(AuthSecretKeyFile, InvalidConfiguredKeyIsAnError) {
    const auto key = LoadOrCreateSecretKey("short", (dir_ / "secret.key").string());
    ASSERT_FALSE(key.has_value());
    EXPECT_EQ(key.error().code, core::ErrorCode::kInvalidArgument);
}

TEST_F(AuthSecretKeyFile, CreatesAPrivateFileAndReadsItBack) {
    const fs::path path = dir_ / "secret.key";
    const auto created = LoadOrCreateSecretKey("", path.string());
    ASSERT_TRUE(created.has_value()) << created.error().message;
    ASSERT_TRUE(fs::exists(path));
    EXPECT_EQ(ModeOf(path), 0600u);

    std::ifstream in(path);
    std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(contents.size(), 65u);
    EXPECT_EQ(contents.back(), '\n');
    const auto parsed = ParseSecretKey(contents);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, *created);

    const auto loaded = LoadOrCreateSecretKey("", path.string());
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
    EXPECT_EQ(*loaded, *created);
}

TEST_F(AuthSecretKeyFile, TwoFreshDirectoriesGetDifferentKeys) {
    const auto first = LoadOrCreateSecretKey("", (dir_ / "a.key").string());
    const auto second = LoadOrCreateSecretKey("", (dir_ / "b.key").string());
    ASSERT_TRUE(first.has_value() && second.has_value());
    EXPECT_NE(*first, *second);
}

TEST_F(AuthSecretKeyFile, RefusesAFileReadableByOthers) {
    const fs::path path = dir_ / "secret.key";
    {
        std::ofstream out(path);
        out << kHexKey << "\n";
    }
    ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
    const auto key = LoadOrCreateSecretKey("", path.string());
    ASSERT_FALSE(key.has_value());
    EXPECT_EQ(key.error().code, core::ErrorCode::kFailedPrecondition);
    EXPECT_NE(key.error().message.find(path.string()), std::string::npos) << key.error().message;
    EXPECT_NE(key.error().message.find("chmod 600"), std::string::npos) << key.error().message;
    EXPECT_EQ(key.error().message.find(std::string(kHexKey)), std::string::npos);

    // After the suggested fix the same file is accepted.
    ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
    const auto fixed = LoadOrCreateSecretKey("", path.string());
    ASSERT_TRUE(fixed.has_value()) << fixed.error().message;
    EXPECT_EQ(*fixed, SequentialKey());
}

TEST_F(AuthSecretKeyFile, RejectsAFileWithGarbage) {
    const fs::path path = dir_ / "secret.key";
    {
        std::ofstream out(path);
        out << "not a key\n";
    }
    ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
    const auto key = LoadOrCreateSecretKey("", path.string());
    ASSERT_FALSE(key.has_value());
    EXPECT_NE(key.error().message.find(path.string()), std::string::npos) << key.error().message;
}

TEST_F(AuthSecretKeyFile, MissingParentDirectoryIsAnError) {
    const fs::path path = dir_ / "missing" / "secret.key";
    const auto key = LoadOrCreateSecretKey("", path.string());
    ASSERT_FALSE(key.has_value());
    EXPECT_EQ(key.error().code, core::ErrorCode::kFailedPrecondition);
    EXPECT_NE(key.error().message.find((dir_ / "missing").string()), std::string::npos) << key.error().message;
    EXPECT_FALSE(fs::exists(dir_ / "missing"));
}

}  // namespace
}  // namespace herald::auth
