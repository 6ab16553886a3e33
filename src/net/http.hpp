#pragma once

// Plain request and response values, so that handlers (api/) never see Beast or Asio.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "net/multipart.hpp"

namespace herald::net {

struct Request {
    std::string method;                          ///< "GET", "POST", …
    std::string path;                            ///< without the query, not percent-decoded
    std::map<std::string, std::string> query;    ///< percent-decoded
    std::map<std::string, std::string> headers;  ///< keys lower-cased
    std::string body;
    /// A multipart/form-data upload to one of the server's upload paths: its parts, file parts
    /// already on disk. `body` is empty then.
    std::vector<UploadPart> uploads;
    bool multipart = false;
    std::string request_id;        ///< from X-Request-Id if sane, else generated
    bool malformed_query = false;  ///< a query parameter had a broken %-escape

    std::optional<std::string> Header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        if (it == headers.end()) return std::nullopt;
        return it->second;
    }
};

struct Response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    /// When set, the body is this file, streamed from disk (large media); `body` is ignored.
    std::string file;
};

/// Answers one request. Runs on the handler thread pool, so it may block (database, argon2).
using HttpHandler = std::function<Response(const Request&)>;

/// Decides whether a WebSocket upgrade is accepted. Returns the topic the connection listens to,
/// or nothing and fills `reject` with the HTTP answer. Runs on the handler thread pool.
using WsAcceptor = std::function<std::optional<std::string>(const Request& request, Response& reject)>;

/// Percent-decodes a URL component ('+' stays '+'); nullopt for a malformed escape.
std::optional<std::string> PercentDecode(std::string_view s);

}  // namespace herald::net
