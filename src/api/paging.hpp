#pragma once

// Cursor pages for list endpoints: `limit` 1–200, and the next cursor is the last item's id
// when more items exist (the store is asked for one more than the page holds).

#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace herald::api {

inline core::Result<int> ParseLimit(const std::string& value) {
    int n = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || ptr != value.data() + value.size() || n < 1 || n > 200) {
        return core::FieldError("limit", "range", "limit must be a whole number from 1 to 200");
    }
    return n;
}

/// Reads a list request's paging parameter: `cursor` (an id this server gave out; the caller
/// says whether `value` looks like one) into `after_id`, or `limit` into `limit`.
inline core::Status ReadPagingParam(const std::string& key, const std::string& value, bool cursor_ok,
                                    std::optional<std::string>& after_id, int& limit) {
    if (key == "cursor") {
        if (!cursor_ok) return core::FieldError("cursor", "cursor", "cursor is not one this server gave out");
        after_id = value;
        return {};
    }
    auto n = ParseLimit(value);
    if (!n) return tl::unexpected(n.error());
    limit = *n;
    return {};
}

/// {"items": [...], "next_cursor": id or null} from up to `page` + 1 items.
template <typename T, typename ToJsonFn>
nlohmann::json Page(std::vector<T>& items, int page, ToJsonFn to_json) {
    const bool more = static_cast<int>(items.size()) > page;
    if (more) items.resize(static_cast<size_t>(page));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : items) out.push_back(to_json(item));
    nlohmann::json next = nullptr;
    if (more) next = items.back().id;
    return {{"items", out}, {"next_cursor", next}};
}

}  // namespace herald::api
