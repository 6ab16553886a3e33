#include "openapi_validator.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace herald::testing {
namespace {

constexpr int kMaxDepth = 64;

// Keywords the checker understands. Annotations change nothing about validity; every other
// keyword would be a rule the checker does not enforce, so using one is reported.
const std::set<std::string>& KnownKeywords() {
    static const std::set<std::string> k = {"$ref",
                                            "type",
                                            "enum",
                                            "const",
                                            "required",
                                            "properties",
                                            "additionalProperties",
                                            "items",
                                            "oneOf",
                                            "anyOf",
                                            "allOf",
                                            "minimum",
                                            "maximum",
                                            "exclusiveMinimum",
                                            "exclusiveMaximum",
                                            "minLength",
                                            "maxLength",
                                            "pattern",
                                            "format",
                                            "minItems",
                                            "maxItems",
                                            "description",
                                            "title",
                                            "default",
                                            "examples",
                                            "readOnly",
                                            "writeOnly",
                                            "deprecated",
                                            "$comment"};
    return k;
}

const std::set<std::string>& HttpMethods() {
    static const std::set<std::string> k = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};
    return k;
}

std::string Lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string Upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

std::string EscapePointerToken(const std::string& token) {
    std::string out;
    for (char c : token) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out += c;
        }
    }
    return out;
}

std::string Quote(const std::string& pointer) { return "\"" + pointer + "\""; }

std::string Short(const nlohmann::json& value) {
    std::string text = value.dump();
    if (text.size() > 80) text = text.substr(0, 77) + "...";
    return text;
}

std::string TypeOf(const nlohmann::json& v) {
    if (v.is_null()) return "null";
    if (v.is_boolean()) return "boolean";
    if (v.is_number_integer()) return "integer";
    if (v.is_number()) return "number";
    if (v.is_string()) return "string";
    if (v.is_array()) return "array";
    if (v.is_object()) return "object";
    return "unknown";
}

bool HasType(const nlohmann::json& v, const std::string& type) {
    if (type == "null") return v.is_null();
    if (type == "boolean") return v.is_boolean();
    if (type == "object") return v.is_object();
    if (type == "array") return v.is_array();
    if (type == "string") return v.is_string();
    if (type == "number") return v.is_number();
    if (type == "integer") {
        if (v.is_number_integer()) return true;
        // JSON Schema counts 2.0 as an integer: the value matters, not how it was written.
        if (v.is_number_float()) {
            const double d = v.get<double>();
            return std::isfinite(d) && std::floor(d) == d;
        }
        return false;
    }
    return false;
}

size_t CodePoints(const std::string& s) {
    return static_cast<size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool ReadDigits(const std::string& s, size_t& pos, size_t n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (size_t i = 0; i < n; ++i) {
        const char c = s[pos + i];
        if (c < '0' || c > '9') return false;
        out = out * 10 + (c - '0');
    }
    pos += n;
    return true;
}

bool ReadChar(const std::string& s, size_t& pos, std::string_view any_of) {
    if (pos < s.size() && any_of.find(s[pos]) != std::string_view::npos) {
        ++pos;
        return true;
    }
    return false;
}

// "Text/Plain; version=0.0.4" → "text/plain": the media type without its parameters.
std::string BaseMediaType(const std::string& media_type) {
    std::string base = Lower(media_type.substr(0, media_type.find(';')));
    while (!base.empty() && base.back() == ' ') base.pop_back();
    return base;
}

int DaysInMonth(int year, int month) {
    static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : kDays[static_cast<size_t>(month - 1)];
}

}  // namespace

