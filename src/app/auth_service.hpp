#pragma once

#include <string>
#include <utility>
#include <vector>

#include "app/ports.hpp"
#include "app/principal.hpp"
#include "auth/jwt.hpp"
#include "core/clock.hpp"

namespace herald::app {

struct AuthSettings {
    int64_t access_token_ttl_seconds = 900;
    int64_t refresh_token_ttl_seconds = 30 * 24 * 3600;
};

/// What register, login and refresh hand back.
struct Session {
    domain::User user;
    domain::Workspace workspace;
    domain::Role role = domain::Role::kOwner;
    std::string access_token;
    std::string refresh_token;
    int64_t expires_in = 0;  ///< seconds the access token lives
};

struct NewApiToken {
    ApiTokenRecord record;
    std::string token;  ///< shown once, never stored
};

class AuthService {
  public:
    AuthService(Store& store, const core::Clock& clock, const auth::JwtSigner& signer, AuthSettings settings)
        : store_(store), clock_(clock), signer_(signer), settings_(settings) {}

    core::Result<Session> Register(const std::string& email, const std::string& password, const std::string& name);
    /// Signs in to `workspace_id` if given (the user must be a member), else to the user's first workspace.
    core::Result<Session> Login(const std::string& email, const std::string& password,
                                const std::optional<std::string>& workspace_id = std::nullopt);
    core::Result<Session> Refresh(const std::string& refresh_token);
    core::Status Logout(const std::string& refresh_token);

    /// A bearer token: an access JWT or a personal API token ("hpat_…").
    core::Result<Principal> Authenticate(const std::string& bearer_token);

    core::Result<NewApiToken> CreateApiToken(const Principal& p, const std::string& name);
    core::Result<std::vector<ApiTokenRecord>> ListApiTokens(const Principal& p);
    core::Status RevokeApiToken(const Principal& p, const std::string& token_id);

    core::Result<std::vector<domain::Member>> ListMembers(const Principal& p);
    /// Adds an existing user (by email) to the caller's workspace. Admins and owners only;
    /// only an owner may make another owner.
    core::Result<domain::Member> AddMember(const Principal& p, const std::string& email, domain::Role role);

  private:
    core::Result<Session> IssueSession(const domain::User& user, const Membership& m, const std::string& family_id);

    Store& store_;
    const core::Clock& clock_;
    const auth::JwtSigner& signer_;
    AuthSettings settings_;
};

/// Lower-cases and trims an email; the error names the field.
core::Result<std::string> NormalizeEmail(const std::string& email);

}  // namespace herald::app
