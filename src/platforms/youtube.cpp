#include "platforms/youtube.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <thread>

#include "domain/time.hpp"

namespace herald::platforms {
namespace {

using nlohmann::json;

constexpr size_t kMaxTitle = 100;         // code points
constexpr size_t kMaxDescription = 5000;  // UTF-8 bytes
// What is left of an interrupted upload goes in pieces of this size (a multiple of the
// 256 KiB YouTube wants of every piece but the last), so no more than this is held in memory.
constexpr uint64_t kChunkBytes = 8u << 20;
constexpr int kMaxRecoveries = 5;

// Google's errors: {"error": {"code", "message", "errors": [{"reason", "message", "domain"}]}}.
struct GoogleError {
    std::string reason;
    std::string message;
};

// The text with HTML tags taken out (the quota message links to a page).
std::string Untagged(const std::string& s) {
    std::string out;
    bool in_tag = false;
    for (char c : s) {
        if (c == '<') in_tag = true;
        if (!in_tag) out += c;
        if (c == '>') in_tag = false;
    }
    return out;
}

GoogleError ErrorOf(const HttpResponse& r) {
    GoogleError e;
    if (r.status == 0) {
        e.message = r.error;
        return e;
    }
    auto j = r.Json();
    if (!j.contains("error") || !j["error"].is_object()) return e;
    const auto& err = j["error"];
    e.message = Untagged(err.value("message", ""));
    if (err.contains("errors") && err["errors"].is_array() && !err["errors"].empty() && err["errors"][0].is_object()) {
        e.reason = err["errors"][0].value("reason", "");
        if (e.message.empty()) e.message = Untagged(err["errors"][0].value("message", ""));
    }
    return e;
}

// YouTube refuses < and > in titles and descriptions: the look-alike angle quotes stand in.
std::string WithoutAngles(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        if (c == '<') {
            out += "\u2039";
        } else if (c == '>') {
            out += "\u203a";
        } else {
            out += c;
        }
    }
    return out;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

// How many bytes a session has (a 308's Range: bytes=0-N, inclusive); 0 with no Range.
uint64_t Received(const HttpResponse& r) {
    const std::string range = r.Header("range");
    const auto dash = range.rfind('-');
    if (dash == std::string::npos) return 0;
    try {
        return std::stoull(range.substr(dash + 1)) + 1;
    } catch (...) {
        return 0;
    }
}

bool Interrupted(const HttpResponse& r) {
    return (r.status == 0 && r.sent) || r.status == 500 || r.status == 502 || r.status == 503 || r.status == 504;
}

std::string Describe(const HttpResponse& r) { return r.status == 0 ? r.error : "HTTP " + std::to_string(r.status); }

}  // namespace

std::string YouTubeTitle(std::string_view text) {
    // The first line with something on it.
    std::string_view line;
    for (size_t start = 0; start <= text.size();) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        line = text.substr(start, end - start);
        while (!line.empty() && IsSpace(line.front())) line.remove_prefix(1);
        while (!line.empty() && IsSpace(line.back())) line.remove_suffix(1);
        if (!line.empty() || end == text.size()) break;
        start = end + 1;
    }
    const std::string title = WithoutAngles(line);
    // Cut on a character's first byte, never inside one.
    size_t points = 0;
    for (size_t i = 0; i < title.size(); ++i) {
        if ((static_cast<unsigned char>(title[i]) & 0xC0) == 0x80) continue;
        if (points == kMaxTitle - 1) {
            size_t rest = 0;
            for (size_t k = i; k < title.size(); ++k) rest += (static_cast<unsigned char>(title[k]) & 0xC0) != 0x80;
            if (rest <= 1) return title;
            std::string cut = title.substr(0, i);
            while (!cut.empty() && IsSpace(cut.back())) cut.pop_back();
            return cut + "\u2026";
        }
        ++points;
    }
    return title;
}

core::TimePoint NextPacificMidnight(core::TimePoint now) {
    using namespace std::chrono;
    // Los Angeles is 7 or 8 hours behind UTC, so its date is never before the UTC date of
    // now - 8 h: the first of the next midnights after that date which is still ahead.
    const sys_days from = floor<days>(sys_time<milliseconds>(now.time_since_epoch()) - hours(8));
    for (int ahead = 1; ahead <= 3; ++ahead) {
        const year_month_day day{from + days(ahead)};
        char local[32];
        std::snprintf(local, sizeof local, "%04d-%02u-%02uT00:00", static_cast<int>(day.year()),
                      static_cast<unsigned>(day.month()), static_cast<unsigned>(day.day()));
        auto at = domain::ResolveLocalTime(local, "America/Los_Angeles");
        if (!at) break;
        if (*at > now) return *at;
    }
    return now + hours(24);
}

