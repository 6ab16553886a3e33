#pragma once

#include <string>
#include <vector>

#include "app/ports.hpp"
#include "app/principal.hpp"
#include "auth/vault.hpp"
#include "domain/schedule.hpp"

namespace herald::app {

struct ConnectAccountInput {
    std::string platform;
    std::string name;
    std::string settings_json = "{}";  ///< JSON object, adapter-specific
    std::string credentials_json;      ///< JSON object or empty; sealed before it is stored
    /// When the credentials are due for renewal (an OAuth grant); nullopt: they do not expire.
    std::optional<core::TimePoint> credentials_refresh_at;
};

/// An account's name: 1 to 200 characters.
core::Status ValidateAccountName(const std::string& name);

class AccountService {
  public:
    AccountService(Store& store, const core::Clock& clock, const PlatformRegistry& platforms,
                   const auth::TokenVault& vault)
        : store_(store), clock_(clock), platforms_(platforms), vault_(vault) {}

    /// Admins and owners connect accounts.
    core::Result<domain::Account> Connect(const Principal& p, const ConnectAccountInput& in);
    /// New credentials (and optionally settings) for a connected account, checked with the
    /// platform as when connecting. Fields the new credentials leave out are kept (a refresh
    /// token a new grant did not repeat). Lifts the account's reconnect_required pause, so its
    /// waiting posts go. Admins and owners.
    core::Result<domain::Account> Reconnect(const Principal& p, const std::string& id,
                                            const std::optional<std::string>& settings_json,
                                            const std::string& credentials_json,
                                            std::optional<core::TimePoint> refresh_at = std::nullopt);
    core::Result<domain::Account> Get(const Principal& p, const std::string& id);
    core::Result<std::vector<domain::Account>> List(const Principal& p);
    /// The account's posting schedule (none: no slots), with its next free slots.
    struct ScheduleView {
        std::optional<domain::PostingSchedule> schedule;
        std::vector<core::TimePoint> next_free;  ///< up to 10
    };
    core::Result<ScheduleView> GetSchedule(const Principal& p, const std::string& account_id);
    /// Replaces it (editors and above); no slots removes it.
    core::Result<ScheduleView> SetSchedule(const Principal& p, const std::string& account_id,
                                           const std::string& schedule_json);
    /// What the sandbox platform holds for one of the caller's sandbox accounts.
    core::Result<std::vector<SandboxPost>> SandboxPosts(const Principal& p, const std::string& account_id);

  private:
    Store& store_;
    const core::Clock& clock_;
    const PlatformRegistry& platforms_;
    const auth::TokenVault& vault_;
};

}  // namespace herald::app
