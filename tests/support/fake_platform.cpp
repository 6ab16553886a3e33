#include "fake_platform.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include "core/ids.hpp"

namespace herald::testing {
namespace {

std::string Lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

std::string UrlDecode(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%' && i + 2 < s.size()) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

// Parameter `name` of a header value such as `form-data; name="x"; filename="y"`.
std::string Param(const std::string& header, const std::string& name) {
    const auto at = header.find(name + "=\"");
    if (at == std::string::npos) return "";
    const auto start = at + name.size() + 2;
    return header.substr(start, header.find('"', start) - start);
}

std::vector<FakeRequest::Part> ParseMultipart(const std::string& body, const std::string& content_type) {
    std::vector<FakeRequest::Part> parts;
    const auto b = content_type.find("boundary=");
    if (b == std::string::npos) return parts;
    std::string boundary = content_type.substr(b + 9);
    if (!boundary.empty() && boundary.front() == '"') boundary = boundary.substr(1, boundary.find('"', 1) - 1);
    const std::string delim = "--" + boundary;
    size_t pos = body.find(delim);
    while (pos != std::string::npos) {
        pos += delim.size();
        if (body.compare(pos, 2, "--") == 0) break;
        pos += 2;  // CRLF
        const auto head_end = body.find("\r\n\r\n", pos);
        const auto next = body.find("\r\n" + delim, head_end);
        if (head_end == std::string::npos || next == std::string::npos) break;
        FakeRequest::Part part;
        std::stringstream head(body.substr(pos, head_end - pos));
        for (std::string line; std::getline(head, line);) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            const auto colon = line.find(':');
            if (colon == std::string::npos) continue;
            const std::string name = Lower(line.substr(0, colon));
            const std::string value = line.substr(colon + 2);
            if (name == "content-disposition") {
                part.name = Param(value, "name");
                part.file_name = Param(value, "filename");
            } else if (name == "content-type") {
                part.content_type = value;
            }
        }
        part.data = body.substr(head_end + 4, next - head_end - 4);
        parts.push_back(std::move(part));
        pos = next + 2;
    }
    return parts;
}

}  // namespace

FakeResponse EmptyAnswer(int status, std::vector<std::pair<std::string, std::string>> headers) {
    FakeResponse r;
    r.status = status;
    r.content_type.clear();
    r.headers = std::move(headers);
    return r;
}

app::PublishRequest AdapterRequest(const nlohmann::json& settings, const nlohmann::json& credentials,
                                   const std::string& text) {
    app::PublishRequest r;
    r.delivery_id = core::NewId(core::SystemClock().Now());
    r.idempotency_key = r.delivery_id;
    r.account_id = "acct";
    r.account_settings_json = settings.dump();
    r.credentials = credentials.dump();
    r.text = text;
    return r;
}

platforms::HttpOptions AllowingFake(const FakePlatform& fake) {
    platforms::HttpOptions o;
    o.guard_private = true;
    o.allowed = {fake.Address()};
    return o;
}

std::map<std::string, std::string> ParseQuery(const std::string& q) {
    std::map<std::string, std::string> out;
    std::stringstream in(q);
    for (std::string pair; std::getline(in, pair, '&');) {
        const auto eq = pair.find('=');
        out[UrlDecode(pair.substr(0, eq))] = eq == std::string::npos ? "" : UrlDecode(pair.substr(eq + 1));
    }
    return out;
}

std::string FakeRequest::Header(const std::string& name) const {
    auto it = headers.find(Lower(name));
    return it == headers.end() ? "" : it->second;
}

nlohmann::json FakeRequest::Json() const {
    auto j = nlohmann::json::parse(body, nullptr, false);
    return j.is_discarded() ? nlohmann::json() : j;
}

std::string FakeRequest::Field(const std::string& name) const {
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->name == name) return it->data;
    }
    if (Header("content-type").rfind("application/x-www-form-urlencoded", 0) == 0) {
        auto fields = ParseQuery(body);
        if (auto it = fields.find(name); it != fields.end()) return it->second;
    }
    return "";
}

FakePlatform::FakePlatform() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 64);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
}

FakePlatform::~FakePlatform() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (auto& w : workers_) w.join();
}

void FakePlatform::On(const std::string& method, const std::string& path_prefix, Handler handler) {
    std::lock_guard lock(mu_);
    routes_[{method, path_prefix}] = std::move(handler);
}

std::vector<FakeRequest> FakePlatform::Requests() const {
    std::lock_guard lock(mu_);
    return requests_;
}

std::vector<FakeRequest> FakePlatform::RequestsTo(const std::string& path_prefix) const {
    std::vector<FakeRequest> out;
    for (auto& r : Requests()) {
        if (r.path.rfind(path_prefix, 0) == 0) out.push_back(std::move(r));
    }
    return out;
}

