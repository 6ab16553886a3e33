#include "net/server.hpp"

// clang-format off
#include "core/asio.hpp"  // before any other Boost header (see core/asio.hpp)
// clang-format on

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

// clang-format off
#include "core/asio.hpp"  // must come before any other Boost header
// clang-format on
namespace herald::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kMaxQueuedWsMessages = 1000;

std::string NewRequestId() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
    return buf;
}

bool SaneRequestId(std::string_view id) {
    if (id.empty() || id.size() > 64) return false;
    for (char c : id) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
    }
    return true;
}

std::string JsonEscape(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (static_cast<unsigned char>(c) >= 0x20) {
            out.push_back(c);
        }
    }
    return out;
}

std::string ErrorJson(const std::string& code, const std::string& message,
                      const std::map<std::string, std::string>& details = {}) {
    // Hand-built to keep nlohmann out of this translation unit; code and message are our own
    // (escaped where they carry a client's text).
    std::string d;
    for (const auto& [k, v] : details) {
        d += (d.empty() ? "\"" : ",\"") + JsonEscape(k) + "\":\"" + JsonEscape(v) + "\"";
    }
    return R"({"error":{"code":")" + code + R"(","message":")" + message + R"(","details":{)" + d + "}}}";
}

Request Convert(const http::request<http::string_body>& req) {
    Request r;
    r.method = std::string(req.method_string());
    std::string_view target(req.target().data(), req.target().size());
    auto q = target.find('?');
    r.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) {
        std::string_view rest = target.substr(q + 1);
        while (!rest.empty()) {
            auto amp = rest.find('&');
            std::string_view pair = rest.substr(0, amp);
            auto eq = pair.find('=');
            auto key = PercentDecode(pair.substr(0, eq));
            auto value =
                eq == std::string_view::npos ? std::optional<std::string>("") : PercentDecode(pair.substr(eq + 1));
            if (!key || !value) {
                r.malformed_query = true;
            } else if (!key->empty()) {
                r.query[*key] = *value;
            }
            if (amp == std::string_view::npos) break;
            rest = rest.substr(amp + 1);
        }
    }
    for (const auto& field : req) {
        std::string name(field.name_string().data(), field.name_string().size());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        r.headers[name] = std::string(field.value().data(), field.value().size());
    }
    r.body = req.body();
    auto rid = r.headers.find("x-request-id");
    r.request_id = (rid != r.headers.end() && SaneRequestId(rid->second)) ? rid->second : NewRequestId();
    return r;
}

http::response<http::string_body> ToBeast(const Response& resp, unsigned version, bool keep_alive,
                                          const std::string& request_id) {
    http::response<http::string_body> out{static_cast<http::status>(resp.status), version};
    out.set(http::field::server, "herald");
    if (!resp.content_type.empty()) out.set(http::field::content_type, resp.content_type);
    out.set("X-Request-Id", request_id);
    for (const auto& [k, v] : resp.headers) out.set(k, v);
    out.body() = resp.body;
    out.keep_alive(keep_alive);
    out.prepare_payload();
    return out;
}

struct WsSession : std::enable_shared_from_this<WsSession> {
    explicit WsSession(beast::tcp_stream&& stream) : ws(std::move(stream)) {}

    // Called from any thread; the write happens on the I/O thread, one at a time.
    void Send(std::string text) {
        asio::post(ws.get_executor(), [self = shared_from_this(), t = std::move(text)]() mutable {
            if (self->closed) return;
            if (self->queue.size() >= kMaxQueuedWsMessages) {
                // A client that cannot keep up is cut off rather than making the server hold
                // unbounded memory for it; it can reconnect and re-read state over HTTP.
                spdlog::warn("event=ws_slow_consumer_dropped");
                self->Close();
                return;
            }
            self->queue.push_back(std::move(t));
            if (!self->writing) self->WriteNext();
        });
    }

    void WriteNext() {
        writing = true;
        ws.text(true);
        ws.async_write(asio::buffer(queue.front()), [self = shared_from_this()](beast::error_code ec, size_t) {
            self->queue.pop_front();
            if (ec || self->queue.empty()) {
                self->writing = false;
                return;
            }
            self->WriteNext();
        });
    }