YouTubeAdapter::YouTubeAdapter(const core::Clock& clock, HttpOptions http, std::string api_base, std::string token_url,
                               std::optional<OAuthClient> client)
    :  // Google wants the client id and secret in the token request's form. access_type=offline
       // brings a refresh token, and prompt=consent brings one on every connection, not only the
       // first (Google gives it once per person and client otherwise).
      OAuthAdapter(OAuth2(OAuthSpec{"YouTube",
                                    "https://accounts.google.com/o/oauth2/v2/auth",
                                    std::move(token_url),
                                    "https://www.googleapis.com/auth/youtube.upload "
                                    "https://www.googleapis.com/auth/youtube.readonly",
                                    false,
                                    "client_id",
                                    {{"access_type", "offline"}, {"prompt", "consent"}}},
                          std::move(client), clock, http)),
      clock_(clock),
      http_(http),
      api_(std::move(api_base)) {}

domain::PlatformLimits YouTubeAdapter::Limits() const {
    domain::PlatformLimits l;
    l.max_text_chars = kMaxDescription;
    l.counting = domain::TextCounting::kUtf8Bytes;
    l.max_media = 1;
    l.max_thread_items = 0;
    l.first_comment = false;
    auto& m = l.media;
    m.max_images = 0;
    m.max_videos = 1;
    m.requires_media = true;
    m.max_video_bytes = 128ull << 30;  // YouTube takes 256 GB; far more than Herald will store
    return l;
}

core::Status YouTubeAdapter::ValidateSettings(const std::string& settings_json) const {
    auto read = ReadSettings(settings_json, {"privacy", "channel_id", "channel_title"}, "YouTube", "privacy");
    if (!read) return tl::unexpected(read.error());
    if (read->contains("privacy")) {
        const std::string privacy = (*read)["privacy"];
        if (privacy != "public" && privacy != "unlisted" && privacy != "private") {
            return core::FieldError("settings.privacy", "privacy",
                                    "settings.privacy is public, unlisted or private (who may watch the videos)");
        }
    }
    return {};
}

core::Result<std::string> YouTubeAdapter::VerifyConnection(const std::string& settings_json,
                                                           const std::string& credentials_json) {
    const std::string token = AccessToken(credentials_json);
    if (token.empty()) {
        return core::FieldError(
            "credentials", "youtube_token",
            "YouTube accounts are connected through Google's consent page (POST /api/v1/accounts/oauth)");
    }
    auto r = http_.Send(Authorized("GET", api_ + "/youtube/v3/channels?part=snippet&mine=true", token));
    const GoogleError e = ErrorOf(r);
    auto no_channel = [] {
        return core::FieldError("credentials", "youtube_channel",
                                "this Google account has no YouTube channel: create one on youtube.com, then "
                                "connect the account again");
    };
    if (e.reason == "youtubeSignupRequired") return no_channel();
    if (r.status == 401 || r.status == 403) {
        return core::FieldError("credentials", "rejected",
                                "Google did not let Herald see the YouTube channel (" + e.message +
                                    "): allow every permission Herald asks for when connecting");
    }
    if (!r.ok()) {
        return core::Fail(core::ErrorCode::kUnavailable,
                          "could not reach YouTube: " + Describe(r) + (e.message.empty() ? "" : " " + e.message));
    }
    auto list = r.Json();
    if (!list.contains("items") || !list["items"].is_array() || list["items"].empty() ||
        !list["items"][0].is_object()) {
        return no_channel();
    }
    const auto& channel = list["items"][0];
    auto settings = JsonObject(settings_json);
    settings["channel_id"] = channel.value("id", "");
    settings["channel_title"] = channel.value("snippet", json::object()).value("title", "");
    return settings.dump();
}