std::string NormalizePathTemplate(const std::string& path_template) {
    std::string out;
    std::istringstream in(path_template);
    std::string seg;
    while (std::getline(in, seg, '/')) {
        if (seg.empty()) continue;
        out += "/";
        out += (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') ? "{}" : seg;
    }
    return out.empty() ? "/" : out;
}

bool IsRfc3339DateTime(const std::string& s) {
    size_t pos = 0;
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!ReadDigits(s, pos, 4, year) || !ReadChar(s, pos, "-") || !ReadDigits(s, pos, 2, month) ||
        !ReadChar(s, pos, "-") || !ReadDigits(s, pos, 2, day) || !ReadChar(s, pos, "Tt") ||
        !ReadDigits(s, pos, 2, hour) || !ReadChar(s, pos, ":") || !ReadDigits(s, pos, 2, minute) ||
        !ReadChar(s, pos, ":") || !ReadDigits(s, pos, 2, second)) {
        return false;
    }
    if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 || minute > 59 ||
        second > 60) {
        return false;
    }
    if (ReadChar(s, pos, ".")) {
        const size_t start = pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
        if (pos == start) return false;
    }
    if (ReadChar(s, pos, "Zz")) return pos == s.size();
    if (!ReadChar(s, pos, "+-")) return false;
    int offset_hour = 0, offset_minute = 0;
    if (!ReadDigits(s, pos, 2, offset_hour) || !ReadChar(s, pos, ":") || !ReadDigits(s, pos, 2, offset_minute)) {
        return false;
    }
    return offset_hour <= 23 && offset_minute <= 59 && pos == s.size();
}

OpenApiSpec OpenApiSpec::Load(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open OpenAPI document " + path);
    try {
        return OpenApiSpec(nlohmann::json::parse(in));
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error("OpenAPI document " + path + " is not valid JSON: " + e.what());
    }
}

const nlohmann::json* OpenApiSpec::FindOperation(const std::string& method, const std::string& path_template) const {
    const auto paths = doc_.find("paths");
    if (paths == doc_.end() || !paths->is_object()) return nullptr;
    const std::string want = NormalizePathTemplate(path_template);
    const std::string m = Lower(method);
    for (const auto& [path, item] : paths->items()) {
        if (NormalizePathTemplate(path) != want || !item.is_object()) continue;
        const auto op = item.find(m);
        if (op != item.end() && HttpMethods().count(m)) return &*op;
    }
    return nullptr;
}

bool OpenApiSpec::HasOperation(const std::string& method, const std::string& path_template) const {
    return FindOperation(method, path_template) != nullptr;
}

std::vector<std::string> OpenApiSpec::Operations() const {
    std::vector<std::string> out;
    if (!doc_.contains("paths")) return out;
    for (const auto& [path, item] : doc_["paths"].items()) {
        for (const auto& [key, _] : item.items()) {
            if (HttpMethods().count(key)) out.push_back(Upper(key) + " " + path);
        }
    }
    return out;
}

const nlohmann::json* OpenApiSpec::Resolve(const nlohmann::json& maybe_ref, std::vector<std::string>& problems) const {
    const nlohmann::json* node = &maybe_ref;
    // A reference may point at another reference; a chain longer than this is a cycle.
    for (int hops = 0; hops < kMaxDepth; ++hops) {
        if (!node->is_object() || !node->contains("$ref")) return node;
        const auto& ref = (*node)["$ref"];
        if (!ref.is_string() || ref.get<std::string>().rfind("#/", 0) != 0) {
            problems.push_back("unsupported $ref " + Short(ref) + " (only \"#/...\" references are understood)");
            return nullptr;
        }
        try {
            const nlohmann::json::json_pointer ptr(ref.get<std::string>().substr(1));
            if (!doc_.contains(ptr)) {
                problems.push_back("$ref " + Short(ref) + " points nowhere");
                return nullptr;
            }
            node = &doc_.at(ptr);
        } catch (const nlohmann::json::exception&) {
            problems.push_back("$ref " + Short(ref) + " is not a valid JSON pointer");
            return nullptr;
        }
    }
    problems.push_back("$ref chain is too long (a cycle?)");
    return nullptr;
}