    void Close() {
        asio::post(ws.get_executor(), [self = shared_from_this()] {
            if (self->closed) return;
            self->closed = true;
            self->ws.async_close(websocket::close_code::going_away, [self](beast::error_code) {});
        });
    }

    websocket::stream<beast::tcp_stream> ws;
    std::deque<std::string> queue;
    bool writing = false;
    bool closed = false;
};

}  // namespace

struct Server::Impl {
    Impl(ServerOptions o, HttpHandler h, WsAcceptor w)
        : options(std::move(o)), http(std::move(h)), ws_accept(std::move(w)), pool(options.handler_threads) {}

    ServerOptions options;
    HttpHandler http;
    WsAcceptor ws_accept;
    asio::io_context ioc{1};
    asio::thread_pool pool;
    tcp::acceptor acceptor{ioc};
    asio::signal_set signals{ioc, SIGINT, SIGTERM};
    std::thread io_thread;
    std::atomic<int> inflight{0};
    std::atomic<bool> stopping{false};
    bool stopped = false;
    uint16_t port = 0;
    std::function<void()> on_terminate;

    std::mutex hub_mu;
    std::unordered_map<std::string, std::vector<std::weak_ptr<WsSession>>> hub;

    // Runs `fn` on the handler pool and resumes on the I/O thread with its result.
    template <typename T, typename Fn>
    asio::awaitable<T> OnPool(Fn fn) {
        co_return co_await asio::co_spawn(
            pool, [fn = std::move(fn)]() -> asio::awaitable<T> { co_return fn(); }, asio::use_awaitable);
    }