// What YouTube's refusal means, in words.
app::PublishOutcome YouTubeAdapter::Refusal(const HttpResponse& r, const std::string& doing,
                                            core::TimePoint now) const {
    if (r.status == 0) return OutcomeOf(r, "YouTube", doing, now);
    const GoogleError e = ErrorOf(r);
    const std::string detail = e.message.empty() ? "" : " (" + e.message + ")";
    if (e.reason == "quotaExceeded" || e.reason == "dailyLimitExceeded") {
        return app::RateLimited{NextPacificMidnight(now),
                                "the Google Cloud project behind this server has used its daily YouTube API quota" +
                                    detail + "; it is renewed at midnight Pacific time"};
    }
    if (e.reason == "uploadLimitExceeded") {
        return app::RateLimited{now + std::chrono::hours(24),
                                "this YouTube channel has uploaded as many videos as "
                                "YouTube allows for now" +
                                    detail + "; Herald tries again in 24 hours"};
    }
    if (e.reason == "rateLimitExceeded" || e.reason == "userRateLimitExceeded" || r.status == 429) {
        auto outcome = OutcomeOf(r, "YouTube", doing + ": " + e.message, now);
        if (std::holds_alternative<app::RateLimited>(outcome)) return outcome;
        return app::RateLimited{now + std::chrono::minutes(1), "YouTube asks Herald to slow down" + detail};
    }
    if (e.reason == "youtubeSignupRequired") {
        return app::Rejected{"the Google account has no YouTube channel: create one on youtube.com" + detail};
    }
    if (r.status == 401) return app::AuthExpired{"YouTube no longer accepts the account's sign-in" + detail};
    if (e.reason == "insufficientPermissions") {
        return app::Rejected{"the account's sign-in does not allow uploading videos" + detail +
                             ": reconnect the account and allow everything Herald asks for"};
    }
    if (e.reason == "invalidTitle") {
        return app::Rejected{"YouTube refused the video's title, which is the post's first line" + detail};
    }
    if (e.reason == "invalidDescription") {
        return app::Rejected{"YouTube refused the video's description, which is the post's text" + detail};
    }
    if (r.status == 403) return app::Rejected{"YouTube did not allow " + doing + detail};
    if (r.status == 400) return app::Rejected{"YouTube refused " + doing + detail};
    return OutcomeOf(r, "YouTube", doing + (e.message.empty() ? "" : ": " + e.message), now);
}

app::PublishOutcome YouTubeAdapter::SendBytes(const std::string& session, const app::PublishMedia& m, uint64_t total,
                                              const std::string& token, const std::string& privacy,
                                              core::TimePoint now) {
    const std::string mime(domain::MimeType(m.format));
    auto finished = [&](const HttpResponse& r) -> app::PublishOutcome {
        auto video = r.Json();
        const std::string id = video.contains("id") && video["id"].is_string() ? video["id"].get<std::string>() : "";
        if (id.empty()) return app::Unknown{"YouTube took the video but answered without its id"};
        // An API project Google has not audited gets its uploads locked private, and says so
        // only through the privacy it reports.
        const std::string got = video.value("status", json::object()).value("privacyStatus", "");
        if (!got.empty() && got != privacy) {
            spdlog::warn(
                "event=youtube_privacy_differs video_id={} asked={} got={} hint=\"videos from an API "
                "project Google has not audited stay private\"",
                id, privacy, got);
        }
        return app::Published{id, "https://www.youtube.com/watch?v=" + id, std::nullopt};
    };
    auto expired = [] {
        return app::Retryable{"YouTube's upload session expired before the video was complete; Herald starts again"};
    };

    HttpRequest put = Authorized("PUT", session, token);
    put.headers.emplace_back("Content-Type", mime);
    put.body_file = m.path;
    // Enough for 256 KiB a second, and at least ten minutes.
    put.timeout = std::chrono::seconds(600 + static_cast<int64_t>(total / (256u << 10)));
    auto r = http_.Send(put);
    if (r.status == 200 || r.status == 201) return finished(r);
    if (r.status == 0 && !r.sent) return app::Retryable{"YouTube could not be reached (" + r.error + ")"};
    if (r.status == 404 || r.status == 410) return expired();
    // 308 here: the session kept only part of the bytes (as after an interruption).
    if (!Interrupted(r) && r.status != 308) return Refusal(r, "the video", now);

    // Interrupted: ask the session how much it has, and send the rest. Whether the bytes that
    // went without an answer made the whole video is known only from the session.
    bool maybe_done = true;
    std::string why = Describe(r);
    auto wait = backoff_;
    for (int attempt = 0; attempt < kMaxRecoveries; ++attempt) {
        std::this_thread::sleep_for(wait);
        wait *= 2;
        HttpRequest query = Authorized("PUT", session, token);
        query.headers.emplace_back("Content-Range", "bytes */" + std::to_string(total));
        query.timeout = std::chrono::seconds(60);
        auto q = http_.Send(query);
        if (q.status == 200 || q.status == 201) return finished(q);
        if (q.status == 404 || q.status == 410) return expired();
        if (q.status != 308) {
            if (q.status != 0 && !Interrupted(q)) {
                const auto outcome = Refusal(q, "the video", now);
                if (!maybe_done) return outcome;
                why = Describe(q);
                break;  // told nothing of the video: it may be complete
            }
            why = Describe(q);
            continue;
        }
        maybe_done = false;
        uint64_t offset = Received(q);
        std::ifstream in(m.path, std::ios::binary);
        while (true) {
            if (offset >= total) break;  // it has every byte but says otherwise: ask again
            const uint64_t len = std::min<uint64_t>(kChunkBytes, total - offset);
            std::string chunk(len, '\0');
            in.seekg(static_cast<std::streamoff>(offset));
            in.read(chunk.data(), static_cast<std::streamsize>(len));
            if (static_cast<uint64_t>(in.gcount()) != len) {
                return app::Retryable{"Herald could not read media " + m.id + " to finish its upload"};
            }
            HttpRequest part = Authorized("PUT", session, token);
            part.headers.emplace_back("Content-Type", mime);
            part.headers.emplace_back("Content-Range", "bytes " + std::to_string(offset) + "-" +
                                                           std::to_string(offset + len - 1) + "/" +
                                                           std::to_string(total));
            part.body = std::move(chunk);
            part.timeout = std::chrono::seconds(600);
            auto p = http_.Send(part);
            if (p.status == 200 || p.status == 201) return finished(p);
            if (p.status == 308) {
                const uint64_t got = Received(p);
                if (got <= offset) break;  // no progress: ask the session again
                offset = got;
                continue;
            }
            if (p.status == 404 || p.status == 410) return expired();
            if (p.status == 0 || Interrupted(p)) {
                // Only the piece with the last byte can have made the video whole.
                maybe_done = offset + len == total && (p.sent || p.status != 0);
                why = Describe(p);
                break;
            }
            return Refusal(p, "the video", now);
        }
    }
    if (maybe_done) {
        return app::Unknown{"the upload of the video to YouTube was interrupted (" + why +
                            ") and YouTube did not say whether it arrived; it may be on the channel"};
    }
    return app::Retryable{"the upload of the video to YouTube was interrupted (" + why + "); Herald starts again"};
}

