#include "platforms/tiktok.hpp"

#include <algorithm>
#include <thread>

namespace herald::platforms {
namespace {

using nlohmann::json;

constexpr int kMaxImages = 35;                    // photo_images
constexpr size_t kMaxPhotoTitle = 90;             // UTF-16 units
constexpr int64_t kMaxVideoMs = 600'000;          // 10 minutes through the API
constexpr uint64_t kMaxVideoBytes = 4ull << 30;   // 4 GB
constexpr uint64_t kMaxImageBytes = 20ull << 20;  // 20 MB
constexpr auto kFirstPoll = std::chrono::milliseconds(2000);
constexpr const char* kPrivacyLevels[] = {"PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR",
                                          "SELF_ONLY"};

// The error half of TikTok's envelope, {"data": {...}, "error": {"code", "message", "log_id"}};
// code "ok" is a success.
struct TikTokError {
    std::string code;
    std::string message;
    std::string log_id;
};

TikTokError ErrorOf(const HttpResponse& r) {
    if (r.status == 0) return {"", r.error, ""};
    const auto body = r.Json();
    const json e = body.is_object() ? body.value("error", json::object()) : json::object();
    if (e.is_string())
        return {e.get<std::string>(), StringMember(body, "error_description"), StringMember(body, "log_id")};
    return {StringMember(e, "code"), StringMember(e, "message"), StringMember(e, "log_id")};
}

bool Succeeded(const HttpResponse& r, const TikTokError& e) { return r.ok() && e.code == "ok"; }

json DataOf(const HttpResponse& r) {
    const auto body = r.Json();
    auto it = body.find("data");
    return it != body.end() && it->is_object() ? *it : json::object();
}

// What TikTok said, in words, with its log id for anyone asking TikTok about it.
std::string Said(const HttpResponse& r, const TikTokError& e) {
    if (r.status == 0) return r.error;
    std::string out = e.message.empty() ? e.code : e.message;
    if (out.empty()) out = "HTTP " + std::to_string(r.status);
    if (!e.log_id.empty()) out += " (log id " + e.log_id + ")";
    return out;
}

// TikTok's calls: JSON, or no body at all (creator_info).
HttpRequest JsonCall(const std::string& url, const std::string& token, const json* body) {
    HttpRequest r = BearerJson(url, token, body ? *body : json::object());
    if (body == nullptr) r.body.clear();
    r.timeout = std::chrono::seconds(60);
    return r;
}

std::vector<std::string> Options(const json& settings) {
    std::vector<std::string> out;
    auto it = settings.find("privacy_level_options");
    if (it == settings.end() || !it->is_array()) return out;
    for (const auto& o : *it) {
        if (o.is_string()) out.push_back(o.get<std::string>());
    }
    return out;
}

std::string Joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
    return out;
}

// The privacy level a post goes out with: the account's setting, else SELF_ONLY where the
// account offers it (or nothing is known), else the first level it offers.
std::string PrivacyOf(const json& settings) {
    if (const std::string set = StringMember(settings, "privacy_level"); !set.empty()) return set;
    const auto options = Options(settings);
    if (options.empty() || std::find(options.begin(), options.end(), "SELF_ONLY") != options.end()) {
        return "SELF_ONLY";
    }
    return options.front();
}

bool Flag(const json& settings, const char* key) {
    auto it = settings.find(key);
    return it != settings.end() && it->is_boolean() && it->get<bool>();
}

// An id TikTok gives as a number or as text.
std::string IdText(const json& id) {
    if (id.is_string()) return id.get<std::string>();
    if (id.is_number_integer()) return id.dump();  // exact, however large
    return "";
}

std::string HostOf(const std::string& url) {
    const size_t scheme = url.find("://");
    const size_t start = scheme == std::string::npos ? 0 : scheme + 3;
    return url.substr(start, url.find_first_of("/?#", start) - start);
}

std::string ProfileUrl(const std::string& username) {
    return username.empty() ? "https://www.tiktok.com/" : "https://www.tiktok.com/@" + username;
}

// What TikTok's refusal of a new post means, in words: nothing was posted.
app::PublishOutcome Refusal(const HttpResponse& r, const TikTokError& e, const std::string& privacy,
                            const std::string& media_host, core::TimePoint now) {
    const std::string said = Said(r, e);
    const std::string& c = e.code;
    const auto day = now + std::chrono::hours(24);
    if (c == "spam_risk_too_many_posts") {
        return app::RateLimited{day, "the account reached TikTok's daily limit of posts made through apps (" + said +
                                         "); Herald tries again in a day"};
    }
    if (c == "spam_risk_too_many_pending_share") {
        return app::RateLimited{
            day, "the account has too many posts waiting on TikTok (" + said + "); Herald tries again in a day"};
    }
    if (c == "reached_active_user_cap") {
        return app::RateLimited{
            day, "this server's TikTok app reached its daily quota of accounts posting through it (" + said +
                     "); Herald tries again in a day"};
    }
    if (c == "spam_risk_user_banned_from_posting") {
        return app::Rejected{"TikTok has banned this account from posting (" + said + ")"};
    }
    if (c == "url_ownership_unverified") {
        return app::Rejected{"the media URL's domain is not verified for this TikTok app: the operator verifies " +
                             (media_host.empty() ? std::string("the domain of public_base_url") : media_host) +
                             " (the server's public_base_url) in TikTok's developer portal (" + said + ")"};
    }
    if (c == "privacy_level_option_mismatch") {
        return app::Rejected{"TikTok does not offer privacy level " + privacy +
                             " to this account: set the account's privacy_level to one it offers, or reconnect it "
                             "to read them again (" +
                             said + ")"};
    }
    if (c == "unaudited_client_can_only_post_to_private_accounts") {
        return app::Rejected{
            "this server's TikTok app is not audited yet, so it may post only to private TikTok accounts with "
            "privacy SELF_ONLY: make the TikTok account private and set privacy_level SELF_ONLY, or the operator "
            "has the app audited by TikTok (" +
            said + ")"};
    }
    if (c == "access_token_invalid")
        return app::AuthExpired{"TikTok no longer accepts the access token (" + said + ")"};
    if (c == "scope_not_authorized" || c == "scope_permission_missed") {
        return app::AuthExpired{
            "the TikTok account did not give Herald permission to post videos (video.publish): reconnect it and "
            "allow posting (" +
            said + ")"};
    }
    if (c == "rate_limit_exceeded" && r.status != 429) {
        return app::RateLimited{now + std::chrono::minutes(1), "TikTok asks Herald to slow down: " + said};
    }
    if (c == "invalid_param" || c == "invalid_params" || c == "app_version_check_failed") {
        return app::Rejected{"TikTok refused the post: " + said};
    }
    if (r.ok()) {
        // A 200 carrying an error TikTok does not document: nothing says the post exists.
        return app::Rejected{"TikTok refused the post (" + (c.empty() ? "no publish_id" : c) + "): " + said};
    }
    return OutcomeOf(r, "TikTok", "the post: " + said, now);
}

// What a post TikTok accepted and then failed means (`fail_reason`): it is not on TikTok.
app::PublishOutcome Failure(const std::string& reason, const std::string& publish_id) {
    const std::string tag =
        " (fail_reason " + (reason.empty() ? std::string("none given") : reason) + ", publish_id " + publish_id + ")";
    if (reason == "video_pull_failed") {
        return app::Rejected{
            "TikTok could not download the video: the media URL must be publicly reachable and its domain "
            "verified" +
            tag};
    }
    if (reason == "photo_pull_failed") {
        return app::Rejected{
            "TikTok could not download the images: the media URLs must be publicly reachable and their domain "
            "verified" +
            tag};
    }
    if (reason == "file_format_check_failed") {
        return app::Rejected{"TikTok does not take the media's format (videos MP4, MOV or WebM; images JPEG or WebP)" +
                             tag};
    }
    if (reason == "duration_check_failed") {
        return app::Rejected{"TikTok refused the video's length for this account" + tag};
    }
    if (reason == "frame_rate_check_failed") {
        return app::Rejected{"TikTok refused the video's frame rate (23 to 60 frames a second)" + tag};
    }
    if (reason == "picture_size_check_failed") {
        return app::Rejected{"TikTok refused the media's picture size (360 to 4096 pixels a side for videos)" + tag};
    }
    if (reason == "internal") {
        // Nothing is on TikTok: sending it again is safe.
        return app::Retryable{"TikTok failed to publish the post on its side" + tag};
    }
    if (reason == "publish_cancelled") return app::Rejected{"the post was cancelled on TikTok" + tag};
    if (reason == "auth_removed") {
        return app::AuthExpired{"the TikTok account withdrew Herald's access while the post was processing" + tag};
    }
    if (reason.rfind("spam_risk", 0) == 0) {
        return app::Rejected{"TikTok held the post back as a spam risk" + tag};
    }
    return app::Rejected{"TikTok could not publish the post" + tag};
}

}  // namespace

