#pragma once

// Platform credentials after connecting: OAuth grants renewed ahead of their expiry and when a
// platform refuses a token, and accounts held for reconnection when a grant is gone for good.

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "app/ports.hpp"
#include "auth/vault.hpp"

namespace herald::app {

/// The refusal to start OAuth for a platform that connects otherwise, naming how it does.
core::Error NotOAuth(const PlatformAdapter& adapter);

/// `fresh` (a JSON object) over `stored` (credentials JSON text, possibly empty): what a new
/// grant does not repeat (a refresh token Google gives only once) is kept.
nlohmann::json MergeCredentials(const std::string& stored, const nlohmann::json& fresh);

/// Pauses an account until it is reconnected (reason "reconnect_required: …"): its posts wait
/// instead of failing one by one. Reconnecting lifts this pause, and only this one.
core::Status HoldForReconnect(Store& store, const domain::Account& account, const std::string& why,
                              core::TimePoint now);

/// The stored access token's expiry ("expires_at", Unix seconds, in the credentials JSON), if any.
std::optional<core::TimePoint> CredentialsExpireAt(const std::string& credentials_json);

class CredentialKeeper {
  public:
    CredentialKeeper(Store& store, const core::Clock& clock, const PlatformRegistry& platforms,
                     const auth::TokenVault& vault)
        : store_(store), clock_(clock), platforms_(platforms), vault_(vault) {}

    /// Renews the account's OAuth grant and returns the new credentials (plain JSON text).
    /// `used_sealed`: the sealed credentials the caller found expired or refused. When the stored
    /// ones differ (another worker or node renewed them, or a person reconnected), those are
    /// returned without asking the platform: refresh tokens that rotate are good for one use.
    /// kPermissionDenied: the platform says the grant is gone (reconnect); other errors are
    /// transient.
    core::Result<std::string> Renew(const std::string& account_id, const std::string& used_sealed);

    struct Report {
        int renewed = 0;
        int revoked = 0;  ///< accounts now waiting for reconnection
        int failed = 0;   ///< transient failures, tried again on the next run
    };
    /// The periodic job: renews every grant due now; an account whose grant is gone is held
    /// for reconnection.
    core::Result<Report> RenewDue();

  private:
    Store& store_;
    const core::Clock& clock_;
    const PlatformRegistry& platforms_;
    const auth::TokenVault& vault_;
    /// One renewal at a time in this process (held across the token call: renewals are rare).
    /// Across nodes, ReplaceCredentials compares and swaps, and a refused renewal looks twice
    /// (at once, and two seconds later) whether another node renewed. Two nodes renewing the
    /// same rotating refresh token within those two seconds of each other's store can still
    /// hold an account for reconnection that did not need it; a claim in the database before
    /// the token call would close that.
    std::mutex mu_;
};

}  // namespace herald::app
