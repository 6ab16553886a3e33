#include "api/json_body.hpp"

namespace herald::api {
namespace {

tl::unexpected<core::Error> TypeError(const std::string& key, const std::string& want) {
    return core::FieldError(key, "type", key + " must be " + want);
}

}  // namespace

core::Result<JsonBody> JsonBody::Parse(const std::string& body) {
    JsonBody b;
    if (body.empty()) {
        return core::Fail(core::ErrorCode::kInvalidArgument, "request body is empty; send a JSON object",
                          {{"rule", "json"}});
    }
    try {
        b.doc_ = nlohmann::json::parse(body);
    } catch (const nlohmann::json::parse_error& e) {
        return core::Fail(core::ErrorCode::kInvalidArgument,
                          "request body is not valid JSON (at byte " + std::to_string(e.byte) + ")",
                          {{"rule", "json"}, {"byte", std::to_string(e.byte)}});
    }
    if (!b.doc_.is_object()) {
        return core::Fail(core::ErrorCode::kInvalidArgument, "request body must be a JSON object",
                          {{"rule", "json_object"}});
    }
    return b;
}

core::Result<std::string> JsonBody::String(const std::string& key) {
    seen_.insert(key);
    if (!doc_.contains(key) || doc_[key].is_null()) return core::FieldError(key, "required", key + " is required");
    if (!doc_[key].is_string()) return TypeError(key, "a string");
    return doc_[key].get<std::string>();
}

core::Result<std::optional<std::string>> JsonBody::OptString(const std::string& key) {
    seen_.insert(key);
    if (!doc_.contains(key) || doc_[key].is_null()) return std::optional<std::string>{};
    if (!doc_[key].is_string()) return TypeError(key, "a string");
    return std::optional<std::string>(doc_[key].get<std::string>());
}

core::Result<std::optional<std::vector<std::string>>> JsonBody::OptStringArray(const std::string& key) {
    seen_.insert(key);
    if (!doc_.contains(key) || doc_[key].is_null()) return std::optional<std::vector<std::string>>{};
    const auto& v = doc_[key];
    if (!v.is_array()) return TypeError(key, "an array of strings");
    std::vector<std::string> out;
    for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_string()) return TypeError(key + "[" + std::to_string(i) + "]", "a string");
        out.push_back(v[i].get<std::string>());
    }
    return std::optional<std::vector<std::string>>(std::move(out));
}

core::Result<std::optional<std::map<std::string, std::string>>> JsonBody::OptStringMap(const std::string& key) {
    seen_.insert(key);
    if (!doc_.contains(key) || doc_[key].is_null()) return std::optional<std::map<std::string, std::string>>{};
    const auto& v = doc_[key];
    if (!v.is_object()) return TypeError(key, "an object of strings");
    std::map<std::string, std::string> out;
    for (auto& [k, item] : v.items()) {
        if (!item.is_string()) return TypeError(key + "." + k, "a string");
        out[k] = item.get<std::string>();
    }
    return std::optional<std::map<std::string, std::string>>(std::move(out));
}

core::Result<std::optional<std::string>> JsonBody::OptObjectText(const std::string& key) {
    seen_.insert(key);
    if (!doc_.contains(key) || doc_[key].is_null()) return std::optional<std::string>{};
    if (!doc_[key].is_object()) return TypeError(key, "an object");
    return std::optional<std::string>(doc_[key].dump());
}

core::Status JsonBody::Finish() const {
    for (auto& [key, _] : doc_.items()) {
        if (!seen_.count(key)) {
            return core::FieldError(key, "unknown_field", "unknown field '" + key + "'");
        }
    }
    return {};
}

}  // namespace herald::api
