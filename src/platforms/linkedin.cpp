#include "platforms/linkedin.hpp"

#include <algorithm>
#include <cctype>

namespace herald::platforms {
namespace {

using nlohmann::json;

constexpr std::string_view kReserved = "\\|{}@[]()<>#*_~";

// LinkedIn's errors are {"message", "serviceErrorCode", "status"}, often with a "code"
// (REVOKED_ACCESS_TOKEN, NONEXISTENT_VERSION, …); its validation messages end in a newline.
std::string Said(const HttpResponse& r) {
    if (r.status == 0) return r.error;
    auto j = r.Json();
    std::string said = j.value("message", "");
    if (said.empty() && j.contains("error_description") && j["error_description"].is_string()) {
        said = j["error_description"].get<std::string>();
    }
    while (!said.empty() && std::isspace(static_cast<unsigned char>(said.back()))) said.pop_back();
    return said;
}

std::string ErrorCode(const HttpResponse& r) {
    auto j = r.Json();
    return j.contains("code") && j["code"].is_string() ? j["code"].get<std::string>() : "";
}

// "123" or "urn:li:organization:123" → "123"; empty when it is neither.
std::string OrganizationId(const std::string& given) {
    static const std::string kUrn = "urn:li:organization:";
    const std::string id = given.rfind(kUrn, 0) == 0 ? given.substr(kUrn.size()) : given;
    return AllDigits(id, 20) ? id : "";
}

bool StartsWord(std::string_view text, size_t i) {
    return i == 0 || std::isspace(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '(' || text[i - 1] == '"';
}

}  // namespace

std::string LinkedInLittleText(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    for (size_t i = 0; i < text.size();) {
        // A link, to the next space: escaping would break the address.
        if (StartsWord(text, i) && (text.substr(i, 7) == "http://" || text.substr(i, 8) == "https://")) {
            size_t end = i;
            while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
            out.append(text.substr(i, end - i));
            i = end;
            continue;
        }
        const char c = text[i];
        // A hashtag's # (at a word's start, before a letter or digit): left to be one.
        const bool hashtag =
            c == '#' && StartsWord(text, i) && i + 1 < text.size() &&
            (std::isalnum(static_cast<unsigned char>(text[i + 1])) || static_cast<unsigned char>(text[i + 1]) >= 0x80);
        if (!hashtag && kReserved.find(c) != std::string_view::npos) out += '\\';
        out += c;
        ++i;
    }
    return out;
}

LinkedInAdapter::LinkedInAdapter(const core::Clock& clock, HttpOptions http, std::string api_base,
                                 std::string oauth_base, std::string version, std::optional<OAuthClient> client,
                                 std::string scopes)
    :  // LinkedIn wants the client id and secret in the token request's form. It takes PKCE
       // only from apps it enabled it for (native clients); a web app's code is bound by its
       // secret, and the challenge Herald adds is ignored.
      OAuthAdapter(OAuth2(OAuthSpec{"LinkedIn",
                                    "https://www.linkedin.com/oauth/v2/authorization",
                                    oauth_base + "/oauth/v2/accessToken",
                                    std::move(scopes),
                                    false,
                                    "client_id",
                                    {}},
                          std::move(client), clock, http)),
      clock_(clock),
      http_(http),
      api_(std::move(api_base)),
      version_(std::move(version)) {}

domain::PlatformLimits LinkedInAdapter::Limits() const {
    domain::PlatformLimits l;
    l.max_text_chars = 3000;
    l.counting = domain::TextCounting::kCodePoints;
    l.max_media = 20;
    l.max_thread_items = 0;
    l.first_comment = false;
    auto& m = l.media;
    m.max_images = 20;  // one as content.media, 2–20 as content.multiImage
    m.max_videos = 0;
    m.formats = {domain::MediaFormat::kJpeg, domain::MediaFormat::kPng, domain::MediaFormat::kGif};
    return l;
}

core::Status LinkedInAdapter::ValidateSettings(const std::string& settings_json) const {
    auto read = ReadSettings(settings_json, {"organization_id", "person_urn", "name"}, "LinkedIn", "organization_id");
    if (!read) return tl::unexpected(read.error());
    if (read->contains("organization_id") && OrganizationId((*read)["organization_id"]).empty()) {
        return core::FieldError("settings.organization_id", "organization_id",
                                "settings.organization_id is the number of a LinkedIn organization page (as in "
                                "urn:li:organization:12345), to post as that page");
    }
    return {};
}

core::Result<std::string> LinkedInAdapter::VerifyConnection(const std::string& settings_json,
                                                            const std::string& credentials_json) {
    const std::string token = AccessToken(credentials_json);
    if (token.empty()) {
        return core::FieldError(
            "credentials", "linkedin_token",
            "LinkedIn accounts are connected through LinkedIn's consent page (POST /api/v1/accounts/oauth)");
    }
    // OpenID Connect: who signed in ("sub" is the member id of urn:li:person:<id>).
    auto r = http_.Send(Authorized("GET", api_ + "/v2/userinfo", token));
    if (r.status == 401 || r.status == 403) {
        return core::FieldError("credentials", "rejected",
                                "LinkedIn did not tell Herald who signed in (" + Said(r) +
                                    "): the grant needs the openid and profile permissions");
    }
    if (!r.ok()) {
        return core::Fail(
            core::ErrorCode::kUnavailable,
            "could not reach LinkedIn: " + (r.status ? "HTTP " + std::to_string(r.status) + " " + Said(r) : r.error));
    }
    auto me = r.Json();
    const std::string sub = me.contains("sub") && me["sub"].is_string() ? me["sub"].get<std::string>() : "";
    if (sub.empty()) {
        return core::Fail(core::ErrorCode::kUnavailable, "LinkedIn answered without the signed-in member's id");
    }
    auto settings = JsonObject(settings_json);
    settings["person_urn"] = "urn:li:person:" + sub;
    settings["name"] = me.contains("name") && me["name"].is_string() ? me["name"].get<std::string>() : "";
    return settings.dump();
}

HttpRequest LinkedInAdapter::Versioned(const std::string& method, const std::string& path,
                                       const std::string& token) const {
    HttpRequest r = Authorized(method, api_ + path, token);
    r.headers.emplace_back("LinkedIn-Version", version_);
    r.headers.emplace_back("X-Restli-Protocol-Version", "2.0.0");
    r.headers.emplace_back("Content-Type", "application/json");
    return r;
}

// What LinkedIn's refusal means, in words.
app::PublishOutcome LinkedInAdapter::Refusal(const HttpResponse& r, const std::string& doing, bool as_organization,
                                             core::TimePoint now) const {
    const std::string said = Said(r);
    const std::string detail = said.empty() ? "" : " (" + said + ")";
    if (r.status == 426) {
        return app::Rejected{"the LinkedIn API version Herald sends (" + version_ + ") has been retired by LinkedIn" +
                             detail +
                             ": Herald must be updated to a newer LinkedIn API version before it can post to LinkedIn"};
    }
    if (r.status == 401) {
        if (ErrorCode(r) == "REVOKED_ACCESS_TOKEN") {
            return app::AuthExpired{"the member revoked Herald's access on LinkedIn" + detail};
        }
        return app::AuthExpired{"LinkedIn no longer accepts the account's sign-in" + detail};
    }
    if (r.status == 429) {
        // LinkedIn's daily limits (per app and per member) reset at midnight UTC and it sends
        // no Retry-After: without one, try again in a quarter of an hour.
        auto outcome = OutcomeOf(r, "LinkedIn", doing + ": " + said, now);
        if (auto* limited = std::get_if<app::RateLimited>(&outcome); limited && r.Header("retry-after").empty()) {
            limited->until = now + std::chrono::minutes(15);
            limited->reason = "LinkedIn's limit for this account or for Herald's app is reached" + detail +
                              "; its daily limits reset at midnight UTC";
        }
        return outcome;
    }
    if (r.status == 403) {
        return app::Rejected{"LinkedIn did not allow " + doing + detail +
                             (as_organization
                                  ? ": posting as an organization needs the w_organization_social permission and an "
                                    "administrator or content admin role on the page"
                                  : ": the grant needs the w_member_social permission; reconnect the account")};
    }
    if (r.status == 400 || r.status == 409 || r.status == 422) {
        if (said.find("uplicate") != std::string::npos) {
            return app::Rejected{"LinkedIn refused it as a duplicate of a recent post on this account" + detail};
        }
        return app::Rejected{"LinkedIn refused " + doing + detail};
    }
    if (r.status >= 500) {
        // LinkedIn takes no idempotency key: whatever failed, the post may exist.
        return app::Unknown{"LinkedIn failed while handling " + doing + " (HTTP " + std::to_string(r.status) + ")" +
                            detail};
    }
    return OutcomeOf(r, "LinkedIn", doing + ": " + said, now);
}

std::variant<std::string, app::PublishOutcome> LinkedInAdapter::Upload(const app::PublishMedia& m,
                                                                       const std::string& owner,
                                                                       const std::string& token, bool as_organization,
                                                                       core::TimePoint now) {
    // An uploaded image is seen by nobody until a post names it: a failure here is retried,
    // never unknown.
    auto failed = [&](const HttpResponse& r, const std::string& step) -> app::PublishOutcome {
        auto outcome = Refusal(r, step + " image " + m.id, as_organization, now);
        if (auto* unknown = std::get_if<app::Unknown>(&outcome)) return app::Retryable{unknown->reason};
        return outcome;
    };
    HttpRequest init = Versioned("POST", "/rest/images?action=initializeUpload", token);
    init.body = json{{"initializeUploadRequest", {{"owner", owner}}}}.dump();
    auto r = http_.Send(init);
    if (!r.ok()) return failed(r, "starting the upload of");
    auto value = r.Json().value("value", json::object());
    const std::string upload_url = value.value("uploadUrl", "");
    const std::string image = value.value("image", "");
    if (upload_url.empty() || image.empty()) {
        return app::Retryable{"LinkedIn answered the upload of image " + m.id + " without an address or an id"};
    }
    HttpRequest put = Authorized("PUT", upload_url, token);
    put.headers.emplace_back("Content-Type", std::string(domain::MimeType(m.format)));
    put.body_file = m.path;
    put.timeout = std::chrono::seconds(300);
    auto sent = http_.Send(put);
    if (!sent.ok()) return failed(sent, "uploading");
    return image;
}

app::PublishOutcome LinkedInAdapter::Publish(const app::PublishRequest& req) {
    const std::string token = AccessToken(req.credentials);
    if (token.empty()) return app::AuthExpired{"no LinkedIn access token is stored for this account"};
    const auto now = clock_.Now();
    const std::string organization = OrganizationId(JsonString(req.account_settings_json, "organization_id"));
    const bool as_organization = !organization.empty();
    const std::string author =
        as_organization ? "urn:li:organization:" + organization : JsonString(req.account_settings_json, "person_urn");
    if (author.empty()) {
        return app::Rejected{
            "Herald does not know which LinkedIn member this account is (person_urn is missing "
            "from its settings): reconnect the account"};
    }
    if (req.media.size() > 20) return app::Rejected{"LinkedIn takes at most 20 images in a post"};

    json images = json::array();
    for (const auto& m : req.media) {
        if (m.kind != domain::MediaKind::kImage) {
            return app::Rejected{"Herald posts only images to LinkedIn; media " + m.id + " is a video"};
        }
        auto up = Upload(m, author, token, as_organization, now);
        if (auto* outcome = std::get_if<app::PublishOutcome>(&up)) return *outcome;
        json item = {{"id", std::get<std::string>(up)}};
        if (!m.alt_text.empty()) item["altText"] = m.alt_text;
        images.push_back(std::move(item));
    }

    json body = {{"author", author},
                 {"commentary", LinkedInLittleText(req.text)},
                 {"visibility", "PUBLIC"},
                 {"distribution",
                  {{"feedDistribution", "MAIN_FEED"},
                   {"targetEntities", json::array()},
                   {"thirdPartyDistributionChannels", json::array()}}},
                 {"lifecycleState", "PUBLISHED"},
                 {"isReshareDisabledByAuthor", false}};
    if (images.size() == 1) {
        body["content"] = {{"media", images[0]}};
    } else if (images.size() > 1) {
        body["content"] = {{"multiImage", {{"images", images}}}};
    }
    HttpRequest post = Versioned("POST", "/rest/posts", token);
    post.body = body.dump();
    auto r = http_.Send(post);
    if (!r.ok()) return Refusal(r, "the post", as_organization, now);
    // 201 with an empty body: the new post's URN (urn:li:share:…, urn:li:ugcPost:…) is in a header.
    const std::string urn = r.Header("x-restli-id");
    if (urn.empty()) return app::Unknown{"LinkedIn accepted the post but answered without its id"};
    return app::Published{urn, "https://www.linkedin.com/feed/update/" + urn + "/", std::nullopt};
}

}  // namespace herald::platforms
