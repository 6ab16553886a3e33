#include "auth/secret_key.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "auth/sodium_util.hpp"

namespace herald::auth {
namespace {

constexpr std::string_view kWhitespace = " \t\r\n\v\f";
// A key file holds 64 hex characters and a newline; anything far larger is not a key file.
constexpr size_t kMaxKeyFileBytes = 4096;

using core::ErrorCode;
using core::Fail;

std::string_view Trim(std::string_view text) {
    const size_t begin = text.find_first_not_of(kWhitespace);
    if (begin == std::string_view::npos) {
        return {};
    }
    const size_t end = text.find_last_not_of(kWhitespace);
    return text.substr(begin, end - begin + 1);
}

bool IsHex(std::string_view text) {
    for (char c : text) {
        const bool digit = c >= '0' && c <= '9';
        const bool lower = c >= 'a' && c <= 'f';
        const bool upper = c >= 'A' && c <= 'F';
        if (!digit && !lower && !upper) {
            return false;
        }
    }
    return true;
}

std::string ErrnoText(int err) { return std::strerror(err); }

// Closes the descriptor on every path out of the functions below.
class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int Get() const { return fd_; }

  private:
    int fd_;
};

core::Result<SecretKey> ReadKeyFile(int fd, const std::string& path) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        return Fail(ErrorCode::kFailedPrecondition, "cannot inspect secret key file " + path + ": " + ErrnoText(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return Fail(ErrorCode::kFailedPrecondition, "secret key file " + path + " is not a regular file");
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return Fail(ErrorCode::kFailedPrecondition, "secret key file " + path +
                                                        " is accessible by group or others (mode " + mode +
                                                        "); restrict it with: chmod 600 " + path);
    }
    if (st.st_size > static_cast<off_t>(kMaxKeyFileBytes)) {
        return Fail(ErrorCode::kFailedPrecondition, "secret key file " + path + " is too large to be a key file");
    }

    char buffer[kMaxKeyFileBytes];
    size_t used = 0;
    while (used < sizeof(buffer)) {
        const ssize_t n = ::read(fd, buffer + used, sizeof(buffer) - used);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            const int err = errno;
            sodium_memzero(buffer, sizeof(buffer));
            return Fail(ErrorCode::kFailedPrecondition, "cannot read secret key file " + path + ": " + ErrnoText(err));
        }
        if (n == 0) {
            break;
        }
        used += static_cast<size_t>(n);
    }
    auto key = ParseSecretKey(std::string_view(buffer, used));
    sodium_memzero(buffer, sizeof(buffer));
    if (!key) {
        return Fail(ErrorCode::kInvalidArgument,
                    "secret key file " + path + " does not hold a valid key: " + key.error().message);
    }
    return key;
}

core::Status WriteAll(int fd, const char* data, size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return Fail(ErrorCode::kFailedPrecondition, ErrnoText(errno));
        }
        data += n;
        size -= static_cast<size_t>(n);
    }
    return {};
}

// Without syncing the directory a crash could lose the new file while data sealed under the key
// survives in the database, which would make that data unreadable forever.
void SyncParentDirectory(const std::string& path) {
    std::string parent = std::filesystem::path(path).parent_path().string();
    if (parent.empty()) {
        parent = ".";
    }
    Fd dir(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.Get() >= 0) {
        ::fsync(dir.Get());
    }
}

core::Result<SecretKey> CreateKeyFile(int fd, const std::string& path) {
    SecretKey key;
    randombytes_buf(key.data(), key.size());
    char hex[sizeof(SecretKey) * 2 + 2];
    sodium_bin2hex(hex, sizeof(hex) - 1, key.data(), key.size());
    hex[sizeof(hex) - 2] = '\n';
    hex[sizeof(hex) - 1] = '\0';

    auto written = WriteAll(fd, hex, sizeof(hex) - 1);
    sodium_memzero(hex, sizeof(hex));
    if (written && ::fsync(fd) != 0) {
        written = Fail(ErrorCode::kFailedPrecondition, ErrnoText(errno));
    }
    if (!written) {
        // A half-written file would be read back as a broken key on the next start.
        ::unlink(path.c_str());
        sodium_memzero(key.data(), key.size());
        return Fail(ErrorCode::kFailedPrecondition,
                    "cannot write secret key file " + path + ": " + written.error().message);
    }
    SyncParentDirectory(path);
    return key;
}

}  // namespace