    asio::awaitable<void> Listen() {
        for (;;) {
            beast::error_code ec;
            tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
                spdlog::warn("event=accept_failed error=\"{}\"", ec.message());
                continue;
            }
            asio::co_spawn(ioc, Session(std::move(socket)), asio::detached);
        }
    }

    asio::awaitable<void> WriteError(beast::tcp_stream& stream, http::status status, const std::string& code,
                                     const std::string& message,
                                     const std::map<std::string, std::string>& details = {}) {
        http::response<http::string_body> res{status, 11};
        res.set(http::field::content_type, "application/json");
        res.body() = ErrorJson(code, message, details);
        res.keep_alive(false);
        res.prepare_payload();
        beast::error_code ec;
        co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    }

    // After refusing a request early, read (and drop) what the client is still sending for a
    // short while, so it sees our answer instead of a connection reset.
    asio::awaitable<void> Drain(beast::tcp_stream& stream) {
        beast::error_code ec;
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
        std::array<char, 16384> sink;
        size_t drained = 0;
        stream.expires_after(std::chrono::seconds(2));
        while (!ec && drained < 64 * 1024 * 1024) {
            drained +=
                co_await stream.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
        }
    }

    // Reads a multipart body in chunks into a MultipartParser, so file parts go to the spool
    // folder as they arrive. The clock: each read must bring something within read_timeout, and
    // after the grace period the average rate must stay above the configured minimum, so a
    // client trickling bytes (slow loris) cannot hold a connection and a spool file for hours.
    // kRateLimited stands for "too slow" here (answered 408).
    asio::awaitable<core::Result<std::vector<UploadPart>>> ReadUpload(beast::tcp_stream& stream,
                                                                      beast::flat_buffer& buffer,
                                                                      http::request_parser<http::string_body>& header,
                                                                      const std::string& boundary) {
        const auto& u = options.uploads;
        MultipartParser form(boundary, u.spool_dir, u.limits);
        http::request_parser<http::buffer_body> parser(std::move(header));
        std::vector<char> chunk(64 * 1024);
        const auto started = std::chrono::steady_clock::now();
        uint64_t received = 0;
        // Reads of up to 64 KiB: the buffer left by the header would make them a few KiB each,
        // and the upload would cost a system call (and a timer reset) per few KiB.
        buffer.reserve(chunk.size());
        while (!parser.is_done()) {
            parser.get().body().data = chunk.data();
            parser.get().body().size = chunk.size();
            stream.expires_after(options.read_timeout);
            beast::error_code ec;
            // read_some: back after each arrival, however small, so that the rate is checked
            // while a slow client trickles (a full read would wait for 64 KiB).
            co_await http::async_read_some(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
            if (ec == http::error::need_buffer) ec = {};
            if (ec == http::error::body_limit) {
                co_return core::Fail(
                    core::ErrorCode::kPayloadTooLarge,
                    "the upload is larger than the limit of " + std::to_string(u.max_request_bytes) + " bytes");
            }
            if (ec == beast::error::timeout) {
                co_return core::Fail(
                    core::ErrorCode::kRateLimited,
                    "the upload stalled: no data for " + std::to_string(options.read_timeout.count()) + " s");
            }
            if (ec) co_return core::Fail(core::ErrorCode::kInvalidArgument, "the upload broke off: " + ec.message());
            const size_t n = chunk.size() - parser.get().body().size;
            received += n;
            if (auto s = form.Feed(std::string_view(chunk.data(), n)); !s) co_return tl::unexpected(s.error());
            const auto elapsed = std::chrono::steady_clock::now() - started;
            if (elapsed > u.rate_grace) {
                const double seconds = std::chrono::duration<double>(elapsed).count();
                if (static_cast<double>(received) / seconds < static_cast<double>(u.min_bytes_per_second)) {
                    co_return core::Fail(core::ErrorCode::kRateLimited, "the upload is too slow: under " +
                                                                            std::to_string(u.min_bytes_per_second) +
                                                                            " bytes per second");
                }
            }
        }
        if (auto s = form.Finish(); !s) co_return tl::unexpected(s.error());
        co_return form.TakeParts();
    }

    asio::awaitable<void> Session(tcp::socket socket) {
        beast::tcp_stream stream(std::move(socket));
        beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.header_limit(32 * 1024);
            stream.expires_after(options.read_timeout);
            beast::error_code ec;
            // The header first: the body limit depends on where the request goes. The parser
            // checks a Content-Length against its limit while it reads the header, so that limit
            // must be the largest of all (Beast's default is 1 MiB); the path's own limit is
            // checked here once the path is known, and by the parser for a chunked body.
            uint64_t largest = std::max(options.max_body_bytes, options.uploads.max_request_bytes);
            for (const auto& [p, l] : options.large_body_paths) largest = std::max(largest, l);
            parser.body_limit(largest);
            uint64_t limit = options.max_body_bytes;
            std::optional<std::string> boundary;  // set for an upload
            co_await http::async_read_header(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
            if (!ec || ec == http::error::body_limit) {
                const auto target = parser.get().target();
                const auto path = target.substr(0, target.find('?'));
                // Only a request that names a bearer token gets the larger limit: an anonymous
                // client cannot make the server read megabytes only to be told 401.
                const bool has_token = parser.get().find(http::field::authorization) != parser.get().end();
                for (const auto& [p, l] : options.large_body_paths) {
                    if (path == p && has_token) limit = std::max(limit, l);
                }
                const auto& u = options.uploads;
                if (has_token && parser.get().method() == http::verb::post &&
                    std::find(u.paths.begin(), u.paths.end(), std::string_view(path.data(), path.size())) !=
                        u.paths.end()) {
                    const auto ct = parser.get()[http::field::content_type];
                    boundary = MultipartBoundary(std::string_view(ct.data(), ct.size()));
                    if (boundary) limit = std::max(limit, u.max_request_bytes);
                }
            }
            std::vector<UploadPart> uploads;
            std::optional<core::Error> upload_error;
            http::request<http::string_body> upload_head;
            if (!ec) {
                const auto length = parser.content_length();
                if (length && *length > limit) {
                    ec = http::error::body_limit;
                } else if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
                    // curl sends this with any body over 1 MB and waits a second for the answer
                    // before sending anyway: say "go on" at once.
                    http::response<http::empty_body> go_on{http::status::continue_, parser.get().version()};
                    co_await http::async_write(stream, go_on, asio::redirect_error(asio::use_awaitable, ec));
                }
                if (ec) {
                    // refused above, or the client went away
                } else if (boundary) {
                    parser.body_limit(limit);
                    upload_head = parser.get();  // the parser is consumed by the upload
                    auto got = co_await ReadUpload(stream, buffer, parser, *boundary);
                    if (got) {
                        uploads = std::move(*got);
                    } else {
                        upload_error = std::move(got.error());
                    }
                } else {
                    parser.body_limit(limit);
                    co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
                }
            }
            if (ec == http::error::body_limit) {
                co_await WriteError(stream, http::status::payload_too_large, "payload_too_large",
                                    "request body is larger than the limit of " + std::to_string(limit) + " bytes");
                co_await Drain(stream);
                break;
            }
            if (upload_error) {
                const auto& e = *upload_error;
                const auto status = e.code == core::ErrorCode::kPayloadTooLarge ? http::status::payload_too_large
                                    : e.code == core::ErrorCode::kUnavailable   ? http::status::service_unavailable
                                    : e.code == core::ErrorCode::kRateLimited   ? http::status::request_timeout
                                                                                : http::status::bad_request;
                const auto code = e.code == core::ErrorCode::kRateLimited ? std::string("request_timeout")
                                                                          : std::string(core::ToString(e.code));
                co_await WriteError(stream, status, code, JsonEscape(e.message), e.details);
                if (e.code != core::ErrorCode::kRateLimited) co_await Drain(stream);
                break;
            }
            if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof ||
                ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
                break;
            }
            if (ec) {
                co_await WriteError(stream, http::status::bad_request, "invalid_argument", "malformed HTTP request");
                break;
            }
            auto& req = boundary ? upload_head : parser.get();
            if (!boundary && websocket::is_upgrade(req)) {
                co_await WebSocket(std::move(stream), parser.release());
                co_return;
            }
            ++inflight;
            Request r = Convert(req);
            if (boundary) {
                r.multipart = true;
                r.uploads = std::move(uploads);
            }
            // Whatever the handler did not move out of the spool goes once it has answered, and
            // before the answer is sent: a client that sees the answer sees the spool clean.
            struct RemoveLeftovers {
                Request& r;
                void Now() {
                    for (const auto& p : r.uploads) {
                        if (p.path.empty()) continue;
                        std::error_code ignored;
                        std::filesystem::remove(p.path, ignored);
                    }
                    r.uploads.clear();
                }
                ~RemoveLeftovers() { Now(); }
            } leftovers{r};
            Response resp;
            try {
                resp = co_await OnPool<Response>([this, &r] { return http(r); });
            } catch (const std::exception& e) {
                spdlog::error("event=handler_threw request_id={} error=\"{}\"", r.request_id, e.what());
                resp = Response{500, "application/json", ErrorJson("internal", "internal error"), {}, {}};
            }
            leftovers.Now();
            const bool keep_alive = req.keep_alive() && !stopping;
            if (!resp.file.empty()) {
                // A file answer streams from disk: a 100 MB video is never read into memory.
                http::response<http::file_body> out{static_cast<http::status>(resp.status), req.version()};
                out.body().open(resp.file.c_str(), beast::file_mode::scan, ec);
                if (!ec) {
                    out.set(http::field::server, "herald");
                    out.set(http::field::content_type, resp.content_type);
                    out.set("X-Request-Id", r.request_id);
                    for (const auto& [k, v] : resp.headers) out.set(k, v);
                    out.keep_alive(keep_alive);
                    out.prepare_payload();
                    if (req.method() == http::verb::head) {
                        http::response_serializer<http::file_body> sr{out};
                        sr.split(true);
                        co_await http::async_write_header(stream, sr, asio::redirect_error(asio::use_awaitable, ec));
                    } else {
                        co_await http::async_write(stream, out, asio::redirect_error(asio::use_awaitable, ec));
                    }
                    --inflight;
                    if (ec || !keep_alive) break;
                    continue;
                }
                spdlog::warn("event=file_answer_failed request_id={} error=\"{}\"", r.request_id, ec.message());
                ec = {};
                resp = Response{404, "application/json", ErrorJson("not_found", "the file is gone"), {}, {}};
            }
            auto out = ToBeast(resp, req.version(), keep_alive, r.request_id);
            co_await http::async_write(stream, out, asio::redirect_error(asio::use_awaitable, ec));
            --inflight;
            if (ec || !keep_alive) break;
        }
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    asio::awaitable<void> WebSocket(beast::tcp_stream stream, http::request<http::string_body> req) {
        Request r = Convert(req);
        Response reject;
        std::optional<std::string> topic;
        try {
            topic = co_await OnPool<std::optional<std::string>>([this, &r, &reject] { return ws_accept(r, reject); });
        } catch (const std::exception& e) {
            spdlog::error("event=ws_accept_threw error=\"{}\"", e.what());
            reject = Response{500, "application/json", ErrorJson("internal", "internal error"), {}};
        }
        beast::error_code ec;
        if (!topic) {
            auto out = ToBeast(reject, req.version(), false, r.request_id);
            co_await http::async_write(stream, out, asio::redirect_error(asio::use_awaitable, ec));
            co_return;
        }
        stream.expires_never();
        auto session = std::make_shared<WsSession>(std::move(stream));
        session->ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
        co_await session->ws.async_accept(req, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        {
            std::lock_guard lock(hub_mu);
            auto& list = hub[*topic];
            std::erase_if(list, [](const auto& w) { return w.expired(); });
            list.push_back(session);
        }
        spdlog::debug("event=ws_connected topic={}", *topic);
        beast::flat_buffer buffer;
        for (;;) {
            // Clients only listen; reading keeps control frames (ping, close) flowing.
            co_await session->ws.async_read(buffer, asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
            buffer.consume(buffer.size());
        }
        session->closed = true;
    }
};

Server::Server(ServerOptions options, HttpHandler http, WsAcceptor ws)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(http), std::move(ws))) {}

