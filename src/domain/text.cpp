#include "domain/text.hpp"

#include <unicode/ubrk.h>
#include <unicode/utext.h>

#include <memory>
#include <vector>

namespace herald::domain {
namespace {

// Code point at s[i] of valid UTF-8, and its length.
uint32_t DecodeAt(std::string_view s, size_t i, size_t* len) {
    const auto b = static_cast<unsigned char>(s[i]);
    const size_t n = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : 4;
    uint32_t cp = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
    for (size_t k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    *len = n;
    return cp;
}

struct BreakIteratorCloser {
    void operator()(UBreakIterator* b) const { ubrk_close(b); }
};

// The byte offsets where the grapheme clusters of valid UTF-8 `s` end, in order.
std::vector<size_t> GraphemeEnds(std::string_view s) {
    thread_local std::unique_ptr<UBreakIterator, BreakIteratorCloser> iterator;
    UErrorCode status = U_ZERO_ERROR;
    if (!iterator) iterator.reset(ubrk_open(UBRK_CHARACTER, "", nullptr, 0, &status));
    std::vector<size_t> ends;
    UText* text = utext_openUTF8(nullptr, s.data(), static_cast<int64_t>(s.size()), &status);
    if (U_FAILURE(status) || !iterator) {
        utext_close(text);
        // Cannot happen for valid UTF-8; one cluster per code point is the safe fallback.
        for (size_t i = 0, len = 0; i < s.size(); i += len) {
            DecodeAt(s, i, &len);
            ends.push_back(i + len);
        }
        return ends;
    }
    ubrk_setUText(iterator.get(), text, &status);
    ubrk_first(iterator.get());
    for (int32_t end = ubrk_next(iterator.get()); end != UBRK_DONE; end = ubrk_next(iterator.get())) {
        ends.push_back(static_cast<size_t>(end));
    }
    utext_close(text);
    return ends;
}

// X: weight 1 in these ranges, 2 elsewhere (twitter-text's default configuration).
int XWeight(uint32_t cp) {
    const bool light = cp <= 0x10FF || (cp >= 0x2000 && cp <= 0x200D) || (cp >= 0x2010 && cp <= 0x201F) ||
                       (cp >= 0x2032 && cp <= 0x2037);
    return light ? 1 : 2;
}

bool IsEmojiCodePoint(uint32_t cp) {
    return (cp >= 0x1F000 && cp <= 0x1FAFF) || (cp >= 0x2600 && cp <= 0x27BF) || cp == 0x200D || cp == 0xFE0F;
}

// Every link counts 23; every other grapheme 1, or with `x_weights` as X weighs it.
size_t LinkWeightedLength(std::string_view s, bool x_weights) {
    size_t total = 0;
    size_t start = 0;
    const auto ends = GraphemeEnds(s);
    size_t k = 0;
    while (start < s.size()) {
        // A link counts 23 whatever its length: from http:// or https:// to the next space.
        const std::string_view rest = s.substr(start);
        if (rest.rfind("http://", 0) == 0 || rest.rfind("https://", 0) == 0) {
            size_t end = start;
            while (end < s.size() && s[end] != ' ' && s[end] != '\n' && s[end] != '\t') ++end;
            total += 23;
            start = end;
            while (k < ends.size() && ends[k] <= start) ++k;
            continue;
        }
        const size_t end = k < ends.size() ? ends[k++] : s.size();
        int weight = 0;
        bool emoji = false;
        for (size_t i = start, len = 0; i < end; i += len) {
            const uint32_t cp = DecodeAt(s, i, &len);
            weight += XWeight(cp);
            emoji = emoji || IsEmojiCodePoint(cp);
        }
        total += !x_weights ? 1 : emoji ? 2 : static_cast<size_t>(weight);
        start = end;
    }
    return total;
}

}  // namespace

std::string_view ToString(TextCounting c) {
    switch (c) {
        case TextCounting::kCodePoints:
            return "code_points";
        case TextCounting::kGraphemes:
            return "graphemes";
        case TextCounting::kWeighted:
            return "weighted";
        case TextCounting::kUtf8Bytes:
            return "utf8_bytes";
        case TextCounting::kGraphemesLinks23:
            return "graphemes_links_23";
        case TextCounting::kUtf16Units:
            return "utf16_units";
    }
    return "code_points";
}

core::Result<size_t> CountText(std::string_view text, TextCounting counting, std::string_view field) {
    auto code_points = CountCodePoints(text, field);
    if (!code_points) return code_points;
    switch (counting) {
        case TextCounting::kCodePoints:
            return code_points;
        case TextCounting::kGraphemes:
            return GraphemeEnds(text).size();
        case TextCounting::kWeighted:
            return LinkWeightedLength(text, true);
        case TextCounting::kGraphemesLinks23:
            return LinkWeightedLength(text, false);
        case TextCounting::kUtf8Bytes:
            return text.size();
        case TextCounting::kUtf16Units: {
            // Valid UTF-8 (checked above): a 4-byte sequence is a surrogate pair in UTF-16.
            size_t units = 0;
            for (unsigned char c : text) {
                if ((c & 0xC0) != 0x80) units += (c & 0xF8) == 0xF0 ? 2 : 1;
            }
            return units;
        }
    }
    return code_points;
}

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
    auto n = CountText(text, limits.counting, field);
    if (!n) return tl::unexpected(n.error());
    if (*n == 0) {
        return core::FieldError(std::string(field), "required", std::string(field) + " must not be empty");
    }
    auto too_long = [&](size_t actual, size_t limit, const std::string& unit) {
        auto e = core::FieldError(std::string(field), "max_length",
                                  std::string(field) + " has " + std::to_string(actual) + " " + unit + "; " +
                                      std::string(platform) + " allows at most " + std::to_string(limit));
        e.value().details["platform"] = std::string(platform);
        e.value().details["limit"] = std::to_string(limit);
        e.value().details["actual"] = std::to_string(actual);
        e.value().details["counted_in"] = std::string(ToString(limits.counting));
        return e;
    };
    if (*n > limits.max_text_chars) {
        static const char* const kUnits[] = {"characters",
                                             "characters",
                                             "characters as X counts them (links 23)",
                                             "bytes",
                                             "characters (links 23)",
                                             "characters (UTF-16 units)"};
        return too_long(*n, limits.max_text_chars, kUnits[static_cast<int>(limits.counting)]);
    }
    if (limits.max_text_bytes > 0 && text.size() > limits.max_text_bytes) {
        auto e = too_long(text.size(), limits.max_text_bytes, "bytes");
        e.value().details["counted_in"] = "utf8_bytes";
        return e;
    }
    return {};
}

}  // namespace herald::domain
