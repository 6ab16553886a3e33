#pragma once

#include "app/ports.hpp"
#include "platforms/http.hpp"

namespace herald::platforms {

/// Telegram, through the Bot API: a bot posts to a channel or group it is an administrator of.
///
/// Settings: {"chat_id": "@acme_news" or "-1001234567890"}; Herald adds "chat_title" and
/// "chat_username" when the account is connected. Credentials: {"bot_token": "123456:ABC…"}
/// from @BotFather.
///
/// Text goes with sendMessage; one image or video with sendPhoto or sendVideo, several with
/// sendMediaGroup (the text as the first caption, or as a reply of its own when longer than
/// the 1,024-character caption limit). Threads are replies (reply_parameters). Telegram has
/// no alt text, no idempotency and no way to look a message up: an unanswered send is shown
/// as unconfirmed, never sent again blindly.
class TelegramAdapter final : public app::PlatformAdapter {
  public:
    /// `base_url`: where the Bot API is (https://api.telegram.org).
    TelegramAdapter(const core::Clock& clock, HttpOptions http, std::string base_url);
    std::string_view Name() const override { return "telegram"; }
    app::AuthMethod Auth() const override { return app::AuthMethod::kBotToken; }
    /// 4,096 characters, counted as Telegram does in UTF-16 units; up to 10 images and videos, mixed (photos 10 MB,
    /// videos 50 MB: the Bot API's upload limits); threads of 25 replies.
    domain::PlatformLimits Limits() const override;
    core::Status ValidateSettings(const std::string& settings_json) const override;
    core::Result<std::string> VerifyConnection(const std::string& settings_json,
                                               const std::string& credentials_json) override;
    app::PublishCapabilities Capabilities(const std::string&) const override { return {false, false}; }
    app::PublishOutcome Publish(const app::PublishRequest& request) override;

  private:
    HttpResponse Call(const std::string& token, const std::string& method, HttpRequest request) const;

    const core::Clock& clock_;
    HttpClient http_;
    std::string base_url_;
};

}  // namespace herald::platforms