std::vector<std::string> OpenApiSpec::CheckContent(const nlohmann::json& response, const nlohmann::json& body,
                                                   const std::string& where, const std::string& media_type) const {
    std::vector<std::string> problems;
    const auto content = response.find("content");
    if (content == response.end() || content->empty()) {
        if (!body.is_null()) problems.push_back(where + ": documented without a body, but got " + Short(body));
        return problems;
    }
    // The exact media type, else one that differs only in its parameters.
    auto media = content->find(media_type);
    if (media == content->end()) {
        for (auto it = content->begin(); it != content->end(); ++it) {
            if (BaseMediaType(it.key()) == BaseMediaType(media_type)) {
                media = it;
                break;
            }
        }
    }
    if (media == content->end()) {
        problems.push_back(where + ": documented content has no " + media_type + " entry");
        return problems;
    }
    if (!media->contains("schema")) {
        problems.push_back(where + ": " + media.key() + " content has no schema");
        return problems;
    }
    std::vector<std::string> found;
    Validate((*media)["schema"], body, "", found, 0);
    for (auto& p : found) problems.push_back(where + ": " + p);
    return problems;
}

std::vector<std::string> OpenApiSpec::CheckResponse(const std::string& method, const std::string& path_template,
                                                    int status, const nlohmann::json& body,
                                                    const std::string& media_type) const {
    const std::string where = Upper(method) + " " + path_template + " " + std::to_string(status);
    const nlohmann::json* op = FindOperation(method, path_template);
    if (op == nullptr) return {where + ": operation " + Upper(method) + " " + path_template + " is not documented"};
    const auto responses = op->find("responses");
    if (responses == op->end() || !responses->is_object()) return {where + ": operation documents no responses"};
    // An exact status wins over a range such as "4XX"; "default" is deliberately not honoured, so
    // that an undocumented status is always caught.
    auto it = responses->find(std::to_string(status));
    if (it == responses->end()) it = responses->find(std::to_string(status / 100) + "XX");
    if (it == responses->end()) {
        std::string documented;
        for (const auto& [key, _] : responses->items()) documented += (documented.empty() ? "" : ", ") + key;
        return {where + ": status " + std::to_string(status) + " is not documented (documented: " + documented + ")"};
    }
    std::vector<std::string> problems;
    const nlohmann::json* response = Resolve(*it, problems);
    if (response == nullptr) {
        for (auto& p : problems) p = where + ": " + p;
        return problems;
    }
    return CheckContent(*response, body, where, media_type);
}

std::vector<std::string> OpenApiSpec::CheckRequestBody(const std::string& method, const std::string& path_template,
                                                       const nlohmann::json& body) const {
    const std::string where = Upper(method) + " " + path_template + " request";
    const nlohmann::json* op = FindOperation(method, path_template);
    if (op == nullptr) return {where + ": operation " + Upper(method) + " " + path_template + " is not documented"};
    const auto request = op->find("requestBody");
    if (request == op->end()) return {where + ": operation documents no request body"};
    std::vector<std::string> problems;
    const nlohmann::json* resolved = Resolve(*request, problems);
    if (resolved == nullptr) {
        for (auto& p : problems) p = where + ": " + p;
        return problems;
    }
    return CheckContent(*resolved, body, where);
}

std::vector<std::string> OpenApiSpec::CheckSchema(const std::string& schema_name, const nlohmann::json& value) const {
    const std::string where = "schema " + schema_name;
    const nlohmann::json::json_pointer ptr("/components/schemas/" + EscapePointerToken(schema_name));
    if (!doc_.contains(ptr)) return {where + ": not in components/schemas"};
    std::vector<std::string> found;
    Validate(doc_.at(ptr), value, "", found, 0);
    for (auto& p : found) p = where + ": " + p;
    return found;
}

std::vector<std::string> OpenApiSpec::CheckNamedResponse(const std::string& response_name,
                                                         const nlohmann::json& body) const {
    const std::string where = "response " + response_name;
    const nlohmann::json::json_pointer ptr("/components/responses/" + EscapePointerToken(response_name));
    if (!doc_.contains(ptr)) return {where + ": not in components/responses"};
    std::vector<std::string> problems;
    const nlohmann::json* response = Resolve(doc_.at(ptr), problems);
    if (response == nullptr) {
        for (auto& p : problems) p = where + ": " + p;
        return problems;
    }
    return CheckContent(*response, body, where);
}

