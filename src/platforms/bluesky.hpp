#pragma once

#include <mutex>
#include <string>
#include <unordered_map>

#include "app/ports.hpp"
#include "platforms/http.hpp"

namespace herald::platforms {

/// Bluesky, or any AT Protocol PDS, through com.atproto.* XRPC calls with an app password.
///
/// Account settings: {"service": "https://bsky.social"} (the account's PDS; the default);
/// Herald adds "did" and "handle" when the account is connected. Credentials:
/// {"identifier": "alice.bsky.social", "app_password": "xxxx-xxxx-xxxx-xxxx"}.
///
/// A session (createSession) is kept per account in memory and refreshed (refreshSession) when
/// the PDS says it expired; createSession is limited to 30 per 5 minutes, so it is not called
/// per post. Images and videos go up with uploadBlob, with their alt text and aspect ratio;
/// links, mentions and hashtags get facets (byte ranges); threads are replies with root and
/// parent references. Each record's key is a TID derived from the delivery id, so a resend
/// cannot make a second post, and the record can be looked up (getRecord) after a timeout.
class BlueskyAdapter final : public app::PlatformAdapter {
  public:
    BlueskyAdapter(const core::Clock& clock, HttpOptions http);
    std::string_view Name() const override { return "bluesky"; }
    app::AuthMethod Auth() const override { return app::AuthMethod::kAppPassword; }
    /// 300 graphemes and 3,000 bytes; 4 images of at most 1,000,000 bytes, or one MP4 video of
    /// at most 50,000,000 bytes (a PDS's default blob limit) and 3 minutes; threads of 25 replies.
    domain::PlatformLimits Limits() const override;
    core::Status ValidateSettings(const std::string& settings_json) const override;
    core::Result<std::string> VerifyConnection(const std::string& settings_json,
                                               const std::string& credentials_json) override;
    app::PublishCapabilities Capabilities(const std::string&) const override { return {true, true}; }
    app::PublishOutcome Publish(const app::PublishRequest& request) override;
    core::Result<std::optional<app::Published>> Lookup(const app::PublishRequest& request) override;

    /// The record key of item `index` (0: the post, 1…: thread replies) of a delivery: a TID
    /// (13 characters, base32-sortable) from the id's time and a hash of the rest.
    static std::string RecordKey(const std::string& delivery_id, int index);

    struct Session {
        std::string service;
        std::string did;
        std::string handle;
        std::string access;
        std::string refresh;
    };

  private:
    /// The account's session, signing in when there is none; an outcome when that fails.
    std::variant<Session, app::PublishOutcome> SessionFor(const app::PublishRequest& request, bool fresh);
    /// Sends an authorized XRPC request, refreshing the session once if it expired.
    HttpResponse Xrpc(const app::PublishRequest& request, Session& session, HttpRequest http);
    std::optional<app::PublishOutcome> Refresh(const app::PublishRequest& request, Session& session);
    nlohmann::json Facets(Session& session, const app::PublishRequest& request, const std::string& text);
    std::string PostUrl(const Session& s, const std::string& rkey) const;

    const core::Clock& clock_;
    HttpClient http_;
    std::mutex mu_;
    std::unordered_map<std::string, Session> sessions_;  ///< by account id
};

}  // namespace herald::platforms