std::string FakePlatform::Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void FakePlatform::Serve() {
    while (true) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::lock_guard lock(mu_);
        if (stop_) {
            ::close(c);
            return;
        }
        workers_.emplace_back([this, c] { Handle(c); });
    }
}

void FakePlatform::Handle(int c) {
    std::string data;
    char buf[65536];
    auto fill = [&]() {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) return false;
        data.append(buf, static_cast<size_t>(n));
        return true;
    };
    while (data.find("\r\n\r\n") == std::string::npos) {
        if (!fill()) {
            ::close(c);
            return;
        }
    }
    const auto head_end = data.find("\r\n\r\n");
    FakeRequest r;
    std::stringstream head(data.substr(0, head_end));
    std::string line;
    std::getline(head, line);
    {
        std::stringstream first(line);
        first >> r.method >> r.target;
    }
    while (std::getline(head, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        size_t v = colon + 1;
        while (v < line.size() && line[v] == ' ') ++v;
        r.headers[Lower(line.substr(0, colon))] = line.substr(v);
    }
    std::string rest = data.substr(head_end + 4);
    if (Lower(r.Header("transfer-encoding")) == "chunked") {
        // Chunked: read until the last chunk, then unchunk.
        while (rest.find("\r\n0\r\n\r\n") == std::string::npos && rest.rfind("0\r\n\r\n", 0) != 0) {
            const size_t before = data.size();
            if (!fill()) break;
            rest += data.substr(before);
        }
        std::string body;
        size_t pos = 0;
        while (pos < rest.size()) {
            const auto eol = rest.find("\r\n", pos);
            const size_t size = std::stoul(rest.substr(pos, eol - pos), nullptr, 16);
            if (size == 0) break;
            body += rest.substr(eol + 2, size);
            pos = eol + 2 + size + 2;
        }
        r.body = std::move(body);
    } else {
        const size_t length = r.headers.count("content-length") ? std::stoul(r.Header("content-length")) : 0;
        while (rest.size() < length) {
            const size_t before = data.size();
            if (!fill()) break;
            rest += data.substr(before);
        }
        r.body = rest.substr(0, length);
    }
    const auto q = r.target.find('?');
    r.path = r.target.substr(0, q);
    if (q != std::string::npos) r.query = ParseQuery(r.target.substr(q + 1));
    if (r.Header("content-type").rfind("multipart/form-data", 0) == 0) {
        r.parts = ParseMultipart(r.body, r.Header("content-type"));
    }

    Handler handler;
    {
        std::lock_guard lock(mu_);
        requests_.push_back(r);
        size_t best = 0;
        for (const auto& [key, h] : routes_) {
            if (key.first == r.method && r.path.rfind(key.second, 0) == 0 && key.second.size() >= best) {
                best = key.second.size();
                handler = h;
            }
        }
    }
    FakeResponse resp = handler ? handler(r) : JsonAnswer(404, {{"error", "no such route in the fake: " + r.path}});
    if (resp.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(resp.delay_ms));
    static const std::map<int, std::string> kReasons = {{200, "OK"},
                                                        {201, "Created"},
                                                        {202, "Accepted"},
                                                        {204, "No Content"},
                                                        {206, "Partial Content"},
                                                        {400, "Bad Request"},
                                                        {401, "Unauthorized"},
                                                        {403, "Forbidden"},
                                                        {404, "Not Found"},
                                                        {413, "Payload Too Large"},
                                                        {422, "Unprocessable Entity"},
                                                        {429, "Too Many Requests"},
                                                        {500, "Internal Server Error"},
                                                        {503, "Service Unavailable"}};
    auto reason = kReasons.find(resp.status);
    std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " " +
                      (reason == kReasons.end() ? "Status" : reason->second) + "\r\n";
    if (!resp.content_type.empty()) out += "Content-Type: " + resp.content_type + "\r\n";
    for (const auto& [name, value] : resp.headers) out += name + ": " + value + "\r\n";
    out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\nConnection: close\r\n\r\n" + resp.body;
    ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
    ::close(c);
}

std::string PlatformData(const std::string& platform, const std::string& file) {
    std::ifstream in(std::string(HERALD_SOURCE_DIR) + "/tests/data/platforms/" + platform + "/" + file);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

FakeResponse JsonAnswer(int status, const nlohmann::json& body,
                        std::vector<std::pair<std::string, std::string>> headers) {
    FakeResponse r;
    r.status = status;
    r.body = body.dump();
    r.headers = std::move(headers);
    return r;
}

}  // namespace herald::testing