std::vector<std::string> OpenApiSpec::DanglingRefs() const {
    std::vector<std::string> problems;
    // Walk every node; each "$ref" must resolve inside this document.
    std::vector<std::pair<const nlohmann::json*, std::string>> stack = {{&doc_, ""}};
    while (!stack.empty()) {
        auto [node, where] = stack.back();
        stack.pop_back();
        if (node->is_object()) {
            if (auto ref = node->find("$ref"); ref != node->end() && ref->is_string()) {
                std::vector<std::string> found;
                Resolve(*node, found);
                for (const auto& p : found) problems.push_back(Quote(where) + ": " + p);
            }
            for (const auto& [key, child] : node->items())
                stack.emplace_back(&child, where + "/" + EscapePointerToken(key));
        } else if (node->is_array()) {
            for (size_t i = 0; i < node->size(); ++i) stack.emplace_back(&(*node)[i], where + "/" + std::to_string(i));
        }
    }
    return problems;
}

void OpenApiSpec::Validate(const nlohmann::json& schema, const nlohmann::json& value, const std::string& pointer,
                           std::vector<std::string>& problems, int depth) const {
    const std::string at = "at " + Quote(pointer);
    if (depth > kMaxDepth) {
        problems.push_back(at + ": schemas nest too deep (a $ref cycle?)");
        return;
    }
    if (schema.is_boolean()) {
        if (!schema.get<bool>()) problems.push_back(at + ": no value is allowed here, got " + Short(value));
        return;
    }
    if (!schema.is_object()) {
        problems.push_back(at + ": the schema is not an object: " + Short(schema));
        return;
    }
    for (const auto& [keyword, _] : schema.items()) {
        if (!KnownKeywords().count(keyword)) {
            problems.push_back(at + ": the schema uses keyword '" + keyword + "', which this checker does not support");
        }
    }

    if (schema.contains("$ref")) {
        std::vector<std::string> found;
        const nlohmann::json* target = Resolve(schema, found);
        for (const auto& p : found) problems.push_back(at + ": " + p);
        if (target != nullptr) Validate(*target, value, pointer, problems, depth + 1);
    }

    if (auto type = schema.find("type"); type != schema.end()) {
        std::vector<std::string> allowed;
        if (type->is_string()) {
            allowed.push_back(type->get<std::string>());
        } else if (type->is_array()) {
            for (const auto& t : *type) allowed.push_back(t.is_string() ? t.get<std::string>() : t.dump());
        }
        const bool ok = std::any_of(allowed.begin(), allowed.end(), [&](const auto& t) { return HasType(value, t); });
        if (!ok) {
            std::string want;
            for (const auto& t : allowed) want += (want.empty() ? "" : " or ") + t;
            problems.push_back(at + ": expected " + want + ", got " + TypeOf(value) + " " + Short(value));
            return;  // the remaining rules would only repeat this
        }
    }

    if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
        if (std::find(e->begin(), e->end(), value) == e->end()) {
            problems.push_back(at + ": " + Short(value) + " is not one of " + Short(*e));
        }
    }
    if (auto c = schema.find("const"); c != schema.end() && *c != value) {
        problems.push_back(at + ": expected " + Short(*c) + ", got " + Short(value));
    }

    if (value.is_string()) {
        const std::string& s = value.get_ref<const std::string&>();
        const size_t length = CodePoints(s);
        if (auto n = schema.find("minLength"); n != schema.end() && length < n->get<size_t>()) {
            problems.push_back(at + ": string is shorter than " + n->dump() + " characters");
        }
        if (auto n = schema.find("maxLength"); n != schema.end() && length > n->get<size_t>()) {
            problems.push_back(at + ": string is longer than " + n->dump() + " characters");
        }
        if (auto p = schema.find("pattern"); p != schema.end()) {
            if (!std::regex_search(s, std::regex(p->get<std::string>(), std::regex::ECMAScript))) {
                problems.push_back(at + ": " + Short(value) + " does not match pattern " + p->dump());
            }
        }
        if (auto f = schema.find("format"); f != schema.end()) {
            if (*f == "date-time") {
                if (!IsRfc3339DateTime(s))
                    problems.push_back(at + ": " + Short(value) + " is not an RFC 3339 date-time");
            } else {
                problems.push_back(at + ": the schema uses format " + f->dump() +
                                   ", which this checker does not support");
            }
        }
    }

    if (value.is_number()) {
        const double v = value.get<double>();
        if (auto n = schema.find("minimum"); n != schema.end() && v < n->get<double>()) {
            problems.push_back(at + ": " + Short(value) + " is less than the minimum " + n->dump());
        }
        if (auto n = schema.find("maximum"); n != schema.end() && v > n->get<double>()) {
            problems.push_back(at + ": " + Short(value) + " is more than the maximum " + n->dump());
        }
        if (auto n = schema.find("exclusiveMinimum"); n != schema.end() && v <= n->get<double>()) {
            problems.push_back(at + ": " + Short(value) + " is not more than " + n->dump());
        }
        if (auto n = schema.find("exclusiveMaximum"); n != schema.end() && v >= n->get<double>()) {
            problems.push_back(at + ": " + Short(value) + " is not less than " + n->dump());
        }
    }

    if (value.is_object()) {
        if (auto req = schema.find("required"); req != schema.end()) {
            for (const auto& name : *req) {
                if (!value.contains(name.get<std::string>())) {
                    problems.push_back(at + ": required property " + name.dump() + " is missing");
                }
            }
        }
        const auto props = schema.find("properties");
        const auto additional = schema.find("additionalProperties");
        for (const auto& [key, child] : value.items()) {
            const std::string child_pointer = pointer + "/" + EscapePointerToken(key);
            if (props != schema.end() && props->contains(key)) {
                Validate(props->at(key), child, child_pointer, problems, depth + 1);
            } else if (additional != schema.end()) {
                if (additional->is_boolean() && !additional->get<bool>()) {
                    problems.push_back(at + ": property \"" + key +
                                       "\" is not allowed (additionalProperties is false)");
                } else {
                    Validate(*additional, child, child_pointer, problems, depth + 1);
                }
            }
        }
    }

    if (value.is_array()) {
        if (auto n = schema.find("minItems"); n != schema.end() && value.size() < n->get<size_t>()) {
            problems.push_back(at + ": array has fewer than " + n->dump() + " items");
        }
        if (auto n = schema.find("maxItems"); n != schema.end() && value.size() > n->get<size_t>()) {
            problems.push_back(at + ": array has more than " + n->dump() + " items");
        }
        if (auto items = schema.find("items"); items != schema.end()) {
            for (size_t i = 0; i < value.size(); ++i) {
                Validate(*items, value[i], pointer + "/" + std::to_string(i), problems, depth + 1);
            }
        }
    }

    if (auto all = schema.find("allOf"); all != schema.end()) {
        for (const auto& sub : *all) Validate(sub, value, pointer, problems, depth + 1);
    }
    for (const char* keyword : {"anyOf", "oneOf"}) {
        const auto alternatives = schema.find(keyword);
        if (alternatives == schema.end()) continue;
        std::vector<std::vector<std::string>> found(alternatives->size());
        size_t matches = 0;
        for (size_t i = 0; i < alternatives->size(); ++i) {
            Validate((*alternatives)[i], value, pointer, found[i], depth + 1);
            if (found[i].empty()) ++matches;
        }
        const std::string name = keyword;
        if (matches == 0) {
            problems.push_back(at + ": matches none of the " + name + " alternatives");
            // Explain with the nearest alternative(s) only: the others usually fail on the
            // discriminating field and would bury the real difference.
            size_t fewest = SIZE_MAX;
            for (const auto& f : found) fewest = std::min(fewest, f.size());
            for (size_t i = 0; i < found.size(); ++i) {
                if (found[i].size() != fewest) continue;
                for (const auto& p : found[i]) problems.push_back(name + "[" + std::to_string(i) + "] " + p);
            }
        } else if (name == "oneOf" && matches > 1) {
            problems.push_back(at + ": matches " + std::to_string(matches) +
                               " oneOf alternatives, expected exactly one");
        }
    }
}

}  // namespace herald::testing
