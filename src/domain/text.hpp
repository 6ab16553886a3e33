#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "domain/media.hpp"

namespace herald::domain {

/// Number of Unicode code points in a UTF-8 string, or an error naming `field` when the bytes
/// are not valid UTF-8 (overlong forms, surrogates and truncated sequences included).
core::Result<size_t> CountCodePoints(std::string_view utf8, std::string_view field);

/// How a platform measures a post's length.
enum class TextCounting {
    kCodePoints,  ///< Unicode code points (Mastodon, Telegram, Discord, most others)
    kGraphemes,   ///< characters as a reader sees them: an emoji with modifiers is one (Bluesky)
    /// X's weighted count: code points in the Latin, general punctuation and a few other ranges
    /// count 1, every other character (CJK, emoji) 2, an emoji sequence 2 in all, and every
    /// http(s) link 23 whatever its length; the limit is in those units.
    kWeighted,
    kUtf8Bytes,  ///< bytes of UTF-8 (Threads counts emoji by their bytes)
    /// Graphemes, but every http(s) link counts 23 whatever its length (Mastodon).
    kGraphemesLinks23,
    kUtf16Units,  ///< UTF-16 code units: a character beyond U+FFFF (most emoji) counts 2 (Telegram)
};
std::string_view ToString(TextCounting c);

/// The length of valid UTF-8 `text` as `counting` measures it; the error of CountCodePoints
/// for invalid UTF-8.
core::Result<size_t> CountText(std::string_view text, TextCounting counting, std::string_view field);

/// What a platform accepts in one post. Adapters report theirs; validation reads them.
struct PlatformLimits {
    size_t max_text_chars = 0;  ///< in the unit `counting` says
    int max_media = 0;
    int max_thread_items = 0;    ///< replies a post may carry as a thread; 0: no threads
    bool first_comment = false;  ///< whether a first comment can be posted on it
    MediaRules media;            ///< what media a post may carry (max_media above: the total)
    TextCounting counting = TextCounting::kCodePoints;
    size_t max_text_bytes = 0;  ///< and at most this many UTF-8 bytes (Bluesky: 3,000); 0: no such limit
};

/// Checks `text` (the post's text or its variant for one platform) against `limits`.
/// The error names the field (e.g. "variants.sandbox") and the rule ("max_length", "required").
core::Status ValidateText(std::string_view text, const PlatformLimits& limits, std::string_view platform,
                          std::string_view field);

}  // namespace herald::domain
