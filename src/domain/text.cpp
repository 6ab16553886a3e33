#include "domain/text.hpp"

namespace herald::domain {

core::Result<size_t> CountCodePoints(std::string_view s, std::string_view field) {
    size_t count = 0;
    size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        size_t len = 0;
        uint32_t cp = 0;
        if (b < 0x80) {
            len = 1;
            cp = b;
        } else if ((b & 0xE0) == 0xC0) {
            len = 2;
            cp = b & 0x1F;
        } else if ((b & 0xF0) == 0xE0) {
            len = 3;
            cp = b & 0x0F;
        } else if ((b & 0xF8) == 0xF0) {
            len = 4;
            cp = b & 0x07;
        } else {
            len = 0;
        }
        bool ok = len != 0 && i + len <= s.size();
        for (size_t k = 1; ok && k < len; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            ok = (c & 0xC0) == 0x80;
            cp = (cp << 6) | (c & 0x3F);
        }
        static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
        if (ok && (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
        if (!ok) {
            return core::FieldError(std::string(field), "utf8",
                                    std::string(field) + " is not valid UTF-8 (byte offset " + std::to_string(i) + ")");
        }
        i += len;
        ++count;
    }
    return count;
}

core::Status ValidateText(std::string_view text, const PlatformLimits& limits, std::string_view platform,
                          std::string_view field) {
    auto n = CountCodePoints(text, field);
    if (!n) return tl::unexpected(n.error());
    if (*n == 0) {
        return core::FieldError(std::string(field), "required", std::string(field) + " must not be empty");
    }
    if (*n > limits.max_text_chars) {
        auto e =
            core::FieldError(std::string(field), "max_length",
                             std::string(field) + " has " + std::to_string(*n) + " characters; " +
                                 std::string(platform) + " allows at most " + std::to_string(limits.max_text_chars));
        e.value().details["platform"] = std::string(platform);
        e.value().details["limit"] = std::to_string(limits.max_text_chars);
        e.value().details["actual"] = std::to_string(*n);
        return e;
    }
    return {};
}

}  // namespace herald::domain
