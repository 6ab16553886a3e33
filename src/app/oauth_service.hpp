#pragma once

// Connecting an account through a platform's OAuth 2.0 consent page (authorization code with
// PKCE). Start gives the page to send the person to and a value for a browser cookie; the
// platform sends the person back to the callback with a code and the state; Finish checks the
// state (once, within 10 minutes) and the cookie (the same browser that started), trades the
// code for tokens, checks them with the platform, and connects or reconnects the account.

#include <optional>
#include <string>

#include "app/account_service.hpp"
#include "app/ports.hpp"
#include "app/principal.hpp"
#include "auth/vault.hpp"

namespace herald::app {

struct OAuthStartInput {
    std::string platform;
    std::string name;  ///< the new account's name; ignored when reconnecting
    std::string settings_json = "{}";
    std::optional<std::string> account_id;  ///< reconnect this account instead of adding one
    std::string return_to = "/";            ///< a path on this server to come back to
};

struct OAuthStarted {
    std::string authorize_url;
    std::string state;    ///< as sent to the platform (in authorize_url)
    std::string binding;  ///< the cookie value the callback must bring back
    core::TimePoint expires_at{};
};

struct OAuthFinished {
    std::string return_to;
    /// The account connected (or reconnected); nullopt with `error` when it did not work.
    std::optional<domain::Account> account;
    std::optional<core::Error> error;
};

class OAuthService {
  public:
    /// `public_base_url`: how browsers reach this server; the callback is under it.
    OAuthService(Store& store, const core::Clock& clock, const PlatformRegistry& platforms,
                 const auth::TokenVault& vault, AccountService& accounts, std::string public_base_url)
        : store_(store),
          clock_(clock),
          platforms_(platforms),
          vault_(vault),
          accounts_(accounts),
          public_base_url_(std::move(public_base_url)) {}

    /// Admins and owners.
    core::Result<OAuthStarted> Start(const Principal& p, const OAuthStartInput& in);
    /// The platform's answer. An error result: the state is unknown, used or expired, or the
    /// cookie is not the one that started it (nothing to go back to). Otherwise the outcome,
    /// success or a refusal in words, with the path to go back to.
    core::Result<OAuthFinished> Finish(const std::string& platform, const std::string& state, const std::string& code,
                                       const std::string& error, const std::string& error_description,
                                       const std::string& binding);
    /// Where the platform sends the person back: register it with the platform.
    std::string RedirectUri(const std::string& platform) const;

    static constexpr std::chrono::minutes kStateLifetime{10};

  private:
    Store& store_;
    const core::Clock& clock_;
    const PlatformRegistry& platforms_;
    const auth::TokenVault& vault_;
    AccountService& accounts_;
    std::string public_base_url_;
};

}  // namespace herald::app