Server::~Server() { Stop(std::chrono::milliseconds(0)); }

core::Status Server::Start() {
    beast::error_code ec;
    auto address = asio::ip::make_address(impl_->options.host, ec);
    if (ec) {
        return core::Fail(core::ErrorCode::kInvalidArgument,
                          "listen address '" + impl_->options.host + "' is not an IP address");
    }
    tcp::endpoint endpoint{address, impl_->options.port};
    impl_->acceptor.open(endpoint.protocol(), ec);
    if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) impl_->acceptor.bind(endpoint, ec);
    if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        return core::Fail(core::ErrorCode::kUnavailable, "cannot listen on " + impl_->options.host + ":" +
                                                             std::to_string(impl_->options.port) + ": " + ec.message());
    }
    impl_->port = impl_->acceptor.local_endpoint().port();
    impl_->signals.async_wait([this](beast::error_code e, int signal) {
        if (e) return;
        spdlog::info("event=signal_received signal={}", signal);
        if (impl_->on_terminate) impl_->on_terminate();
    });
    asio::co_spawn(impl_->ioc, impl_->Listen(), asio::detached);
    impl_->io_thread = std::thread([this] { impl_->ioc.run(); });
    return {};
}

uint16_t Server::Port() const { return impl_->port; }

void Server::OnTerminate(std::function<void()> on_signal) { impl_->on_terminate = std::move(on_signal); }

