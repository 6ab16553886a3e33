#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace herald::api {

/// A request body read strictly: it must be a JSON object, every field must have the right
/// type, and fields nobody asked for are refused. The getters never fail: they remember the
/// first problem and return an empty value, and Finish() reports it (or the first unknown
/// field). So a handler reads every field, then checks once; every error names the field.
class JsonBody {
  public:
    static core::Result<JsonBody> Parse(const std::string& body);
    /// An already parsed value (an item of a bulk request); it must be an object.
    static core::Result<JsonBody> FromValue(nlohmann::json value);
    /// The body of an action without parameters: empty, or a JSON object without fields.
    static core::Status Empty(const std::string& body);

    bool Has(const std::string& key) const { return doc_.contains(key); }

    /// Required string.
    std::string String(const std::string& key);
    /// Absent or null → nullopt.
    std::optional<std::string> OptString(const std::string& key);
    std::optional<bool> OptBool(const std::string& key);
    std::optional<std::vector<std::string>> OptStringArray(const std::string& key);
    std::optional<std::map<std::string, std::string>> OptStringMap(const std::string& key);
    /// A nested JSON object, returned as text (absent or null → nullopt).
    std::optional<std::string> OptObjectText(const std::string& key);

    /// The first problem met while reading, else the first field that was not read.
    core::Status Finish() const;

  private:
    // The value at `key` if present and not null; marks the key as read.
    const nlohmann::json* Field(const std::string& key);
    void TypeError(const std::string& key, const std::string& want);

    nlohmann::json doc_;
    std::set<std::string> seen_;
    std::optional<core::Error> error_;
};

}  // namespace herald::api
