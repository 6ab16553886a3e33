#include "app/oauth_service.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "app/credentials.hpp"
#include "auth/tokens.hpp"

namespace herald::app {

namespace {

// A path on this server: "/", "/accounts?x=1". Never another host ("//evil.example",
// "https://…", "/\evil"), so the callback cannot be used to send people elsewhere. No
// fragment either: the result is added to the query, which must come before one.
bool IsLocalPath(const std::string& path) {
    return !path.empty() && path.size() <= 2000 && path.front() == '/' && path.rfind("//", 0) != 0 &&
           path.find_first_of("\\\r\n\t #") == std::string::npos;
}

}  // namespace

std::string OAuthService::RedirectUri(const std::string& platform) const {
    return public_base_url_ + "/api/v1/oauth/" + platform + "/callback";
}

core::Result<OAuthStarted> OAuthService::Start(const Principal& p, const OAuthStartInput& in) {
    if (auto ok = Require(p, domain::Role::kAdmin); !ok) return tl::unexpected(ok.error());
    PlatformAdapter* adapter = platforms_.Find(in.platform);
    if (adapter == nullptr) {
        return core::FieldError("platform", "known_platform", "platform '" + in.platform + "' is not available");
    }
    if (adapter->Auth() != AuthMethod::kOAuth2) return tl::unexpected(NotOAuth(*adapter));
    if (public_base_url_.empty()) {
        return core::Fail(core::ErrorCode::kFailedPrecondition,
                          "this server has no public_base_url, so the platform cannot send you back to it: the "
                          "operator sets public_base_url to the address browsers use",
                          {{"rule", "public_base_url"}});
    }
    if (!adapter->OAuthReady()) {
        return core::Fail(core::ErrorCode::kFailedPrecondition,
                          "this server has no OAuth client for " + in.platform + ": the operator adds " + in.platform +
                              "=CLIENT_ID:CLIENT_SECRET to oauth_clients, with " + RedirectUri(in.platform) +
                              " registered as its redirect URI",
                          {{"field", "platform"}, {"rule", "oauth_configured"}});
    }
    if (!IsLocalPath(in.return_to)) {
        return core::FieldError("return_to", "local_path",
                                "return_to must be a path on this server, starting with a single '/'");
    }
    OAuthStateRecord st;
    if (in.account_id) {
        auto account = store_.GetAccount(p.workspace_id, *in.account_id);
        if (!account) return tl::unexpected(account.error());
        if (account->platform != in.platform) {
            return core::FieldError(
                "platform", "account_platform",
                "account " + *in.account_id + " is a " + account->platform + " account, not " + in.platform);
        }
        st.account_id = account->id;
        st.name = account->name;
        st.settings_json = account->settings_json;
    } else {
        if (auto ok = ValidateAccountName(in.name); !ok) return tl::unexpected(ok.error());
        if (auto ok = adapter->ValidateSettings(in.settings_json); !ok) return tl::unexpected(ok.error());
        st.name = in.name;
        st.settings_json = in.settings_json;
    }
    const std::string state = auth::NewOpaqueToken("");
    const std::string verifier = auth::NewOpaqueToken("");
    const std::string binding = auth::NewOpaqueToken("");
    auto begun = adapter->BeginOAuth(state, auth::PkceChallenge(verifier), RedirectUri(in.platform), st.settings_json);
    if (!begun) return tl::unexpected(begun.error());
    const auto now = clock_.Now();
    st.state_hash = auth::HashToken(state);
    st.workspace_id = p.workspace_id;
    st.user_id = p.user_id;
    st.platform = in.platform;
    // The verifier and what the adapter keeps, sealed together.
    st.sealed_verifier = vault_.Seal(nlohmann::json({{"verifier", verifier}, {"context", begun->context}}).dump());
    st.binding_hash = auth::HashToken(binding);
    st.return_to = in.return_to;
    st.created_at = now;
    st.expires_at = now + kStateLifetime;
    if (auto ok = store_.InsertOAuthState(st); !ok) return tl::unexpected(ok.error());
    spdlog::info("event=oauth_started workspace_id={} user_id={} platform={} reconnect={}", p.workspace_id, p.user_id,
                 in.platform, st.account_id.value_or("-"));
    return OAuthStarted{begun->url, state, binding, st.expires_at};
}

core::Result<OAuthFinished> OAuthService::Finish(const std::string& platform, const std::string& state,
                                                 const std::string& code, const std::string& error,
                                                 const std::string& error_description, const std::string& binding) {
    if (state.empty()) {
        return core::Fail(core::ErrorCode::kInvalidArgument,
                          "the platform sent you back without the state Herald gave it: start connecting again");
    }
    auto st = store_.TakeOAuthState(auth::HashToken(state), clock_.Now());
    if (!st) {
        if (st.error().code != core::ErrorCode::kNotFound) return tl::unexpected(st.error());
        return core::Fail(core::ErrorCode::kNotFound,
                          "this connection attempt is unknown, already used, or older than 10 minutes: start "
                          "connecting the account again");
    }
    if (st->platform != platform) {
        return core::Fail(core::ErrorCode::kInvalidArgument,
                          "this connection attempt was for " + st->platform + ", not " + platform);
    }
    // The same browser that started it: otherwise someone could have another person's consent
    // land an account in their own workspace.
    if (binding.empty() || auth::HashToken(binding) != st->binding_hash) {
        spdlog::warn("event=oauth_binding_mismatch workspace_id={} platform={}", st->workspace_id, platform);
        return core::Fail(core::ErrorCode::kPermissionDenied,
                          "this connection was started in another browser (or its cookie was lost): start "
                          "connecting the account again from this browser");
    }
    OAuthFinished out;
    out.return_to = st->return_to;
    auto refuse = [&](std::string message) {
        spdlog::info("event=oauth_failed workspace_id={} platform={} reason=\"{}\"", st->workspace_id, platform,
                     message);
        out.error = core::Error{core::ErrorCode::kFailedPrecondition, std::move(message), {}};
        return out;
    };
    PlatformAdapter* adapter = platforms_.Find(platform);
    if (adapter == nullptr) return refuse("platform " + platform + " is not available on this server any more");
    if (!error.empty()) {
        if (error == "access_denied") return refuse("you did not allow Herald to post on " + platform);
        return refuse(platform + " did not grant access (" + error +
                      (error_description.empty() ? "" : ": " + error_description) + ")");
    }
    if (code.empty()) return refuse(platform + " sent you back without an authorization code");
    auto membership = store_.GetMembership(st->user_id, st->workspace_id);
    if (!membership) return refuse("you are no longer a member of the workspace this connection was started in");
    const Principal p{st->user_id, st->workspace_id, membership->role};
    auto opened = vault_.Open(st->sealed_verifier);
    if (!opened) return tl::unexpected(opened.error());
    const auto kept = nlohmann::json::parse(*opened, nullptr, false);
    if (!kept.is_object()) return core::Fail(core::ErrorCode::kInternal, "the stored consent cannot be read");
    // From here the platform has granted Herald access. Should connecting fail below (the
    // account was deleted meanwhile, the platform refuses the token's use), that grant is left
    // to expire at the platform: nothing revokes it.
    auto grant =
        adapter->FinishOAuth(code, kept.value("verifier", ""), RedirectUri(platform), kept.value("context", ""));
    if (!grant) return refuse(grant.error().message);
    core::Result<domain::Account> account =
        st->account_id
            ? accounts_.Reconnect(p, *st->account_id, std::nullopt, grant->credentials_json, grant->refresh_at)
            : accounts_.Connect(p, ConnectAccountInput{platform, st->name, st->settings_json, grant->credentials_json,
                                                       grant->refresh_at});
    if (!account) return refuse(account.error().message);
    out.account = std::move(*account);
    return out;
}

}  // namespace herald::app
