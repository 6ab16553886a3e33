#include "platforms/reddit.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace herald::platforms {
namespace {

using nlohmann::json;

// Reddit throttles generic User-Agents hard and asks for <platform>:<app id>:<version> (by …).
constexpr const char* kUserAgent = "server:herald:1.0 (self-hosted social media scheduler)";
constexpr size_t kMaxTitle = 300;  // code points (VTitle)
constexpr int64_t kWeek = 7 * 86400;

HttpOptions WithUserAgent(HttpOptions o) {
    if (o.user_agent.empty() || o.user_agent == HttpOptions{}.user_agent) o.user_agent = kUserAgent;
    return o;
}

// A member that is an object, or an empty one: answers are read without trusting their shape.
json Object(const json& j, const char* key) {
    if (!j.is_object()) return json::object();
    auto it = j.find(key);
    return it != j.end() && it->is_object() ? *it : json::object();
}

// "heraldtest", "r/heraldtest", "/r/heraldtest" → "heraldtest"; "u/name", "/u/name", "u_name" →
// "u_name" (the account's profile, which takes posts like a subreddit). Empty when it is not a
// name Reddit could have: 3–21 letters, digits and underscores (a few old ones have 2, r/de),
// and usernames 3–20 with hyphens too.
std::string Subreddit(const std::string& given) {
    std::string s = Trim(given);
    if (!s.empty() && s.front() == '/') s.erase(0, 1);
    auto word = [](const std::string& v, size_t min, size_t max, std::string_view extra) {
        return v.size() >= min && v.size() <= max && std::all_of(v.begin(), v.end(), [&](char c) {
                   return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                          extra.find(c) != std::string_view::npos;
               });
    };
    if (s.size() > 2 && (s[0] == 'u' || s[0] == 'U') && (s[1] == '/' || s[1] == '_')) {
        const std::string user = s.substr(2);
        return word(user, 3, 20, "-") ? "u_" + user : "";
    }
    if (s.size() > 2 && (s[0] == 'r' || s[0] == 'R') && s[1] == '/') s.erase(0, 2);
    return word(s, 2, 21, "") ? s : "";
}

// Where a post goes, as people write it: r/heraldtest, or u/name's profile.
std::string Where(const std::string& sr) {
    return sr.rfind("u_", 0) == 0 ? "the profile of u/" + sr.substr(2) : "r/" + sr;
}

// Reddit's errors outside the form envelope: {"message": "Forbidden", "error": 403}, some with
// a reason or an explanation.
std::string Said(const HttpResponse& r) {
    if (r.status == 0) return r.error;
    auto j = r.Json();
    std::string out = StringMember(j, "message");
    for (const char* key : {"explanation", "reason"}) {
        if (const std::string more = StringMember(j, key); !more.empty()) {
            out += (out.empty() ? "" : ": ") + more;
            break;
        }
    }
    return out;
}

HttpRequest FormCall(const std::string& url, const std::string& token,
                     const std::vector<std::pair<std::string, std::string>>& form) {
    HttpRequest r = Authorized("POST", url, token);
    r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    r.body = FormEncode(form);
    return r;
}

// One refusal inside an api_type=json answer: [NAME, message, field].
struct FormError {
    std::string name;
    std::string message;
    std::string field;
};

std::vector<FormError> FormErrors(const json& body) {
    std::vector<FormError> out;
    const json errors = Object(body, "json").value("errors", json::array());
    if (!errors.is_array()) return out;
    for (const auto& e : errors) {
        if (!e.is_array() || e.empty()) continue;
        FormError f;
        auto at = [&](size_t i) { return i < e.size() && e[i].is_string() ? e[i].get<std::string>() : ""; };
        f.name = at(0);
        f.message = at(1);
        f.field = at(2);
        out.push_back(std::move(f));
    }
    return out;
}

// When Reddit's posting throttle lifts: json.ratelimit (seconds) when it gives it, else "try
// again in 5 minutes." from the message, else ten minutes.
core::TimePoint RateLimitEnd(const json& body, const std::string& message, core::TimePoint now) {
    int64_t seconds = -1;
    const json env = Object(body, "json");
    if (env.contains("ratelimit") && env["ratelimit"].is_number() && env["ratelimit"].get<double>() >= 0) {
        seconds = static_cast<int64_t>(std::ceil(std::min(env["ratelimit"].get<double>(), double(kWeek))));
    }
    const std::string marker = "try again in ";
    if (const size_t at = message.find(marker); seconds < 0 && at != std::string::npos) {
        size_t pos = at + marker.size();
        int64_t n = 0;
        bool digits = false;
        while (pos < message.size() && std::isdigit(static_cast<unsigned char>(message[pos])) && n < kWeek) {
            n = n * 10 + (message[pos++] - '0');
            digits = true;
        }
        while (pos < message.size() && message[pos] == ' ') ++pos;
        const std::string unit = message.substr(pos);
        if (digits) {
            if (unit.rfind("millisecond", 0) == 0)
                seconds = 1;
            else if (unit.rfind("second", 0) == 0)
                seconds = n;
            else if (unit.rfind("minute", 0) == 0)
                seconds = n * 60;
            else if (unit.rfind("hour", 0) == 0)
                seconds = n * 3600;
        }
    }
    if (seconds < 0) seconds = 600;
    return now + std::chrono::seconds(std::clamp<int64_t>(seconds, 1, kWeek));
}

// What a refusal inside the envelope means, in words. `what`: "the post", "the first comment".
app::PublishOutcome Refused(const std::vector<FormError>& errors, const json& body, const std::string& sr,
                            const std::string& what, core::TimePoint now) {
    const std::string where = Where(sr);
    for (const auto& e : errors) {
        if (e.name == "RATELIMIT") {
            return app::RateLimited{RateLimitEnd(body, e.message, now),
                                    "Reddit asks this account to wait before posting again (" + e.message + ")"};
        }
    }
    std::string out;
    for (const auto& e : errors) {
        const std::string said = e.message.empty() ? e.name : e.message;
        std::string line;
        if (e.name == "SUBREDDIT_NOEXIST") {
            line = where + " does not exist on Reddit (" + said + "): check the account's subreddit setting";
        } else if (e.name == "SUBREDDIT_NOTALLOWED") {
            line = "this Reddit account may not post in " + where + " (" + said +
                   "): it may be private or restricted, or the account banned there";
        } else if (e.name == "NO_SELFS") {
            line = where + " does not allow text posts, and Herald posts only text to Reddit (" + said + ")";
        } else if (e.name == "TOO_LONG") {
            line = "Reddit refused " + what + " as too long" +
                   (e.field == "title" ? " in its title (the first line)" : "") + " for " + where + " (" + said + ")";
        } else if (e.name == "NO_TEXT") {
            line =
                "Reddit refused " + what + ": its " + (e.field.empty() ? "text" : e.field) + " is empty (" + said + ")";
        } else if (e.name.find("FLAIR") != std::string::npos) {
            line = where + " requires post flair (" + said +
                   "): set the account's flair_id setting to one of the subreddit's flair templates";
        } else {
            line =
                "Reddit refused " + what + " in " + where + ": " + said + (e.name.empty() ? "" : " (" + e.name + ")");
        }
        out += (out.empty() ? "" : "; ") + line;
    }
    return app::Rejected{out};
}

// What an answer that is not 200 means. A 403 here is the account's standing, not a token.
app::PublishOutcome Failed(const HttpResponse& r, const std::string& sr, const std::string& what, core::TimePoint now) {
    const std::string said = Said(r);
    if (r.status == 403) {
        const bool scope = r.Header("www-authenticate").find("insufficient_scope") != std::string::npos;
        return app::Rejected{"Reddit did not allow " + what + " in " + Where(sr) + " (" + said + ")" +
                             (scope ? ": the account's grant lacks the submit scope; reconnect the account" : "")};
    }
    return OutcomeOf(r, "Reddit", what + ": " + said, now);
}

}  // namespace

