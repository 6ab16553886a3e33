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
/// type, and Finish() refuses fields nobody asked for. Every error names the field.
class JsonBody {
  public:
    static core::Result<JsonBody> Parse(const std::string& body);

    bool Has(const std::string& key) const { return doc_.contains(key); }
    bool IsNull(const std::string& key) const { return doc_.contains(key) && doc_[key].is_null(); }

    core::Result<std::string> String(const std::string& key);
    /// Absent or null → nullopt.
    core::Result<std::optional<std::string>> OptString(const std::string& key);
    core::Result<std::optional<std::vector<std::string>>> OptStringArray(const std::string& key);
    core::Result<std::optional<std::map<std::string, std::string>>> OptStringMap(const std::string& key);
    /// A nested JSON object, returned as text (absent → nullopt).
    core::Result<std::optional<std::string>> OptObjectText(const std::string& key);

    /// Fails on the first field that was not read.
    core::Status Finish() const;

  private:
    nlohmann::json doc_;
    std::set<std::string> seen_;
};

}  // namespace herald::api