core::Result<SecretKey> ParseSecretKey(std::string_view text) {
    const std::string_view trimmed = Trim(text);
    SecretKey key;
    if (trimmed.size() == key.size() * 2 && IsHex(trimmed)) {
        size_t key_len = 0;
        const char* end = nullptr;
        if (sodium_hex2bin(key.data(), key.size(), trimmed.data(), trimmed.size(), nullptr, &key_len, &end) == 0 &&
            key_len == key.size() && end == trimmed.data() + trimmed.size()) {
            return key;
        }
        sodium_memzero(key.data(), key.size());
    } else if (!trimmed.empty()) {
        // Padding is optional for people pasting keys around; pick the variant that accepts what we got.
        const int variant =
            trimmed.back() == '=' ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
        // One spare byte so that input decoding to more than 32 bytes is noticed rather than truncated.
        unsigned char decoded[sizeof(SecretKey) + 1];
        size_t decoded_len = 0;
        const char* end = nullptr;
        const bool ok = sodium_base642bin(decoded, sizeof(decoded), trimmed.data(), trimmed.size(), nullptr,
                                          &decoded_len, &end, variant) == 0 &&
                        end == trimmed.data() + trimmed.size() && decoded_len == key.size();
        if (ok) {
            std::memcpy(key.data(), decoded, key.size());
        }
        sodium_memzero(decoded, sizeof(decoded));
        if (ok) {
            return key;
        }
    }
    return Fail(ErrorCode::kInvalidArgument,
                "secret key must be exactly 32 bytes, written as 64 hex characters or as base64");
}

core::Result<SecretKey> LoadOrCreateSecretKey(const std::string& configured, const std::string& key_file_path) {
    detail::EnsureSodium();
    if (!configured.empty()) {
        return ParseSecretKey(configured);
    }
    if (key_file_path.empty()) {
        return Fail(ErrorCode::kFailedPrecondition, "no secret key configured and no key file path given");
    }

    // Try read, then exclusive create; if another process wins the create race, read what it wrote.
    for (int attempt = 0; attempt < 2; ++attempt) {
        Fd existing(::open(key_file_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
        if (existing.Get() >= 0) {
            return ReadKeyFile(existing.Get(), key_file_path);
        }
        if (errno != ENOENT) {
            return Fail(ErrorCode::kFailedPrecondition,
                        "cannot open secret key file " + key_file_path + ": " + ErrnoText(errno));
        }

        // 0600 at creation, so the key is never visible to others, not even before a chmod.
        Fd created(::open(key_file_path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOCTTY, 0600));
        if (created.Get() >= 0) {
            return CreateKeyFile(created.Get(), key_file_path);
        }
        if (errno == EEXIST) {
            continue;
        }
        const int err = errno;
        if (err == ENOENT) {
            const std::string parent = std::filesystem::path(key_file_path).parent_path().string();
            return Fail(ErrorCode::kFailedPrecondition, "cannot create secret key file " + key_file_path +
                                                            ": directory " + (parent.empty() ? "." : parent) +
                                                            " does not exist; create it first");
        }
        return Fail(ErrorCode::kFailedPrecondition,
                    "cannot create secret key file " + key_file_path + ": " + ErrnoText(err));
    }
    return Fail(ErrorCode::kFailedPrecondition,
                "secret key file " + key_file_path + " keeps appearing and disappearing; check what else writes it");
}

SecretKey DeriveKey(const SecretKey& master, uint64_t subkey_id, const char context[8]) {
    detail::EnsureSodium();
    static_assert(crypto_kdf_CONTEXTBYTES == 8);
    static_assert(sizeof(SecretKey) == crypto_kdf_KEYBYTES);
    SecretKey subkey;
    crypto_kdf_derive_from_key(subkey.data(), subkey.size(), subkey_id, context, master.data());
    return subkey;
}

}  // namespace herald::auth