void Server::Publish(const std::string& topic, std::string text) {
    std::vector<std::shared_ptr<WsSession>> targets;
    {
        std::lock_guard lock(impl_->hub_mu);
        auto it = impl_->hub.find(topic);
        if (it == impl_->hub.end()) return;
        for (auto& w : it->second) {
            if (auto s = w.lock()) targets.push_back(std::move(s));
        }
    }
    for (auto& s : targets) s->Send(text);
}

bool Server::HasListeners(const std::string& topic) const {
    std::lock_guard lock(impl_->hub_mu);
    auto it = impl_->hub.find(topic);
    return it != impl_->hub.end() && !it->second.empty();
}

std::vector<std::string> Server::Topics() const {
    std::lock_guard lock(impl_->hub_mu);
    std::vector<std::string> out;
    for (const auto& [topic, listeners] : impl_->hub) {
        if (!listeners.empty()) out.push_back(topic);
    }
    return out;
}

void Server::Stop(std::chrono::milliseconds grace) {
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->stopping = true;
    if (impl_->io_thread.joinable()) {
        asio::post(impl_->ioc, [this] {
            beast::error_code ec;
            impl_->acceptor.close(ec);
            impl_->signals.cancel(ec);
        });
        const auto deadline = std::chrono::steady_clock::now() + grace;
        while (impl_->inflight > 0 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        {
            std::lock_guard lock(impl_->hub_mu);
            for (auto& [_, list] : impl_->hub) {
                for (auto& w : list) {
                    if (auto s = w.lock()) s->Close();
                }
            }
            impl_->hub.clear();
        }
        // Give close frames a moment to leave, then stop the loop.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        impl_->ioc.stop();
        impl_->io_thread.join();
    }
    impl_->pool.join();
}

}  // namespace herald::net