TikTokAdapter::TikTokAdapter(const core::Clock& clock, HttpOptions http, std::string api_base,
                             std::optional<OAuthClient> client)
    :  // TikTok names the client client_key, wants it and the secret in the form (no HTTP
       // Basic), takes comma-separated scopes, and answers a dead refresh token with
       // invalid_grant. It rotates refresh tokens: the grant OAuth2 keeps has the newest.
      OAuthAdapter(OAuth2(OAuthSpec{"TikTok",
                                    "https://www.tiktok.com/v2/auth/authorize/",
                                    api_base + "/v2/oauth/token/",
                                    "user.info.basic,video.publish",
                                    false,
                                    "client_key",
                                    {},
                                    {},
                                    {"invalid_grant"}},
                          std::move(client), clock, http)),
      clock_(clock),
      http_(http),
      api_(std::move(api_base)) {}

domain::PlatformLimits TikTokAdapter::Limits() const {
    domain::PlatformLimits l;
    l.max_text_chars = 2200;  // the caption, in UTF-16 units
    l.counting = domain::TextCounting::kUtf16Units;
    l.max_media = kMaxImages;
    l.max_thread_items = 0;
    l.first_comment = false;
    auto& m = l.media;
    m.max_images = kMaxImages;
    m.max_videos = 1;
    m.mix_images_and_videos = false;
    m.requires_media = true;
    m.pulls_from_url = true;
    m.max_image_bytes = kMaxImageBytes;
    m.max_video_bytes = kMaxVideoBytes;
    m.max_video_ms = kMaxVideoMs;
    m.formats = {domain::MediaFormat::kJpeg, domain::MediaFormat::kWebp, domain::MediaFormat::kMp4,
                 domain::MediaFormat::kQuickTime, domain::MediaFormat::kWebm};
    return l;
}

