#pragma once

// Checks real requests and responses against src/api/openapi.json, using the subset of JSON Schema
// that document uses. A keyword or format outside that subset is reported as a problem rather than
// skipped, so the document cannot drift into something this checker silently ignores.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace herald::testing {

class OpenApiSpec {
  public:
    /// Reads and parses the document; throws std::runtime_error when it cannot.
    static OpenApiSpec Load(const std::string& path);
    explicit OpenApiSpec(nlohmann::json document) : doc_(std::move(document)) {}

    /// Problems with `body` as the answer of `method path_template` with `status`; empty means it
    /// conforms. Pass a null body for a response without one (204, 101). An undocumented
    /// operation or status is a problem. Path parameters match by position: "/api/v1/posts/{}"
    /// finds "/api/v1/posts/{post_id}". `media_type` is the answer's Content-Type; a body that
    /// is not JSON (text/plain) is passed as a JSON string.
    std::vector<std::string> CheckResponse(const std::string& method, const std::string& path_template, int status,
                                           const nlohmann::json& body,
                                           const std::string& media_type = "application/json") const;
    /// Problems with `body` as the JSON request body of the operation.
    std::vector<std::string> CheckRequestBody(const std::string& method, const std::string& path_template,
                                              const nlohmann::json& body) const;
    bool HasOperation(const std::string& method, const std::string& path_template) const;

    /// Problems with `value` against components/schemas/<name> (e.g. a WebSocket message).
    std::vector<std::string> CheckSchema(const std::string& schema_name, const nlohmann::json& value) const;
    /// Problems with `body` against components/responses/<name>, for answers that belong to no
    /// operation (405 for a method the path does not have).
    std::vector<std::string> CheckNamedResponse(const std::string& response_name, const nlohmann::json& body) const;

    /// Every documented operation as "METHOD /path/template".
    std::vector<std::string> Operations() const;
    /// References ("#/...") that point nowhere, as problems.
    std::vector<std::string> DanglingRefs() const;

    const nlohmann::json& document() const { return doc_; }

  private:
    const nlohmann::json* FindOperation(const std::string& method, const std::string& path_template) const;
    const nlohmann::json* Resolve(const nlohmann::json& maybe_ref, std::vector<std::string>& problems) const;
    std::vector<std::string> CheckContent(const nlohmann::json& response, const nlohmann::json& body,
                                          const std::string& where,
                                          const std::string& media_type = "application/json") const;
    void Validate(const nlohmann::json& schema, const nlohmann::json& value, const std::string& pointer,
                  std::vector<std::string>& problems, int depth) const;

    nlohmann::json doc_;
};

/// "/api/v1/posts/{post_id}" and "/api/v1/posts/{}" both become "/api/v1/posts/{}".
std::string NormalizePathTemplate(const std::string& path_template);

/// Whether `s` is an RFC 3339 date-time ("2026-12-01T09:00:00Z", "2026-12-01T10:00:00.5+01:00").
bool IsRfc3339DateTime(const std::string& s);

}  // namespace herald::testing
