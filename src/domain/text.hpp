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

/// What a platform accepts in one post. Adapters report theirs; validation reads them.
struct PlatformLimits {
    size_t max_text_chars = 0;  ///< in code points
    int max_media = 0;
    int max_thread_items = 0;    ///< replies a post may carry as a thread; 0: no threads
    bool first_comment = false;  ///< whether a first comment can be posted on it
    MediaRules media;            ///< what media a post may carry (max_media above: the total)
};

/// Checks `text` (the post's text or its variant for one platform) against `limits`.
/// The error names the field (e.g. "variants.sandbox") and the rule ("max_length", "required").
core::Status ValidateText(std::string_view text, const PlatformLimits& limits, std::string_view platform,
                          std::string_view field);

}  // namespace herald::domain