core::Status TikTokAdapter::ValidateSettings(const std::string& settings_json) const {
    auto read = ReadSettings(
        settings_json,
        {"privacy_level", "disable_comment", "disable_duet", "disable_stitch", "creator_username", "creator_nickname",
         "privacy_level_options", "max_video_post_duration_sec"},
        "TikTok", "privacy_level, disable_comment, disable_duet and disable_stitch",
        {"disable_comment", "disable_duet", "disable_stitch", "privacy_level_options", "max_video_post_duration_sec"});
    if (!read) return tl::unexpected(read.error());
    if (read->contains("privacy_level")) {
        const std::string level = (*read)["privacy_level"];
        if (std::find(std::begin(kPrivacyLevels), std::end(kPrivacyLevels), level) == std::end(kPrivacyLevels)) {
            return core::FieldError("settings.privacy_level", "privacy_level",
                                    "settings.privacy_level is PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, "
                                    "FOLLOWER_OF_CREATOR or SELF_ONLY (who may watch the posts)");
        }
    }
    for (const char* key : {"disable_comment", "disable_duet", "disable_stitch"}) {
        if (read->contains(key) && !(*read)[key].is_boolean()) {
            return core::FieldError(std::string("settings.") + key, "boolean",
                                    std::string("settings.") + key + " must be true or false");
        }
    }
    if (read->contains("privacy_level_options")) {
        const auto& o = (*read)["privacy_level_options"];
        if (!o.is_array() || !std::all_of(o.begin(), o.end(), [](const json& v) { return v.is_string(); })) {
            return core::FieldError("settings.privacy_level_options", "array",
                                    "settings.privacy_level_options must be a list of privacy levels");
        }
    }
    if (read->contains("max_video_post_duration_sec") && !(*read)["max_video_post_duration_sec"].is_number_integer()) {
        return core::FieldError("settings.max_video_post_duration_sec", "integer",
                                "settings.max_video_post_duration_sec must be a whole number of seconds");
    }
    return {};
}

