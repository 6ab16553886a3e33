#pragma once

// A stand-in for a platform's API on loopback, for the platforms that cannot run here: each
// test says how it answers (routes to handlers) and reads back every request it got. The
// answers are built from the platform's documented responses, kept in tests/data/platforms/.

#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "platforms/http.hpp"

namespace herald::testing {

struct FakeRequest {
    std::string method;
    std::string target;                          ///< path and query, as sent
    std::string path;                            ///< without the query
    std::map<std::string, std::string> query;    ///< decoded
    std::map<std::string, std::string> headers;  ///< names lower-cased
    std::string body;
    /// The body's multipart/form-data parts, by field name (the last of a repeated name wins;
    /// `parts` keeps them all in order).
    struct Part {
        std::string name;
        std::string file_name;
        std::string content_type;
        std::string data;
    };
    std::vector<Part> parts;
    std::string Header(const std::string& name) const;
    nlohmann::json Json() const;  ///< the body as JSON, null when it is not
    /// The value of an application/x-www-form-urlencoded or multipart field.
    std::string Field(const std::string& name) const;
};

struct FakeResponse {
    int status = 200;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string content_type = "application/json";
    int delay_ms = 0;  ///< wait before answering (timeouts after acceptance)
};

class FakePlatform {
  public:
    using Handler = std::function<FakeResponse(const FakeRequest&)>;
    FakePlatform();
    ~FakePlatform();
    FakePlatform(const FakePlatform&) = delete;
    FakePlatform& operator=(const FakePlatform&) = delete;

    /// Requests whose method matches and whose path starts with `path_prefix` go to `handler`;
    /// the longest matching prefix wins. Anything else: 404 with a JSON error.
    void On(const std::string& method, const std::string& path_prefix, Handler handler);
    std::vector<FakeRequest> Requests() const;
    /// Requests to paths starting with `path_prefix`.
    std::vector<FakeRequest> RequestsTo(const std::string& path_prefix) const;

    uint16_t port() const { return port_; }
    std::string Url(const std::string& path = "") const;
    std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }

  private:
    void Serve();
    void Handle(int fd);

    int fd_ = -1;
    uint16_t port_ = 0;
    bool stop_ = false;
    std::thread thread_;
    mutable std::mutex mu_;
    std::map<std::pair<std::string, std::string>, Handler> routes_;
    std::vector<FakeRequest> requests_;
    std::vector<std::thread> workers_;
};

/// tests/data/platforms/<platform>/<file>: a documented response's shape, with our values.
std::string PlatformData(const std::string& platform, const std::string& file);

/// HTTP options that let an adapter reach `fake` on loopback, as an operator allows a
/// private address (platform_allowed_addresses), with the private-address guard on.
platforms::HttpOptions AllowingFake(const FakePlatform& fake);

/// A query string or form body (a=1&b=2), decoded.
std::map<std::string, std::string> ParseQuery(const std::string& q);

/// An answer with no body (YouTube's session answers).
FakeResponse EmptyAnswer(int status, std::vector<std::pair<std::string, std::string>> headers = {});

/// What the queue hands an adapter for one delivery: a fresh delivery id as its key.
app::PublishRequest AdapterRequest(const nlohmann::json& settings, const nlohmann::json& credentials,
                                   const std::string& text);

/// A JSON answer with `status`.
FakeResponse JsonAnswer(int status, const nlohmann::json& body,
                        std::vector<std::pair<std::string, std::string>> headers = {});

}  // namespace herald::testing
