#pragma once

// A blocking HTTP client for the adapters (libcurl), with what every platform call needs: JSON
// and file bodies, multipart forms, answers with their headers, a clear line between "never
// left" and "sent, no answer", and a guard against private addresses for servers an account
// names itself (a Bluesky PDS, a Mastodon instance).

#include <chrono>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "app/ports.hpp"

namespace herald::platforms {

/// One part of a multipart/form-data body: a value, or a file streamed from disk.
struct FormPart {
    std::string name;
    std::string value;
    std::filesystem::path file;  ///< when set, the part is this file
    std::string file_name;
    std::string content_type;
};

struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::filesystem::path body_file;  ///< when set, the body is this file, streamed
    std::vector<FormPart> form;       ///< when not empty, the body is this form
    std::chrono::seconds timeout{60};
};

struct HttpResponse {
    long status = 0;  ///< 0: no answer came
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-cased
    std::string error;                                         ///< why no answer came, in words
    /// Whether any of the request left this machine: with no answer, the platform may have
    /// acted on it (an Unknown outcome, not a Retryable one).
    bool sent = false;

    bool ok() const { return status >= 200 && status < 300; }
    /// The first header of that (lower-case) name; empty when absent.
    std::string Header(std::string_view name) const;
    /// The body as JSON; an empty object when it is not JSON.
    nlohmann::json Json() const;
};

struct HttpOptions {
    /// Refuse loopback, private and link-local addresses, checked as each connection opens:
    /// for servers an account names itself, so a user cannot point Herald inside its network.
    bool guard_private = false;
    std::set<std::string> allowed;  ///< "ip:port" let through the guard (an intranet server, tests)
    std::string user_agent = "Herald (self-hosted social media publishing)";
    size_t max_response_bytes = 16u << 20;
    /// Caps every request's own timeout (the tests' fakes that answer too late: a timeout after
    /// the request was sent must read as "the platform may have it").
    std::chrono::milliseconds max_timeout = std::chrono::hours(1);
};

class HttpClient {
  public:
    explicit HttpClient(HttpOptions options = {});
    HttpResponse Send(const HttpRequest& request) const;

  private:
    HttpOptions options_;
};

/// The typed outcome of a platform answer that is not a success, for `platform` ("Bluesky"):
/// no answer before sending → Retryable; sent without an answer → Unknown; 429 → RateLimited
/// until Retry-After (seconds), or RateLimit-Reset, X-Rate-Limit-Reset or X-RateLimit-Reset
/// (Unix seconds, seconds from now, or an RFC 3339 time), else a minute; 401 → AuthExpired;
/// 503 → Retryable; other 5xx → Unknown (the platform may have done it); other 4xx → Rejected.
/// `detail` is the platform's own message, added in words.
app::PublishOutcome OutcomeOf(const HttpResponse& response, std::string_view platform, const std::string& detail,
                              core::TimePoint now);

/// A string member of a JSON value (an answer read without trusting its shape); empty when
/// absent or not a string.
std::string StringMember(const nlohmann::json& j, const char* key);

/// `s` without spaces, tabs and line breaks at either end.
std::string Trim(std::string_view s);

/// Valid UTF-8 `s` cut to at most `n` units, only where a character starts: code points, or
/// UTF-16 units (a character beyond U+FFFF counts 2: TikTok). With `ellipsis`, a text that had
/// to be cut ends in "…" (one unit) within the `n`.
std::string CutText(const std::string& s, size_t n, bool utf16_units = false, bool ellipsis = true);

/// 1 to `max_digits` ASCII digits (a platform's numeric id).
bool AllDigits(const std::string& s, size_t max_digits = 32);

/// A POST with a bearer token and a JSON body.
HttpRequest BearerJson(const std::string& url, const std::string& token, const nlohmann::json& body);

/// The reason an outcome gives, in words; empty for Published.
std::string ReasonOf(const app::PublishOutcome& outcome);

/// One reply: the new post's id, or why it did not go out.
using ReplyStep = std::variant<std::string, app::PublishOutcome>;

/// After a post is out (`head_id`, at `head_url`): its thread's replies, each answering the one
/// before, then the first comment answering the post itself. `reply(text, parent_id)` posts
/// one. For platforms without idempotency: a failure now is Rejected, saying where the post
/// is, since a retry would publish the post again. nullopt: all went out.
std::optional<app::PublishOutcome> PostReplies(
    const app::PublishRequest& request, const std::string& head_id, const std::string& head_url,
    const std::function<ReplyStep(const std::string& text, const std::string& parent_id)>& reply);

/// `text` as a JSON object; an empty object when it is empty or not an object.
nlohmann::json JsonObject(const std::string& text);

/// Reads an account's settings: a JSON object whose keys are all in `keys` (those a user gives,
/// and those Herald adds when connecting), each a string unless named in `non_string`. An
/// error names the key and says what `platform` takes (`takes`: "instance and visibility").
core::Result<nlohmann::json> ReadSettings(const std::string& settings_json,
                                          std::initializer_list<std::string_view> keys, std::string_view platform,
                                          std::string_view takes,
                                          std::initializer_list<std::string_view> non_string = {});

/// A string member of a JSON object text; empty when absent.
std::string JsonString(const std::string& object_text, const std::string& key);

/// A request carrying an OAuth bearer token (Authorization: Bearer …).
HttpRequest Authorized(const std::string& method, const std::string& url, const std::string& token);

/// Percent-encodes everything but RFC 3986 unreserved characters (a query value, a path part).
std::string UrlEncode(std::string_view s);

/// application/x-www-form-urlencoded of the pairs (also a URL's query).
std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& pairs);

/// http(s)://host[:port] with no path, query or credentials; an error naming `field` otherwise.
core::Status ValidateServiceUrl(const std::string& url, const std::string& field);

}  // namespace herald::platforms
