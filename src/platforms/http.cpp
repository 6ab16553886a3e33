#include "platforms/http.hpp"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <mutex>

#include "core/connect_guard.hpp"
#include "domain/time.hpp"

namespace herald::platforms {
namespace {

struct Transfer {
    const HttpOptions* options = nullptr;
    HttpResponse* response = nullptr;
    core::ConnectGuard guard;
    bool too_large = false;
};

size_t Write(char* data, size_t size, size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    const size_t bytes = size * n;
    if (t->response->body.size() + bytes > t->options->max_response_bytes) {
        t->too_large = true;
        return 0;
    }
    t->response->body.append(data, bytes);
    return bytes;
}

size_t Header(char* data, size_t size, size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    const size_t bytes = size * n;
    std::string line(data, bytes);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    if (line.rfind("HTTP/", 0) == 0) {
        t->response->headers.clear();  // a new answer (after 100 Continue): its headers only
        return bytes;
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) return bytes;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    size_t start = colon + 1;
    while (start < line.size() && line[start] == ' ') ++start;
    t->response->headers.emplace_back(std::move(name), line.substr(start));
    return bytes;
}

int64_t ParseInt(const std::string& s) {
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) return -1;
    return std::stoll(s);
}

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
        if (n == name) return v;
    }
    return "";
}

nlohmann::json HttpResponse::Json() const {
    auto j = nlohmann::json::parse(body, nullptr, false);
    // A web page where JSON was expected (a wrong address) reads as an empty object, so that
    // value(…) gives defaults instead of throwing.
    return j.is_discarded() || j.is_null() ? nlohmann::json::object() : j;
}

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)) { core::InitCurlOnce(); }

HttpResponse HttpClient::Send(const HttpRequest& r) const {
    HttpResponse response;
    Transfer t{&options_, &response, {&options_.allowed, ""}, false};
    CURL* curl = curl_easy_init();
    if (curl == nullptr) {
        response.error = "cannot start an HTTP request";
        return response;
    }
    curl_slist* headers = nullptr;
    for (const auto& [name, value] : r.headers) headers = curl_slist_append(headers, (name + ": " + value).c_str());
    headers = curl_slist_append(headers, "Expect:");
    FILE* in = nullptr;
    curl_mime* mime = nullptr;
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(curl, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    const auto timeout = std::min<std::chrono::milliseconds>(r.timeout, options_.max_timeout);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, Header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
    if (options_.guard_private) {
        curl_easy_setopt(curl, CURLOPT_PROXY, "");  // a proxy would hide the address
        curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, core::GuardedOpenSocket);
        curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &t.guard);
    }
    if (!r.form.empty()) {
        mime = curl_mime_init(curl);
        for (const auto& part : r.form) {
            curl_mimepart* p = curl_mime_addpart(mime);
            curl_mime_name(p, part.name.c_str());
            if (!part.file.empty()) {
                curl_mime_filedata(p, part.file.c_str());
                curl_mime_filename(p, part.file_name.empty() ? nullptr : part.file_name.c_str());
            } else {
                curl_mime_data(p, part.value.data(), part.value.size());
            }
            if (!part.content_type.empty()) curl_mime_type(p, part.content_type.c_str());
        }
        curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
    } else if (!r.body_file.empty()) {
        std::error_code ec;
        const auto size = std::filesystem::file_size(r.body_file, ec);
        in = ec ? nullptr : std::fopen(r.body_file.c_str(), "rb");
        if (in == nullptr) {
            curl_slist_free_all(headers);
            curl_easy_cleanup(curl);
            response.error = "cannot read " + r.body_file.filename().string();
            return response;
        }
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READDATA, in);
        curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
    } else if (r.method != "GET" && r.method != "HEAD") {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, r.body.data());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    }
    if (r.method == "HEAD") {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (r.method != "GET" || !r.body_file.empty() || !r.form.empty()) {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    const CURLcode rc = curl_easy_perform(curl);
    long request_size = 0;
    curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &request_size);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    response.sent = request_size > 0;
    curl_easy_cleanup(curl);
    curl_mime_free(mime);
    curl_slist_free_all(headers);
    if (in != nullptr) std::fclose(in);
    if (!t.guard.blocked.empty()) {
        response.status = 0;
        response.sent = false;
        response.error = "the server's address " + t.guard.blocked +
                         " is inside a private network, which Herald does not connect to for an account";
    } else if (t.too_large) {
        response.error = "the answer was larger than " + std::to_string(options_.max_response_bytes) + " bytes";
    } else if (rc != CURLE_OK) {
        response.status = 0;
        response.error = error[0] ? error : curl_easy_strerror(rc);
    }
    return response;
}