app::PublishOutcome YouTubeAdapter::Publish(const app::PublishRequest& req) {
    const std::string token = AccessToken(req.credentials);
    if (token.empty()) return app::AuthExpired{"no YouTube access token is stored for this account"};
    const auto now = clock_.Now();
    if (req.media.size() != 1 || req.media[0].kind != domain::MediaKind::kVideo) {
        return app::Rejected{"a YouTube post is exactly one video"};
    }
    const app::PublishMedia& video = req.media[0];
    const std::string title = YouTubeTitle(req.text);
    if (title.empty()) {
        return app::Rejected{
            "YouTube needs a title, and Herald takes it from the post's first line: give the post "
            "some text"};
    }
    const std::string description = WithoutAngles(req.text);
    if (description.size() > kMaxDescription) {
        return app::Rejected{"YouTube takes descriptions of at most 5000 bytes, and this text is " +
                             std::to_string(description.size()) + " once its < and > are replaced"};
    }
    std::string privacy = JsonString(req.account_settings_json, "privacy");
    if (privacy.empty()) privacy = "public";
    std::error_code ec;
    const uint64_t total = std::filesystem::file_size(video.path, ec);
    if (ec) return app::Retryable{"Herald could not read media " + video.id + ": " + ec.message()};

    // The session: the video's details, then the bytes at the address it answers with.
    HttpRequest init =
        Authorized("POST", api_ + "/upload/youtube/v3/videos?uploadType=resumable&part=snippet%2Cstatus", token);
    init.headers.emplace_back("Content-Type", "application/json; charset=UTF-8");
    init.headers.emplace_back("X-Upload-Content-Length", std::to_string(total));
    init.headers.emplace_back("X-Upload-Content-Type", std::string(domain::MimeType(video.format)));
    init.body =
        json{{"snippet", {{"title", title}, {"description", description}}}, {"status", {{"privacyStatus", privacy}}}}
            .dump();
    init.timeout = std::chrono::seconds(60);
    auto r = http_.Send(init);
    if (!r.ok()) {
        // No video exists before its bytes do: a session that went unanswered is retried.
        auto outcome = Refusal(r, "the video", now);
        if (auto* unknown = std::get_if<app::Unknown>(&outcome)) return app::Retryable{unknown->reason};
        return outcome;
    }
    const std::string session = r.Header("location");
    if (session.empty()) return app::Retryable{"YouTube answered the start of the upload without its address"};
    return SendBytes(session, video, total, token, privacy, now);
}

}  // namespace herald::platforms