RedditAdapter::RedditAdapter(const core::Clock& clock, HttpOptions http, std::string api_base, std::string www_base,
                             std::optional<OAuthClient> client)
    :  // Reddit refuses a dead refresh token with invalid_request (and, seen since, invalid_grant),
       // sometimes with HTTP 200: OAuth2 reads the error from the body either way.
      OAuthAdapter(OAuth2(OAuthSpec{"Reddit",
                                    "https://www.reddit.com/api/v1/authorize",
                                    www_base + "/api/v1/access_token",
                                    "identity submit read",
                                    true,
                                    "client_id",
                                    {{"duration", "permanent"}},
                                    {},
                                    {"invalid_grant", "invalid_request"}},
                          std::move(client), clock, WithUserAgent(http))),
      clock_(clock),
      options_(WithUserAgent(std::move(http))),
      http_(options_),
      api_(std::move(api_base)),
      www_(std::move(www_base)) {}

domain::PlatformLimits RedditAdapter::Limits() const {
    domain::PlatformLimits l;
    l.max_text_chars = 40'000;  // a self post's body
    l.counting = domain::TextCounting::kCodePoints;
    l.max_media = 0;  // Reddit's media upload is undocumented: text only
    l.max_thread_items = 0;
    l.first_comment = true;
    return l;
}

