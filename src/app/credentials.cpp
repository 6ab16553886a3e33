#include "app/credentials.hpp"

#include <spdlog/spdlog.h>

#include <thread>

namespace herald::app {

std::string_view ToString(AuthMethod method) {
    switch (method) {
        case AuthMethod::kNone:
            return "none";
        case AuthMethod::kOAuth2:
            return "oauth2";
        case AuthMethod::kAppPassword:
            return "app_password";
        case AuthMethod::kBotToken:
            return "bot_token";
        case AuthMethod::kWebhookUrl:
            return "webhook_url";
        case AuthMethod::kPrivateKey:
            return "private_key";
    }
    return "none";
}

core::Error NotOAuth(const PlatformAdapter& adapter) {
    return core::Error{core::ErrorCode::kFailedPrecondition,
                       std::string(adapter.Name()) + " accounts are not connected with OAuth; connect them with " +
                           std::string(ToString(adapter.Auth())) + " credentials (POST /api/v1/accounts)",
                       {{"field", "platform"}, {"rule", "oauth_platform"}}};
}

core::Result<std::string> PlatformAdapter::AuthorizeUrl(const std::string&, const std::string&,
                                                        const std::string&) const {
    return tl::unexpected(NotOAuth(*this));
}

core::Result<OAuthGrant> PlatformAdapter::ExchangeCode(const std::string&, const std::string&, const std::string&) {
    return tl::unexpected(NotOAuth(*this));
}

core::Result<OAuthGrant> PlatformAdapter::RefreshGrant(const std::string&) { return tl::unexpected(NotOAuth(*this)); }

core::Result<PlatformAdapter::OAuthStart> PlatformAdapter::BeginOAuth(const std::string& state,
                                                                      const std::string& code_challenge,
                                                                      const std::string& redirect_uri,
                                                                      const std::string&) {
    auto url = AuthorizeUrl(state, code_challenge, redirect_uri);
    if (!url) return tl::unexpected(url.error());
    return OAuthStart{std::move(*url), ""};
}

core::Result<OAuthGrant> PlatformAdapter::FinishOAuth(const std::string& code, const std::string& code_verifier,
                                                      const std::string& redirect_uri, const std::string&) {
    return ExchangeCode(code, code_verifier, redirect_uri);
}

nlohmann::json MergeCredentials(const std::string& stored, const nlohmann::json& fresh) {
    nlohmann::json merged = nlohmann::json::object();
    if (!stored.empty()) {
        auto old = nlohmann::json::parse(stored, nullptr, false);
        if (old.is_object()) merged = std::move(old);
    }
    merged.update(fresh);
    return merged;
}

core::Status HoldForReconnect(Store& store, const domain::Account& account, const std::string& why,
                              core::TimePoint now) {
    auto paused = store.Pause({account.workspace_id, account.id, std::nullopt},
                              std::string(kReconnectRequired) + ": " + why, std::nullopt, now);
    if (!paused) {
        spdlog::error("event=reconnect_pause_failed account_id={} error=\"{}\"", account.id, paused.error().message);
        return tl::unexpected(paused.error());
    }
    spdlog::warn("event=account_reconnect_required account_id={} platform={}", account.id, account.platform);
    return {};
}

std::optional<core::TimePoint> CredentialsExpireAt(const std::string& credentials_json) {
    auto j = nlohmann::json::parse(credentials_json, nullptr, false);
    if (!j.is_object()) return std::nullopt;
    auto it = j.find("expires_at");
    if (it == j.end() || !it->is_number_integer()) return std::nullopt;
    return core::TimePoint(std::chrono::seconds(it->get<int64_t>()));
}

core::Result<std::string> CredentialKeeper::Renew(const std::string& account_id, const std::string& used_sealed) {
    std::lock_guard lock(mu_);
    auto stored = store_.GetCredentials(account_id);
    if (!stored) return tl::unexpected(stored.error());
    // Someone renewed (or a person reconnected) since the caller read them: use theirs.
    if (stored->sealed != used_sealed) return vault_.Open(stored->sealed);
    PlatformAdapter* adapter = platforms_.Find(stored->account.platform);
    if (adapter == nullptr) {
        return core::Fail(core::ErrorCode::kFailedPrecondition,
                          "platform " + stored->account.platform + " is not available on this server");
    }
    auto plain = vault_.Open(stored->sealed);
    if (!plain) return tl::unexpected(plain.error());
    core::Result<OAuthGrant> grant = core::Fail(core::ErrorCode::kUnavailable, "the renewal did not run");
    try {
        grant = adapter->RefreshGrant(*plain);
    } catch (const std::exception& e) {
        grant = core::Fail(core::ErrorCode::kUnavailable, std::string("the renewal failed unexpectedly: ") + e.what());
    }
    if (!grant) {
        // A rotating refresh token another node used a moment ago is refused as if revoked:
        // look again before calling the grant gone, and once more after a moment, in case that
        // node had its answer but had not stored it yet.
        for (int look = 0; look < 2; ++look) {
            if (look > 0 && grant.error().code != core::ErrorCode::kPermissionDenied) break;
            if (look > 0) std::this_thread::sleep_for(std::chrono::seconds(2));
            auto again = store_.GetCredentials(account_id);
            if (again && again->sealed != stored->sealed) return vault_.Open(again->sealed);
        }
        spdlog::warn("event=grant_renewal_failed account_id={} platform={} code={} error=\"{}\"", account_id,
                     stored->account.platform, core::ToString(grant.error().code), grant.error().message);
        return tl::unexpected(grant.error());
    }
    auto fresh = nlohmann::json::parse(grant->credentials_json, nullptr, false);
    if (!fresh.is_object()) {
        return core::Fail(core::ErrorCode::kInternal, "the renewed credentials are not a JSON object");
    }
    nlohmann::json merged_json = MergeCredentials(*plain, fresh);
    // An answer that says no expiry leaves none behind: a stale one would have every publish
    // renew again.
    if (!fresh.contains("expires_at")) merged_json.erase("expires_at");
    if (!fresh.contains("refresh_expires_at")) merged_json.erase("refresh_expires_at");
    const std::string merged = merged_json.dump();
    const std::string sealed = vault_.Seal(merged);
    auto replaced = store_.ReplaceCredentials(account_id, stored->sealed, sealed, grant->refresh_at);
    if (!replaced) return tl::unexpected(replaced.error());
    if (!*replaced) {
        // Changed under us (a reconnect in between): the newer stored ones win.
        auto again = store_.GetCredentials(account_id);
        if (!again) return tl::unexpected(again.error());
        return vault_.Open(again->sealed);
    }
    spdlog::info("event=grant_renewed account_id={} platform={}", account_id, stored->account.platform);
    return merged;
}

core::Result<CredentialKeeper::Report> CredentialKeeper::RenewDue() {
    auto due = store_.CredentialsDueForRefresh(clock_.Now(), 200);
    if (!due) return tl::unexpected(due.error());
    Report report;
    for (const auto& id : *due) {
        auto stored = store_.GetCredentials(id);
        if (!stored) continue;  // deleted meanwhile
        auto renewed = Renew(id, stored->sealed);
        if (renewed) {
            ++report.renewed;
        } else if (renewed.error().code == core::ErrorCode::kPermissionDenied) {
            ++report.revoked;
            (void)HoldForReconnect(store_, stored->account, renewed.error().message, clock_.Now());
            // Not due again until someone reconnects it.
            (void)store_.ReplaceCredentials(id, stored->sealed, stored->sealed, std::nullopt);
        } else {
            ++report.failed;
            // Tried again in a quarter of an hour, not on every run: grants that keep failing
            // (a platform down, its client removed from oauth_clients) must not hold the head of
            // the queue. A grant that expires meanwhile is renewed by the next publish.
            (void)store_.ReplaceCredentials(id, stored->sealed, stored->sealed,
                                            clock_.Now() + std::chrono::minutes(15));
        }
    }
    return report;
}

}  // namespace herald::app
