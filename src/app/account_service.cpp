#include "app/account_service.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <set>

#include "app/credentials.hpp"
#include "core/ids.hpp"
#include "domain/text.hpp"

namespace herald::app {

core::Status ValidateAccountName(const std::string& name) {
    auto len = domain::CountCodePoints(name, "name");
    if (!len) return tl::unexpected(len.error());
    if (*len == 0 || *len > 200) {
        return core::FieldError("name", "length", "name must be between 1 and 200 characters");
    }
    return {};
}

core::Result<domain::Account> AccountService::Connect(const Principal& p, const ConnectAccountInput& in) {
    if (auto ok = Require(p, domain::Role::kAdmin); !ok) return tl::unexpected(ok.error());
    PlatformAdapter* adapter = platforms_.Find(in.platform);
    if (adapter == nullptr) {
        std::string known;
        for (const auto& n : platforms_.Names()) known += (known.empty() ? "" : ", ") + n;
        return core::FieldError("platform", "known_platform",
                                "platform '" + in.platform + "' is not available; this server has: " + known);
    }
    if (auto ok = ValidateAccountName(in.name); !ok) return tl::unexpected(ok.error());
    if (auto ok = adapter->ValidateSettings(in.settings_json); !ok) return tl::unexpected(ok.error());
    auto settings = adapter->VerifyConnection(in.settings_json, in.credentials_json);
    if (!settings) return tl::unexpected(settings.error());
    domain::Account a;
    a.id = core::NewId(clock_.Now());
    a.workspace_id = p.workspace_id;
    a.platform = in.platform;
    a.name = in.name;
    a.settings_json = std::move(*settings);
    a.has_credentials = !in.credentials_json.empty();
    a.created_at = clock_.Now();
    const std::string sealed = in.credentials_json.empty() ? "" : vault_.Seal(in.credentials_json);
    if (auto ok = store_.InsertAccount(a, sealed, in.credentials_refresh_at); !ok) return tl::unexpected(ok.error());
    spdlog::info("event=account_connected workspace_id={} account_id={} platform={}", p.workspace_id, a.id, a.platform);
    return a;
}

core::Result<domain::Account> AccountService::Reconnect(const Principal& p, const std::string& id,
                                                        const std::optional<std::string>& settings_json,
                                                        const std::string& credentials_json,
                                                        std::optional<core::TimePoint> refresh_at) {
    if (auto ok = Require(p, domain::Role::kAdmin); !ok) return tl::unexpected(ok.error());
    auto current = store_.GetAccount(p.workspace_id, id);
    if (!current) return tl::unexpected(current.error());
    PlatformAdapter* adapter = platforms_.Find(current->platform);
    if (adapter == nullptr) {
        return core::Fail(core::ErrorCode::kFailedPrecondition,
                          "platform " + current->platform + " is not available on this server");
    }
    auto fresh = nlohmann::json::parse(credentials_json, nullptr, false);
    if (!fresh.is_object() || fresh.empty()) {
        return core::FieldError("credentials", "object", "credentials must be a JSON object with the new credentials");
    }
    const std::string settings = settings_json.value_or(current->settings_json);
    if (auto ok = adapter->ValidateSettings(settings); !ok) return tl::unexpected(ok.error());
    auto reseal = [&](const std::string& sealed) -> core::Result<std::string> {
        // Merged over what is stored: what the new grant does not repeat is kept.
        std::string stored;
        if (!sealed.empty()) {
            auto opened = vault_.Open(sealed);
            if (opened) stored = std::move(*opened);
        }
        return vault_.Seal(MergeCredentials(stored, fresh).dump());
    };
    // Credentials given by hand with an expiry are renewed a quarter of an hour before it.
    if (!refresh_at && adapter->Auth() == AuthMethod::kOAuth2) {
        if (auto expires = CredentialsExpireAt(credentials_json)) refresh_at = *expires - std::chrono::minutes(15);
    }
    // Checked with the platform as given (a new app password, a new token), before any write.
    auto checked = adapter->VerifyConnection(settings, credentials_json);
    if (!checked) return tl::unexpected(checked.error());
    auto a = store_.ReconnectAccount(p.workspace_id, id, *checked, reseal, refresh_at);
    if (!a) return tl::unexpected(a.error());
    // Lift the hold the dispatcher put on the account, and only that one: a person's own
    // pause of the account stays.
    auto pauses = store_.ListPauses(p.workspace_id);
    if (pauses) {
        for (const auto& pause : *pauses) {
            if (pause.scope.account_id == id && pause.reason &&
                pause.reason->rfind(std::string(kReconnectRequired), 0) == 0) {
                (void)store_.Resume(pause.scope, clock_.Now());
            }
        }
    }
    spdlog::info("event=account_reconnected workspace_id={} account_id={} platform={}", p.workspace_id, id,
                 a->platform);
    return a;
}

core::Result<domain::Account> AccountService::Get(const Principal& p, const std::string& id) {
    return store_.GetAccount(p.workspace_id, id);
}

core::Result<std::vector<domain::Account>> AccountService::List(const Principal& p) {
    return store_.ListAccounts(p.workspace_id);
}

core::Result<std::vector<SandboxPost>> AccountService::SandboxPosts(const Principal& p, const std::string& account_id) {
    auto a = store_.GetAccount(p.workspace_id, account_id);
    if (!a) return tl::unexpected(a.error());
    if (a->platform != "sandbox") {
        return core::Fail(core::ErrorCode::kFailedPrecondition,
                          "account " + account_id + " is a " + a->platform + " account, not a sandbox account");
    }
    return store_.SandboxList(account_id);
}

core::Result<AccountService::ScheduleView> AccountService::GetSchedule(const Principal& p,
                                                                       const std::string& account_id) {
    auto saved = store_.GetPostingSchedule(p.workspace_id, account_id);
    if (!saved) return tl::unexpected(saved.error());
    ScheduleView out;
    if (!*saved) return out;
    auto schedule = domain::PostingSchedule::Parse(**saved);
    if (!schedule) return tl::unexpected(schedule.error());
    const auto now = clock_.Now();
    auto queued = store_.QueuedTimes(account_id, now);
    if (!queued) return tl::unexpected(queued.error());
    const std::set<core::TimePoint> taken(queued->begin(), queued->end());
    for (const auto& t : schedule->Upcoming(now, taken.size() + 10, 5 * 366)) {
        if (!taken.count(t)) out.next_free.push_back(t);
        if (out.next_free.size() == 10) break;
    }
    out.schedule = std::move(*schedule);
    return out;
}

core::Result<AccountService::ScheduleView> AccountService::SetSchedule(const Principal& p,
                                                                       const std::string& account_id,
                                                                       const std::string& schedule_json) {
    if (auto ok = Require(p, domain::Role::kEditor); !ok) return tl::unexpected(ok.error());
    auto schedule = domain::PostingSchedule::Parse(schedule_json);
    if (!schedule) return tl::unexpected(schedule.error());
    const std::optional<std::string> stored =
        schedule->slots.empty() ? std::nullopt : std::optional<std::string>(schedule->ToJson());
    if (auto ok = store_.SetPostingSchedule(p.workspace_id, account_id, stored, clock_.Now()); !ok) {
        return tl::unexpected(ok.error());
    }
    spdlog::info("event=posting_schedule_set workspace_id={} account_id={} slots={}", p.workspace_id, account_id,
                 schedule->slots.size());
    return GetSchedule(p, account_id);
}

}  // namespace herald::app