core::Status RedditAdapter::ValidateSettings(const std::string& settings_json) const {
    auto read = ReadSettings(settings_json, {"subreddit", "flair_id", "username"}, "Reddit",
                             "subreddit (required) and flair_id");
    if (!read) return tl::unexpected(read.error());
    const std::string given = read->value("subreddit", "");
    if (given.empty()) {
        return core::FieldError("settings.subreddit", "required",
                                "settings.subreddit names where the account posts, e.g. r/heraldtest");
    }
    if (Subreddit(given).empty()) {
        return core::FieldError("settings.subreddit", "subreddit",
                                "settings.subreddit must be a subreddit's name (3 to 21 letters, digits or "
                                "underscores, e.g. r/heraldtest) or u/<username> for the account's profile");
    }
    const std::string flair = read->value("flair_id", "");
    if (read->contains("flair_id") && (flair.empty() || flair.size() > 64 ||
                                       flair.find_first_not_of("0123456789abcdefABCDEF-") != std::string::npos)) {
        return core::FieldError("settings.flair_id", "flair_id",
                                "settings.flair_id must be a flair template's id, e.g. "
                                "7c1d2e3f-0000-1111-2222-333344445555");
    }
    return {};
}

core::Result<std::string> RedditAdapter::VerifyConnection(const std::string& settings_json,
                                                          const std::string& credentials_json) {
    const std::string token = AccessToken(credentials_json);
    if (token.empty()) {
        return core::FieldError(
            "credentials", "reddit_token",
            "Reddit accounts are connected through Reddit's consent page (POST /api/v1/accounts/oauth)");
    }
    auto r = http_.Send(Authorized("GET", api_ + "/api/v1/me?raw_json=1", token));
    if (r.status == 401 || r.status == 403) {
        return core::FieldError("credentials", "rejected", "Reddit did not accept the access token: " + Said(r));
    }
    if (!r.ok()) {
        return core::Fail(
            core::ErrorCode::kUnavailable,
            "could not reach Reddit: " + (r.status ? "HTTP " + std::to_string(r.status) + " " + Said(r) : r.error));
    }
    auto me = r.Json();
    const std::string name = StringMember(me, "name");
    if (name.empty()) return core::Fail(core::ErrorCode::kUnavailable, "Reddit answered without the account's name");
    if (me.is_object() && me.contains("is_suspended") && me["is_suspended"] == true) {
        return core::FieldError("credentials", "suspended", "the Reddit account u/" + name + " is suspended");
    }
    auto settings = JsonObject(settings_json);
    const std::string sr = Subreddit(StringMember(settings, "subreddit"));
    if (!sr.empty()) settings["subreddit"] = sr;  // kept as Reddit's API takes it
    settings["username"] = name;
    return settings.dump();
}

