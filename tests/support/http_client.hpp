#pragma once

// A small real HTTP/WebSocket client for API tests. Beast stays inside the .cpp.

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace herald::testing {

struct HttpResult {
    int status = 0;
    std::map<std::string, std::string> headers;  ///< lower-cased names
    std::string body;
    std::string error;            ///< TryRequest only: why no answer came (status is then 0)
    nlohmann::json Json() const;  ///< parsed body; fails the test if it is not JSON
};

class HttpClient {
  public:
    explicit HttpClient(uint16_t port, std::string host = "127.0.0.1") : host_(std::move(host)), port_(port) {}

    HttpResult Request(const std::string& method, const std::string& target, const std::string& body = "",
                       const std::map<std::string, std::string>& headers = {}) const;
    /// Like Request, but a server that refuses the connection or closes it without answering
    /// (one that was killed) is a result, not a test failure: status 0 and `error`. The whole
    /// exchange is bounded by `timeout`.
    HttpResult TryRequest(const std::string& method, const std::string& target, const std::string& body,
                          const std::map<std::string, std::string>& headers, std::chrono::milliseconds timeout) const;
    HttpResult Get(const std::string& target, const std::string& token = "") const;
    HttpResult Delete(const std::string& target, const std::string& token = "") const;
    HttpResult Post(const std::string& target, const nlohmann::json& body, const std::string& token = "") const;
    HttpResult Patch(const std::string& target, const nlohmann::json& body, const std::string& token = "") const;
    HttpResult Put(const std::string& target, const nlohmann::json& body, const std::string& token = "") const;

  private:
    std::map<std::string, std::string> Auth(const std::string& token) const;
    std::string host_;
    uint16_t port_;
};

/// A WebSocket client. Connect() returns the HTTP status of the upgrade (101 on success).
class WsClient {
  public:
    WsClient();
    ~WsClient();
    int Connect(uint16_t port, const std::string& target, const std::map<std::string, std::string>& headers = {});
    /// Next text message, or nullopt after `timeout` with none.
    std::optional<std::string> Read(std::chrono::milliseconds timeout);

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace herald::testing