core::Result<std::string> TikTokAdapter::VerifyConnection(const std::string& settings_json,
                                                          const std::string& credentials_json) {
    const std::string token = AccessToken(credentials_json);
    if (token.empty()) {
        return core::FieldError(
            "credentials", "tiktok_token",
            "TikTok accounts are connected through TikTok's consent page (POST /api/v1/accounts/oauth)");
    }
    auto r = http_.Send(JsonCall(api_ + "/v2/post/publish/creator_info/query/", token, nullptr));
    const TikTokError e = ErrorOf(r);
    if (e.code == "scope_not_authorized" || e.code == "scope_permission_missed") {
        return core::FieldError("credentials", "scope",
                                "the TikTok account did not give Herald permission to post videos (video.publish): "
                                "connect it again and allow posting (" +
                                    Said(r, e) + ")");
    }
    if (r.status == 401 || r.status == 403 || e.code == "access_token_invalid") {
        return core::FieldError("credentials", "rejected", "TikTok did not accept the access token: " + Said(r, e));
    }
    if (!Succeeded(r, e)) {
        return core::Fail(
            core::ErrorCode::kUnavailable,
            "could not reach TikTok: " + (r.status ? "HTTP " + std::to_string(r.status) + " " + Said(r, e) : r.error));
    }
    const json data = DataOf(r);
    const std::string username = StringMember(data, "creator_username");
    json options = json::array();
    if (auto it = data.find("privacy_level_options"); it != data.end() && it->is_array()) {
        for (const auto& o : *it) {
            if (o.is_string()) options.push_back(o);
        }
    }
    if (username.empty() || options.empty()) {
        return core::Fail(core::ErrorCode::kUnavailable,
                          "TikTok answered without the account's username or privacy levels");
    }
    auto settings = JsonObject(settings_json);
    settings["creator_username"] = username;
    settings["creator_nickname"] = StringMember(data, "creator_nickname");
    settings["privacy_level_options"] = options;
    if (auto it = data.find("max_video_post_duration_sec"); it != data.end() && it->is_number_integer()) {
        settings["max_video_post_duration_sec"] = it->get<int64_t>();
    } else {
        settings.erase("max_video_post_duration_sec");
    }
    const std::string privacy = PrivacyOf(settings);
    const auto offered = Options(settings);
    if (std::find(offered.begin(), offered.end(), privacy) == offered.end()) {
        return core::FieldError("settings.privacy_level", "privacy_level",
                                "TikTok offers @" + username + " only " + Joined(offered) +
                                    " as privacy levels; settings.privacy_level " + privacy +
                                    " is not one of them (an app TikTok has not audited may use only SELF_ONLY, "
                                    "on a private account)");
    }
    return settings.dump();
}

app::PublishOutcome TikTokAdapter::Publish(const app::PublishRequest& req) {
    const std::string token = AccessToken(req.credentials);
    if (token.empty()) return app::AuthExpired{"no TikTok access token is stored for this account"};
    const json settings = JsonObject(req.account_settings_json);
    const std::string username = StringMember(settings, "creator_username");
    const std::string privacy = PrivacyOf(settings);
    if (req.media.empty()) return app::Rejected{"a TikTok post needs a video or images: add one to the post"};

    // What never reaches TikTok: a mix, several videos, formats TikTok does not take, media
    // without a public link, a video longer than the account may post.
    const bool video = req.media.front().kind == domain::MediaKind::kVideo;
    json links = json::array();
    for (const auto& m : req.media) {
        if ((m.kind == domain::MediaKind::kVideo) != video) {
            return app::Rejected{"a TikTok post is one video or some images, not both"};
        }
        if (!m.public_url) {
            return app::Rejected{
                "TikTok downloads a post's media from a link, and this server makes no public media links: "
                "the operator sets public_base_url (and verifies its domain in TikTok's developer portal)"};
        }
        if (!video && m.format != domain::MediaFormat::kJpeg && m.format != domain::MediaFormat::kWebp) {
            return app::Rejected{"TikTok takes only JPEG or WebP images; media " + m.id + " is " +
                                 std::string(domain::MimeType(m.format))};
        }
        links.push_back(*m.public_url);
    }
    if (video && req.media.size() > 1) return app::Rejected{"a TikTok post takes one video"};
    if (!video && req.media.size() > static_cast<size_t>(kMaxImages)) {
        return app::Rejected{"a TikTok photo post takes at most " + std::to_string(kMaxImages) + " images"};
    }
    if (auto it = settings.find("max_video_post_duration_sec");
        video && it != settings.end() && it->is_number_integer() && it->get<int64_t>() > 0) {
        const int64_t max_s = it->get<int64_t>();
        if (req.media.front().duration_ms > max_s * 1000) {
            return app::Rejected{"TikTok lets this account post videos of up to " + std::to_string(max_s) +
                                 " seconds; media " + req.media.front().id + " lasts " +
                                 std::to_string((req.media.front().duration_ms + 999) / 1000) + " seconds"};
        }
    }
    const auto now = clock_.Now();

    const std::string text = Trim(req.text);
    json body;
    std::string url;
    if (video) {
        json post_info = {{"privacy_level", privacy},
                          {"disable_comment", Flag(settings, "disable_comment")},
                          {"disable_duet", Flag(settings, "disable_duet")},
                          {"disable_stitch", Flag(settings, "disable_stitch")},
                          {"brand_content_toggle", false},
                          {"brand_organic_toggle", false}};
        if (!text.empty()) post_info["title"] = text;
        body = {{"post_info", post_info}, {"source_info", {{"source", "PULL_FROM_URL"}, {"video_url", links[0]}}}};
        url = api_ + "/v2/post/publish/video/init/";
    } else {
        json post_info = {{"privacy_level", privacy},
                          {"disable_comment", Flag(settings, "disable_comment")},
                          {"auto_add_music", true},
                          {"brand_content_toggle", false},
                          {"brand_organic_toggle", false}};
        if (!text.empty()) {
            post_info["title"] = CutText(Trim(text.substr(0, text.find('\n'))), kMaxPhotoTitle, true);
            post_info["description"] = text;
        }
        body = {{"media_type", "PHOTO"},
                {"post_mode", "DIRECT_POST"},
                {"post_info", post_info},
                {"source_info", {{"source", "PULL_FROM_URL"}, {"photo_cover_index", 0}, {"photo_images", links}}}};
        url = api_ + "/v2/post/publish/content/init/";
    }
    auto r = http_.Send(JsonCall(url, token, &body));
    const TikTokError e = ErrorOf(r);
    const std::string publish_id = Succeeded(r, e) ? IdText(DataOf(r).value("publish_id", json())) : "";
    if (publish_id.empty()) {
        if (Succeeded(r, e)) return app::Unknown{"TikTok accepted the post but answered without its publish_id"};
        return Refusal(r, e, privacy, HostOf(links[0].get<std::string>()), now);
    }
    return AwaitPublish(token, publish_id, username);
}

