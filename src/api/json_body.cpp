#include "api/json_body.hpp"

namespace herald::api {

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

core::Result<JsonBody> JsonBody::FromValue(nlohmann::json value) {
    if (!value.is_object()) {
        return core::Fail(core::ErrorCode::kInvalidArgument, "each item must be a JSON object",
                          {{"rule", "json_object"}});
    }
    JsonBody b;
    b.doc_ = std::move(value);
    return b;
}

core::Status JsonBody::Empty(const std::string& body) {
    if (body.empty()) return {};
    auto b = Parse(body);
    if (!b) return tl::unexpected(b.error());
    return b->Finish();
}

const nlohmann::json* JsonBody::Field(const std::string& key) {
    seen_.insert(key);
    auto it = doc_.find(key);
    if (it == doc_.end() || it->is_null()) return nullptr;
    return &*it;
}

void JsonBody::TypeError(const std::string& key, const std::string& want) {
    if (!error_) error_ = core::FieldError(key, "type", key + " must be " + want).value();
}

std::string JsonBody::String(const std::string& key) {
    const auto* v = Field(key);
    if (v == nullptr) {
        if (!error_) error_ = core::FieldError(key, "required", key + " is required").value();
        return {};
    }
    if (!v->is_string()) {
        TypeError(key, "a string");
        return {};
    }
    return v->get<std::string>();
}

std::optional<std::string> JsonBody::OptString(const std::string& key) {
    const auto* v = Field(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) {
        TypeError(key, "a string");
        return std::nullopt;
    }
    return v->get<std::string>();
}

std::optional<bool> JsonBody::OptBool(const std::string& key) {
    const auto* v = Field(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) {
        TypeError(key, "true or false");
        return std::nullopt;
    }
    return v->get<bool>();
}

std::optional<std::vector<std::string>> JsonBody::OptStringArray(const std::string& key) {
    const auto* v = Field(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_array()) {
        TypeError(key, "an array of strings");
        return std::nullopt;
    }
    std::vector<std::string> out;
    for (size_t i = 0; i < v->size(); ++i) {
        if (!(*v)[i].is_string()) {
            TypeError(key + "[" + std::to_string(i) + "]", "a string");
            return std::nullopt;
        }
        out.push_back((*v)[i].get<std::string>());
    }
    return out;
}

std::optional<std::map<std::string, std::string>> JsonBody::OptStringMap(const std::string& key) {
    const auto* v = Field(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_object()) {
        TypeError(key, "an object of strings");
        return std::nullopt;
    }
    std::map<std::string, std::string> out;
    for (auto& [k, item] : v->items()) {
        if (!item.is_string()) {
            TypeError(key + "." + k, "a string");
            return std::nullopt;
        }
        out[k] = item.get<std::string>();
    }
    return out;
}

std::optional<std::string> JsonBody::OptObjectText(const std::string& key) {
    const auto* v = Field(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_object()) {
        TypeError(key, "an object");
        return std::nullopt;
    }
    return v->dump();
}

core::Status JsonBody::Finish() const {
    if (error_) return tl::unexpected(*error_);
    for (auto& [key, _] : doc_.items()) {
        if (!seen_.count(key)) return core::FieldError(key, "unknown_field", "unknown field '" + key + "'");
    }
    return {};
}

}  // namespace herald::api
