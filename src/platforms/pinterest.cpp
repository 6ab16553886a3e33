#include "platforms/pinterest.hpp"

#include <algorithm>

namespace herald::platforms {
namespace {

using nlohmann::json;

constexpr size_t kMaxTitle = 100;  // code points (PinCreate.title)
constexpr size_t kMaxAlt = 500;    // PinCreate.alt_text
constexpr int kMaxImages = 5;      // multiple_image_urls: 2 to 5

// Pinterest's errors: {"code": 40, "message": "Board not found."}, some with message_detail.
std::string Said(const HttpResponse& r) {
    if (r.status == 0) return r.error;
    auto j = r.Json();
    std::string out = StringMember(j, "message");
    if (const std::string detail = StringMember(j, "message_detail"); !detail.empty()) {
        out += (out.empty() ? "" : ": ") + detail;
    }
    return out;
}

int64_t Code(const HttpResponse& r) {
    auto j = r.Json();
    return j.is_object() && j.contains("code") && j["code"].is_number_integer() ? j["code"].get<int64_t>() : -1;
}

// What Pinterest's refusal of a Pin means, in words.
app::PublishOutcome Refusal(const HttpResponse& r, const std::string& board, core::TimePoint now) {
    const std::string said = Said(r);
    const int64_t code = Code(r);
    if (r.status == 429 && said.find("spam") != std::string::npos) {
        return app::Rejected{"Pinterest blocked the Pin as spam (" + said + ")"};
    }
    if (r.status == 404 && code == 40) {
        return app::Rejected{"Pinterest has no board " + board + " on this account (" + said +
                             "): check the account's board_id setting"};
    }
    if (r.status == 404 && code == 2031) {
        return app::Rejected{"Pinterest has no such section on board " + board + " (" + said +
                             "): check the account's board_section_id setting"};
    }
    if (r.status == 403 && said.find("Trial access") != std::string::npos) {
        return app::Rejected{
            "this server's Pinterest app has Trial access, which may create Pins only in Pinterest's "
            "sandbox: the operator requests Standard access, or sets platform_base_urls "
            "pinterest=https://api-sandbox.pinterest.com (" +
            said + ")"};
    }
    if (code == 233 || code == 235) return app::Rejected{"Pinterest refused the image: " + said};
    if (r.status == 400 && code == 1) {
        return app::Rejected{"Pinterest could not use the image's link (" + said +
                             "): the server's public_base_url must be reachable from the internet"};
    }
    if (r.status == 403) return app::Rejected{"Pinterest did not allow the Pin on board " + board + ": " + said};
    return OutcomeOf(r, "Pinterest", "the Pin: " + said, now);
}

}  // namespace

PinterestAdapter::PinterestAdapter(const core::Clock& clock, HttpOptions http, std::string api_base,
                                   std::optional<OAuthClient> client)
    :  // The code is traded with continuous_refresh=true: a refresh token renewed with each use,
       // instead of the legacy one that ends a year after connecting. Pinterest documents no code
       // for a dead grant: a refresh it refuses outright (400, 401) means reconnecting.
      OAuthAdapter(OAuth2(OAuthSpec{"Pinterest",
                                    "https://www.pinterest.com/oauth/",
                                    api_base + "/v5/oauth/token",
                                    // Comma-separated on the consent page, as Pinterest's own examples do.
                                    "boards:read,pins:read,pins:write,user_accounts:read",
                                    true,
                                    "client_id",
                                    {},
                                    {{"continuous_refresh", "true"}},
                                    {"invalid_grant"},
                                    true},
                          std::move(client), clock, http)),
      clock_(clock),
      http_(http),
      api_(std::move(api_base)) {}

domain::PlatformLimits PinterestAdapter::Limits() const {
    domain::PlatformLimits l;
    l.max_text_chars = 800;  // the description
    l.counting = domain::TextCounting::kCodePoints;
    l.max_media = kMaxImages;
    l.max_thread_items = 0;
    l.first_comment = false;
    auto& m = l.media;
    m.max_images = kMaxImages;
    m.max_videos = 0;
    m.requires_media = true;
    m.pulls_from_url = true;
    m.formats = {domain::MediaFormat::kJpeg, domain::MediaFormat::kPng};
    return l;
}

core::Status PinterestAdapter::ValidateSettings(const std::string& settings_json) const {
    auto read = ReadSettings(settings_json, {"board_id", "board_section_id", "username"}, "Pinterest",
                             "board_id (required) and board_section_id");
    if (!read) return tl::unexpected(read.error());
    if (!AllDigits(read->value("board_id", ""))) {
        return core::FieldError("settings.board_id", read->contains("board_id") ? "board_id" : "required",
                                "settings.board_id is the id of the board Pins go to, its digits, e.g. 549755885175");
    }
    if (read->contains("board_section_id") && !AllDigits(read->value("board_section_id", ""))) {
        return core::FieldError("settings.board_section_id", "board_section_id",
                                "settings.board_section_id is the id of a section of the board, its digits");
    }
    return {};
}

core::Result<std::string> PinterestAdapter::VerifyConnection(const std::string& settings_json,
                                                             const std::string& credentials_json) {
    const std::string token = AccessToken(credentials_json);
    if (token.empty()) {
        return core::FieldError(
            "credentials", "pinterest_token",
            "Pinterest accounts are connected through Pinterest's consent page (POST /api/v1/accounts/oauth)");
    }
    auto r = http_.Send(Authorized("GET", api_ + "/v5/user_account", token));
    if (r.status == 401 || r.status == 403) {
        return core::FieldError("credentials", "rejected", "Pinterest did not accept the access token: " + Said(r));
    }
    if (!r.ok()) {
        return core::Fail(
            core::ErrorCode::kUnavailable,
            "could not reach Pinterest: " + (r.status ? "HTTP " + std::to_string(r.status) + " " + Said(r) : r.error));
    }
    const std::string username = StringMember(r.Json(), "username");
    if (username.empty()) {
        return core::Fail(core::ErrorCode::kUnavailable, "Pinterest answered without the account's username");
    }
    auto settings = JsonObject(settings_json);
    settings["username"] = username;
    return settings.dump();
}

app::PublishOutcome PinterestAdapter::Publish(const app::PublishRequest& req) {
    const std::string token = AccessToken(req.credentials);
    if (token.empty()) return app::AuthExpired{"no Pinterest access token is stored for this account"};
    const auto settings = JsonObject(req.account_settings_json);
    const std::string board = StringMember(settings, "board_id");
    if (board.empty()) return app::Rejected{"the account has no board_id setting: set the board Pins go to"};
    if (req.media.empty()) return app::Rejected{"a Pin needs an image: add one to the post"};
    if (req.media.size() > static_cast<size_t>(kMaxImages)) {
        return app::Rejected{"a Pin takes at most " + std::to_string(kMaxImages) + " images"};
    }
    json items = json::array();
    for (const auto& m : req.media) {
        if (m.kind != domain::MediaKind::kImage) {
            return app::Rejected{"Herald posts only images to Pinterest; media " + m.id + " is a video"};
        }
        if (!m.public_url) {
            return app::Rejected{
                "Pinterest fetches a Pin's image from a link, and this server makes no public media "
                "links: the operator sets public_base_url"};
        }
        items.push_back({{"url", *m.public_url}});
    }
    const auto now = clock_.Now();

    json body = {{"board_id", board}};
    if (const std::string section = StringMember(settings, "board_section_id"); !section.empty()) {
        body["board_section_id"] = section;
    }
    const std::string text = Trim(req.text);
    if (!text.empty()) {
        body["title"] = CutText(Trim(text.substr(0, text.find('\n'))), kMaxTitle);
        body["description"] = text;
    }
    if (!req.media.front().alt_text.empty()) body["alt_text"] = CutText(req.media.front().alt_text, kMaxAlt);
    if (items.size() == 1) {
        body["media_source"] = {{"source_type", "image_url"}, {"url", items[0]["url"]}};
    } else {
        body["media_source"] = {{"source_type", "multiple_image_urls"}, {"items", items}, {"index", 0}};
    }
    HttpRequest call = Authorized("POST", api_ + "/v5/pins", token);
    call.headers.emplace_back("Content-Type", "application/json");
    call.body = body.dump();
    auto r = http_.Send(call);
    if (!r.ok()) return Refusal(r, board, now);
    const auto pin = r.Json();
    const std::string id = pin.contains("id") && pin["id"].is_string()   ? pin["id"].get<std::string>()
                           : pin.contains("id") && pin["id"].is_number() ? std::to_string(pin["id"].get<int64_t>())
                                                                         : "";
    if (id.empty()) return app::Unknown{"Pinterest accepted the Pin but answered without its id"};
    return app::Published{id, "https://www.pinterest.com/pin/" + id + "/", std::nullopt};
}

}  // namespace herald::platforms