app::PublishOutcome OutcomeOf(const HttpResponse& r, std::string_view platform, const std::string& detail,
                              core::TimePoint now) {
    const std::string who(platform);
    const std::string said = detail.empty() ? "" : ": " + detail;
    if (r.status == 0) {
        if (r.sent) return app::Unknown{who + " did not answer after the post was sent (" + r.error + ")"};
        return app::Retryable{who + " could not be reached (" + r.error + ")"};
    }
    if (r.status == 429) {
        // A server's numbers are bounded before any arithmetic: at most a week from now.
        constexpr int64_t kWeek = 7 * 86400;
        core::TimePoint until = now + std::chrono::seconds(60);
        if (const int64_t after = ParseInt(r.Header("retry-after")); after >= 0) {
            until = now + std::chrono::seconds(std::min(after, kWeek));
        } else {
            for (const char* name : {"ratelimit-reset", "x-rate-limit-reset", "x-ratelimit-reset"}) {
                const std::string text = r.Header(name);
                // An RFC 3339 time (Mastodon)…
                if (auto at = domain::ParseRfc3339(text, name); at && text.size() > 12) {
                    until = *at;
                    break;
                }
                const int64_t v = ParseInt(text);
                if (v < 0) continue;
                // An absolute time in Unix seconds, or seconds from now (Reddit).
                const int64_t now_s = core::ToUnixMillis(now) / 1000;
                until = v > 1'000'000'000 ? core::FromUnixMillis(std::min(v, now_s + kWeek) * 1000)
                                          : now + std::chrono::seconds(std::min(v, kWeek));
                break;
            }
        }
        return app::RateLimited{std::max(until, now + std::chrono::seconds(1)),
                                who + " asks Herald to slow down" + said};
    }
    if (r.status == 401) return app::AuthExpired{who + " no longer accepts the account's sign-in" + said};
    if (r.status == 503) return app::Retryable{who + " is unavailable right now (HTTP 503)" + said};
    if (r.status >= 500) {
        return app::Unknown{who + " failed while handling the post (HTTP " + std::to_string(r.status) + ")" + said};
    }
    if (r.status == 413) return app::Rejected{who + " refused the post as too large" + said};
    return app::Rejected{who + " refused the post (HTTP " + std::to_string(r.status) + ")" + said};
}

std::string StringMember(const nlohmann::json& j, const char* key) {
    if (!j.is_object()) return "";
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string Trim(std::string_view s) {
    const size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) return "";
    return std::string(s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1));
}

std::string CutText(const std::string& s, size_t n, bool utf16_units, bool ellipsis) {
    auto lead = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; };
    auto units = [&](char c) -> size_t { return utf16_units && static_cast<unsigned char>(c) >= 0xF0 ? 2 : 1; };
    size_t total = 0;
    for (char c : s) total += lead(c) ? units(c) : 0;
    if (total <= n) return s;
    const size_t room = ellipsis && n > 0 ? n - 1 : n;
    size_t seen = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        if (!lead(s[i])) continue;
        if (seen + units(s[i]) > room) return s.substr(0, i) + (ellipsis ? "\u2026" : "");
        seen += units(s[i]);
    }
    return s;
}

bool AllDigits(const std::string& s, size_t max_digits) {
    return !s.empty() && s.size() <= max_digits && s.find_first_not_of("0123456789") == std::string::npos;
}