RedditAdapter::TitledText RedditAdapter::SplitTitle(const std::string& text) {
    const std::string all = Trim(text);
    const size_t eol = all.find('\n');
    std::string first = Trim(all.substr(0, eol));
    // Reddit collapses runs of whitespace in a title; doing it here keeps the count honest.
    std::string title;
    for (char c : first) {
        const bool space = c == ' ' || c == '\t' || c == '\r';
        if (space && (title.empty() || title.back() == ' ')) continue;
        title += space ? ' ' : c;
    }
    if (CutText(title, kMaxTitle, false, false) == title)
        return {title, eol == std::string::npos ? "" : Trim(all.substr(eol + 1))};
    // Too long for a title: its beginning is the title, and the body keeps every word.
    return {Trim(CutText(title, kMaxTitle - 1, false, false)) + "\u2026", all};
}

app::PublishOutcome RedditAdapter::Publish(const app::PublishRequest& req) {
    const std::string token = AccessToken(req.credentials);
    if (token.empty()) return app::AuthExpired{"no Reddit access token is stored for this account"};
    auto settings = JsonObject(req.account_settings_json);
    const std::string sr = Subreddit(StringMember(settings, "subreddit"));
    if (sr.empty()) return app::Rejected{"the account has no valid subreddit setting: set settings.subreddit"};
    if (!req.media.empty()) return app::Rejected{"Herald posts only text to Reddit; remove the media for Reddit"};
    if (!req.thread.empty()) return app::Rejected{"Reddit posts take no thread; post the replies as comments"};
    const auto now = clock_.Now();

    const auto [title, body] = SplitTitle(req.text);
    std::vector<std::pair<std::string, std::string>> form = {
        {"api_type", "json"}, {"sr", sr},           {"kind", "self"},       {"title", title},
        {"text", body},       {"resubmit", "true"}, {"sendreplies", "true"}};
    const std::string flair = StringMember(settings, "flair_id");
    if (!flair.empty()) form.emplace_back("flair_id", flair);
    auto r = http_.Send(FormCall(api_ + "/api/submit", token, form));
    if (!r.ok()) return Failed(r, sr, "the post", now);
    auto answer = r.Json();
    if (auto errors = FormErrors(answer); !errors.empty()) return Refused(errors, answer, sr, "the post", now);
    const json data = Object(Object(answer, "json"), "data");
    const std::string id = StringMember(data, "id");
    std::string name = StringMember(data, "name");
    if (name.empty() && !id.empty()) name = "t3_" + id;
    if (name.empty()) return app::Unknown{"Reddit accepted the post but answered without its id"};
    std::string url = StringMember(data, "url");
    if (url.empty()) url = "https://www.reddit.com/comments/" + name.substr(name.find('_') + 1) + "/";

    // The first comment: the post is out already, and Reddit has no idempotency key, so a
    // failure now is told, never retried (a retry would post it again).
    auto comment = PostReplies(req, name, url, [&](const std::string& text, const std::string& parent) -> ReplyStep {
        auto c = http_.Send(
            FormCall(api_ + "/api/comment", token, {{"api_type", "json"}, {"thing_id", parent}, {"text", text}}));
        if (!c.ok()) return Failed(c, sr, "the first comment", now);
        auto said = c.Json();
        if (auto errors = FormErrors(said); !errors.empty()) return Refused(errors, said, sr, "the first comment", now);
        const json things = Object(Object(said, "json"), "data").value("things", json::array());
        const std::string made =
            things.is_array() && !things.empty() ? StringMember(Object(things[0], "data"), "name") : "";
        return made.empty() ? std::string("t1_") : made;
    });
    if (comment) return *comment;
    return app::Published{name, url, std::nullopt};
}

}  // namespace herald::platforms
