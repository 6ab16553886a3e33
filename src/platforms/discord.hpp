#pragma once

#include "app/ports.hpp"
#include "platforms/http.hpp"

namespace herald::platforms {

/// Discord, through a channel's webhook (Server Settings → Integrations → Webhooks).
///
/// Credentials: {"webhook_url": "https://discord.com/api/webhooks/<id>/<token>"} (the URL is
/// the secret). Herald adds "guild_id", "channel_id" and "webhook_name" to the settings when
/// the account is connected. Settings may set "username" to post under another name.
///
/// Messages go with ?wait=true, so Discord answers with the message (or an error) instead of
/// accepting silently; images and videos are attached files with their alt text
/// (attachments[].description). Webhooks have no replies, idempotency or lookup: a thread or
/// a first comment is refused when the post is written, and an unanswered send is shown as
/// unconfirmed, never sent again blindly.
class DiscordAdapter final : public app::PlatformAdapter {
  public:
    /// `base_url`: where Discord's API is (https://discord.com); webhook URLs must be under it.
    DiscordAdapter(const core::Clock& clock, HttpOptions http, std::string base_url);
    std::string_view Name() const override { return "discord"; }
    app::AuthMethod Auth() const override { return app::AuthMethod::kWebhookUrl; }
    /// 2,000 characters; up to 10 files of at most 10 MiB.
    domain::PlatformLimits Limits() const override;
    core::Status ValidateSettings(const std::string& settings_json) const override;
    core::Result<std::string> VerifyConnection(const std::string& settings_json,
                                               const std::string& credentials_json) override;
    app::PublishCapabilities Capabilities(const std::string&) const override { return {false, false}; }
    app::PublishOutcome Publish(const app::PublishRequest& request) override;

  private:
    bool IsWebhookUrl(const std::string& url) const;

    const core::Clock& clock_;
    HttpClient http_;
    std::string base_url_;
};

}  // namespace herald::platforms
