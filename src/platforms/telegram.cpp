#include "platforms/telegram.hpp"

namespace herald::platforms {
namespace {

using nlohmann::json;

constexpr size_t kCaptionLimit = 1024;

// The Bot API's errors: {"ok": false, "error_code": 400, "description": "Bad Request: …"}.
std::string Said(const HttpResponse& r) {
    auto j = r.Json();
    if (j.is_object() && j.contains("description") && j["description"].is_string()) return j["description"];
    return r.status ? "" : r.error;
}

app::PublishOutcome Failure(const HttpResponse& r, core::TimePoint now) {
    auto j = r.Json();
    if (r.status == 429) {
        int64_t after = 30;
        if (j.is_object() && j.contains("parameters") && j["parameters"].is_object()) {
            after = std::clamp<int64_t>(j["parameters"].value("retry_after", after), 1, 7 * 86400);
        }
        return app::RateLimited{now + std::chrono::seconds(after), "Telegram asks Herald to slow down: " + Said(r)};
    }
    if (r.status == 401) return app::AuthExpired{"Telegram no longer accepts the bot token: " + Said(r)};
    if (r.status == 403) {
        return app::AuthExpired{"the bot may no longer post in this chat (" + Said(r) +
                                "); add it back as an administrator, then retry"};
    }
    if (r.status == 400) return app::Rejected{"Telegram refused the post: " + Said(r)};
    return OutcomeOf(r, "Telegram", Said(r), now);
}

// What went wrong after the post itself went out. Telegram cannot tell whether a message
// exists, so nothing already sent may be sent again: the delivery ends here, saying so.
app::PublishOutcome AfterThePost(const std::string& what, const std::string& link, const app::PublishOutcome& o) {
    std::string why = std::visit(
        [](const auto& v) -> std::string {
            if constexpr (requires { v.reason; }) {
                return v.reason;
            } else {
                return "";
            }
        },
        o);
    return app::Rejected{"the post is published" + (link.empty() ? "" : " (" + link + ")") + ", but " + what +
                         " failed: " + why +
                         "; Herald does not send the post again, as Telegram cannot tell what "
                         "arrived"};
}

}  // namespace

TelegramAdapter::TelegramAdapter(const core::Clock& clock, HttpOptions http, std::string base_url)
    : clock_(clock), http_(std::move(http)), base_url_(std::move(base_url)) {
    while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

domain::PlatformLimits TelegramAdapter::Limits() const {
    domain::PlatformLimits l;
    l.max_text_chars = 4096;
    l.counting = domain::TextCounting::kUtf16Units;
    l.max_media = 10;
    l.max_thread_items = 25;
    auto& m = l.media;
    m.max_images = 10;
    m.max_videos = 10;
    m.mix_images_and_videos = true;
    m.max_image_bytes = 10'000'000;
    m.max_video_bytes = 50'000'000;
    m.formats = {domain::MediaFormat::kJpeg, domain::MediaFormat::kPng, domain::MediaFormat::kWebp,
                 domain::MediaFormat::kGif,  domain::MediaFormat::kMp4, domain::MediaFormat::kQuickTime};
    return l;
}

core::Status TelegramAdapter::ValidateSettings(const std::string& settings_json) const {
    auto read = ReadSettings(settings_json, {"chat_id", "chat_title", "chat_username"}, "Telegram", "chat_id");
    if (!read) return tl::unexpected(read.error());
    const auto& j = *read;
    const std::string chat = j.value("chat_id", "");
    const bool username = chat.size() > 1 && chat[0] == '@';
    const bool number = !chat.empty() && chat.find_first_not_of("-0123456789") == std::string::npos;
    if (!username && !number) {
        return core::FieldError(
            "settings.chat_id", "chat_id",
            "settings.chat_id must be the channel's @username or its numeric id, e.g. -1001234567890");
    }
    return {};
}

HttpResponse TelegramAdapter::Call(const std::string& token, const std::string& method, HttpRequest request) const {
    request.method = "POST";
    request.url = base_url_ + "/bot" + token + "/" + method;
    return http_.Send(request);
}

core::Result<std::string> TelegramAdapter::VerifyConnection(const std::string& settings_json,
                                                            const std::string& credentials_json) {
    const std::string token = JsonString(credentials_json, "bot_token");
    if (token.empty() || token.find(':') == std::string::npos) {
        return core::FieldError("credentials", "telegram_token",
                                "Telegram needs credentials {\"bot_token\": the token @BotFather gave, 123456:ABC…}");
    }
    HttpRequest me;
    auto who = Call(token, "getMe", me);
    if (who.status == 401 || who.status == 404) {
        return core::FieldError("credentials", "rejected", "Telegram did not accept the bot token: " + Said(who));
    }
    if (!who.ok()) {
        return core::Fail(
            core::ErrorCode::kUnavailable,
            "could not reach Telegram: " + (who.status ? "HTTP " + std::to_string(who.status) : who.error));
    }
    HttpRequest chat;
    chat.headers = {{"Content-Type", "application/json"}};
    chat.body = json{{"chat_id", JsonString(settings_json, "chat_id")}}.dump();
    auto found = Call(token, "getChat", chat);
    if (!found.ok()) {
        return core::FieldError("settings.chat_id", "chat",
                                "the bot cannot see chat " + JsonString(settings_json, "chat_id") + ": " + Said(found) +
                                    " (add the bot to the channel as an administrator)");
    }
    auto result = found.Json().value("result", json::object());
    auto settings = JsonObject(settings_json);
    settings["chat_title"] = result.value("title", "");
    settings["chat_username"] = result.value("username", "");
    return settings.dump();
}

app::PublishOutcome TelegramAdapter::Publish(const app::PublishRequest& req) {
    const std::string token = JsonString(req.credentials, "bot_token");
    if (token.empty()) return app::AuthExpired{"no Telegram bot token is stored for this account"};
    const std::string chat = JsonString(req.account_settings_json, "chat_id");
    const std::string username = JsonString(req.account_settings_json, "chat_username");
    const auto now = clock_.Now();

    auto link = [&](int64_t message_id) -> std::string {
        if (!username.empty()) return "https://t.me/" + username + "/" + std::to_string(message_id);
        if (chat.rfind("-100", 0) == 0) return "https://t.me/c/" + chat.substr(4) + "/" + std::to_string(message_id);
        if (chat.size() > 1 && chat[0] == '@')
            return "https://t.me/" + chat.substr(1) + "/" + std::to_string(message_id);
        return "";  // a private chat has no link
    };
    auto text_message = [&](const std::string& text, int64_t reply_to) -> std::variant<int64_t, app::PublishOutcome> {
        json body = {{"chat_id", chat}, {"text", text}};
        if (reply_to > 0) body["reply_parameters"] = {{"message_id", reply_to}};
        HttpRequest r;
        r.headers = {{"Content-Type", "application/json"}};
        r.body = body.dump();
        auto answer = Call(token, "sendMessage", r);
        if (!answer.ok()) return Failure(answer, now);
        return answer.Json().value("result", json::object()).value("message_id", int64_t{0});
    };

    int64_t first = 0;
    const bool caption_fits =
        domain::CountText(req.text, domain::TextCounting::kUtf16Units, "text").value_or(0) <= kCaptionLimit;
    if (req.media.empty()) {
        auto sent = text_message(req.text, 0);
        if (auto* outcome = std::get_if<app::PublishOutcome>(&sent)) return *outcome;
        first = std::get<int64_t>(sent);
    } else {
        HttpRequest r;
        r.form.push_back(FormPart{"chat_id", chat, {}, "", ""});
        std::string method;
        if (req.media.size() == 1) {
            const auto& m = req.media[0];
            const bool video = m.kind == domain::MediaKind::kVideo;
            method = video ? "sendVideo" : "sendPhoto";
            r.form.push_back(FormPart{video ? "video" : "photo", "", m.path,
                                      m.id + "." + std::string(domain::Extension(m.format)),
                                      std::string(domain::MimeType(m.format))});
            if (caption_fits) r.form.push_back(FormPart{"caption", req.text, {}, "", ""});
        } else {
            method = "sendMediaGroup";
            json items = json::array();
            for (size_t i = 0; i < req.media.size(); ++i) {
                const auto& m = req.media[i];
                json item = {{"type", m.kind == domain::MediaKind::kVideo ? "video" : "photo"},
                             {"media", "attach://file" + std::to_string(i)}};
                if (i == 0 && caption_fits) item["caption"] = req.text;
                items.push_back(item);
                r.form.push_back(FormPart{"file" + std::to_string(i), "", m.path,
                                          m.id + "." + std::string(domain::Extension(m.format)),
                                          std::string(domain::MimeType(m.format))});
            }
            r.form.push_back(FormPart{"media", items.dump(), {}, "", "application/json"});
        }
        r.timeout = std::chrono::seconds(600);
        auto answer = Call(token, method, r);
        if (!answer.ok()) return Failure(answer, now);
        const json result = answer.Json().value("result", json::object());
        const json& message = result.is_array() && !result.empty() ? result[0] : result;
        first = message.is_object() ? message.value("message_id", int64_t{0}) : 0;
        if (!caption_fits) {
            // Too long for a caption: the text follows as a reply to the media.
            auto sent = text_message(req.text, first);
            if (auto* outcome = std::get_if<app::PublishOutcome>(&sent)) {
                return AfterThePost("its text (sent after the media)", link(first), *outcome);
            }
        }
    }
    int64_t parent = first;
    for (size_t i = 0; i < req.thread.size(); ++i) {
        auto sent = text_message(req.thread[i], parent);
        if (auto* outcome = std::get_if<app::PublishOutcome>(&sent)) {
            return AfterThePost("reply " + std::to_string(i + 1) + " of its thread", link(first), *outcome);
        }
        parent = std::get<int64_t>(sent);
    }
    return app::Published{chat + ":" + std::to_string(first), link(first), std::nullopt};
}

}  // namespace herald::platforms