app::PublishOutcome TikTokAdapter::AwaitPublish(const std::string& token, const std::string& publish_id,
                                                const std::string& username) {
    const json body = {{"publish_id", publish_id}};
    const auto deadline = std::chrono::steady_clock::now() + poll_total_;
    auto wait = std::min<std::chrono::milliseconds>(kFirstPoll, poll_max_interval_);
    std::string last = "not checked yet";
    for (;;) {
        std::this_thread::sleep_for(wait);
        auto r = http_.Send(JsonCall(api_ + "/v2/post/publish/status/fetch/", token, &body));
        const TikTokError e = ErrorOf(r);
        if (Succeeded(r, e)) {
            const json data = DataOf(r);
            const std::string status = StringMember(data, "status");
            if (status == "PUBLISH_COMPLETE" || status == "SEND_TO_USER_INBOX") {
                std::string post_id;
                if (auto it = data.find("publicaly_available_post_id"); it != data.end()) {  // sic
                    if (it->is_array() && !it->empty()) post_id = IdText(it->front());
                    if (!it->is_array()) post_id = IdText(*it);
                }
                if (post_id.empty()) return app::Published{publish_id, ProfileUrl(username), std::nullopt};
                return app::Published{post_id,
                                      (username.empty() ? ProfileUrl("") : ProfileUrl(username) + "/video/" + post_id),
                                      std::nullopt};
            }
            if (status == "FAILED") return Failure(StringMember(data, "fail_reason"), publish_id);
            last = status.empty() ? "no status given" : status;
        } else if (r.status == 0 || r.status == 429 || r.status >= 500 || e.code == "rate_limit_exceeded" ||
                   e.code == "internal_error") {
            last = "could not check: " + Said(r, e);  // asked again below
        } else {
            return app::Unknown{"TikTok has the post (publish_id " + publish_id +
                                ") but Herald could not follow its processing (" + Said(r, e) +
                                "): check the TikTok account; Herald does not send it again"};
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return app::Unknown{"TikTok is still processing the post (publish_id " + publish_id + ", " + last +
                                ") and it may still appear on the account: TikTok finishes it by itself, and "
                                "Herald does not send it again"};
        }
        wait = std::min<std::chrono::milliseconds>(wait * 2, poll_max_interval_);
    }
}

}  // namespace herald::platforms
