#include "http_client.hpp"

// clang-format off
#include "core/asio.hpp"  // before any other Boost header (see core/asio.hpp)
// clang-format on

#include <gtest/gtest.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

// clang-format off
#include "core/asio.hpp"  // must come before any other Boost header
// clang-format on
namespace herald::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

nlohmann::json HttpResult::Json() const {
    auto j = nlohmann::json::parse(body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "response is not JSON: " << body;
    return j;
}

namespace {

http::request<http::string_body> BuildRequest(const std::string& host, const std::string& method,
                                              const std::string& target, const std::string& body,
                                              const std::map<std::string, std::string>& headers) {
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, host);
    for (const auto& [k, v] : headers) req.set(k, v);
    if (!body.empty() && headers.find("Content-Type") == headers.end()) {
        req.set(http::field::content_type, "application/json");
    }
    req.body() = body;
    req.prepare_payload();
    return req;
}

HttpResult ToResult(http::response<http::string_body>& res) {
    HttpResult out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.headers[name] = std::string(f.value());
    }
    out.body = std::move(res.body());
    return out;
}

}  // namespace

HttpResult HttpClient::Request(const std::string& method, const std::string& target, const std::string& body,
                               const std::map<std::string, std::string>& headers) const {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect(tcp::endpoint(asio::ip::make_address(host_), port_));
    auto req = BuildRequest(host_, method, target, body, headers);
    beast::error_code ec;
    // A server may answer (413) and close before the whole body is sent: still read its answer.
    http::write(stream, req, ec);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(stream, buffer, parser, ec);
    if (ec) {
        ADD_FAILURE() << "HTTP read failed: " << ec.message();
        return HttpResult{};
    }
    auto out = ToResult(parser.get());
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return out;
}

HttpResult HttpClient::TryRequest(const std::string& method, const std::string& target, const std::string& body,
                                  const std::map<std::string, std::string>& headers,
                                  std::chrono::milliseconds timeout) const {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    auto req = BuildRequest(host_, method, target, body, headers);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    beast::error_code result;
    // Asynchronous only so that the stream's deadline covers connect, write and read.
    stream.expires_after(timeout);
    stream.async_connect(tcp::endpoint(asio::ip::make_address(host_), port_), [&](beast::error_code ec) {
        if (ec) {
            result = ec;
            return;
        }
        http::async_write(stream, req, [&](beast::error_code wec, size_t) {
            if (wec) {
                result = wec;
                return;
            }
            http::async_read(stream, buffer, parser, [&](beast::error_code rec, size_t) { result = rec; });
        });
    });
    ioc.run();
    HttpResult out;
    if (result) {
        out.error = result.message();
        return out;
    }
    out = ToResult(parser.get());
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return out;
}

std::map<std::string, std::string> HttpClient::Auth(const std::string& token) const {
    if (token.empty()) return {};
    return {{"Authorization", "Bearer " + token}};
}

HttpResult HttpClient::Get(const std::string& target, const std::string& token) const {
    return Request("GET", target, "", Auth(token));
}

HttpResult HttpClient::Delete(const std::string& target, const std::string& token) const {
    return Request("DELETE", target, "", Auth(token));
}

HttpResult HttpClient::Post(const std::string& target, const nlohmann::json& body, const std::string& token) const {
    return Request("POST", target, body.dump(), Auth(token));
}

HttpResult HttpClient::Patch(const std::string& target, const nlohmann::json& body, const std::string& token) const {
    return Request("PATCH", target, body.dump(), Auth(token));
}

HttpResult HttpClient::Put(const std::string& target, const nlohmann::json& body, const std::string& token) const {
    return Request("PUT", target, body.dump(), Auth(token));
}

struct WsClient::Impl {
    asio::io_context ioc;
    std::optional<websocket::stream<beast::tcp_stream>> ws;
    beast::flat_buffer buffer;
};

WsClient::WsClient() : impl_(std::make_unique<Impl>()) {}
WsClient::~WsClient() {
    if (impl_->ws && impl_->ws->is_open()) {
        beast::error_code ec;
        impl_->ws->close(websocket::close_code::normal, ec);
    }
}

int WsClient::Connect(uint16_t port, const std::string& target, const std::map<std::string, std::string>& headers) {
    impl_->ws.emplace(impl_->ioc);
    beast::get_lowest_layer(*impl_->ws).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    impl_->ws->set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
        for (const auto& [k, v] : headers) req.set(k, v);
    }));
    websocket::response_type res;
    beast::error_code ec;
    impl_->ws->handshake(res, "127.0.0.1", target, ec);
    if (!ec) return static_cast<int>(res.result_int());
    // Beast 1.74 does not hand back the response of a declined upgrade; ask again over plain
    // HTTP with the same upgrade headers to learn what the server answered.
    std::map<std::string, std::string> probe = headers;
    probe["Connection"] = "Upgrade";
    probe["Upgrade"] = "websocket";
    probe["Sec-WebSocket-Version"] = "13";
    probe["Sec-WebSocket-Key"] = "dGhlIHNhbXBsZSBub25jZQ==";
    return HttpClient(port).Request("GET", target, "", probe).status;
}

std::optional<std::string> WsClient::Read(std::chrono::milliseconds timeout) {
    std::optional<std::string> out;
    bool done = false;
    impl_->ws->async_read(impl_->buffer, [&](beast::error_code ec, size_t) {
        done = true;
        if (!ec) {
            out = beast::buffers_to_string(impl_->buffer.data());
            impl_->buffer.consume(impl_->buffer.size());
        }
    });
    impl_->ioc.restart();
    impl_->ioc.run_for(timeout);
    if (!done) {
        // Cancel the pending read and let it complete, so the stream stays usable.
        beast::get_lowest_layer(*impl_->ws).cancel();
        impl_->ioc.restart();
        impl_->ioc.run();
        // A cancelled read leaves a websocket stream unusable; callers treat nullopt as final.
    }
    return out;
}

}  // namespace herald::testing