HttpRequest BearerJson(const std::string& url, const std::string& token, const nlohmann::json& body) {
    HttpRequest r = Authorized("POST", url, token);
    r.headers.emplace_back("Content-Type", "application/json; charset=UTF-8");
    r.body = body.dump();
    return r;
}

std::string ReasonOf(const app::PublishOutcome& outcome) {
    return std::visit(
        [](const auto& o) -> std::string {
            if constexpr (requires { o.reason; }) {
                return o.reason;
            } else {
                return "";
            }
        },
        outcome);
}

std::optional<app::PublishOutcome> PostReplies(
    const app::PublishRequest& req, const std::string& head_id, const std::string& head_url,
    const std::function<ReplyStep(const std::string& text, const std::string& parent_id)>& reply) {
    std::string parent = head_id;
    for (size_t i = 0; i <= req.thread.size(); ++i) {
        const bool comment = i == req.thread.size();
        if (comment && !req.first_comment) break;
        // The first comment answers the post, not the thread's last reply.
        auto step = reply(comment ? *req.first_comment : req.thread[i], comment ? head_id : parent);
        if (auto* outcome = std::get_if<app::PublishOutcome>(&step)) {
            const std::string what =
                comment ? "its first comment" : "reply " + std::to_string(i + 1) + " of its thread";
            return app::Rejected{"the post is published at " + head_url + ", but " + what +
                                 " did not go out: " + ReasonOf(*outcome)};
        }
        parent = std::get<std::string>(step);
    }
    return std::nullopt;
}

nlohmann::json JsonObject(const std::string& text) {
    auto j = nlohmann::json::parse(text.empty() ? "{}" : text, nullptr, false);
    return j.is_object() ? j : nlohmann::json::object();
}

core::Result<nlohmann::json> ReadSettings(const std::string& settings_json,
                                          std::initializer_list<std::string_view> keys, std::string_view platform,
                                          std::string_view takes, std::initializer_list<std::string_view> non_string) {
    auto j = nlohmann::json::parse(settings_json.empty() ? "{}" : settings_json, nullptr, false);
    if (!j.is_object()) return core::FieldError("settings", "object", "settings must be a JSON object");
    auto in = [](std::initializer_list<std::string_view> list, const std::string& key) {
        return std::find(list.begin(), list.end(), key) != list.end();
    };
    for (const auto& [key, value] : j.items()) {
        if (!in(keys, key)) {
            return core::FieldError("settings." + key, "unknown_key",
                                    std::string(platform) + " settings take " + std::string(takes) + "; not " + key);
        }
        if (!value.is_string() && !in(non_string, key)) {
            return core::FieldError("settings." + key, "string", "settings." + key + " must be text");
        }
    }
    return j;
}

std::string JsonString(const std::string& object_text, const std::string& key) {
    auto j = JsonObject(object_text);
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

core::Status ValidateServiceUrl(const std::string& url, const std::string& field) {
    const size_t scheme = url.rfind("https://", 0) == 0 ? 8 : url.rfind("http://", 0) == 0 ? 7 : 0;
    const std::string host = scheme ? url.substr(scheme) : "";
    if (scheme == 0 || host.empty() || host.find_first_of("/?#@ \"<>\\") != std::string::npos) {
        return core::FieldError(field, "url",
                                field + " must be http(s)://host[:port] with no path, e.g. https://bsky.social");
    }
    return {};
}

HttpRequest Authorized(const std::string& method, const std::string& url, const std::string& token) {
    HttpRequest r;
    r.method = method;
    r.url = url;
    r.headers = {{"Authorization", "Bearer " + token}};
    return r;
}

std::string UrlEncode(std::string_view s) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& pairs) {
    std::string out;
    for (const auto& [k, v] : pairs) {
        if (!out.empty()) out += '&';
        out += UrlEncode(k) + "=" + UrlEncode(v);
    }
    return out;
}

}  // namespace herald::platforms
