#include "app/auth_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "auth/passwords.hpp"
#include "auth/tokens.hpp"
#include "core/ids.hpp"
#include "domain/text.hpp"

namespace herald::app {
namespace {

using core::ErrorCode;
using core::Fail;

core::Status CheckName(const std::string& name, const std::string& field, size_t max) {
    auto n = domain::CountCodePoints(name, field);
    if (!n) return tl::unexpected(n.error());
    if (*n == 0) return core::FieldError(field, "required", field + " must not be empty");
    if (*n > max)
        return core::FieldError(field, "max_length", field + " must be at most " + std::to_string(max) + " characters");
    return {};
}

}  // namespace

core::Result<std::string> NormalizeEmail(const std::string& email) {
    std::string e = email;
    auto not_space = [](unsigned char c) { return !std::isspace(c); };
    e.erase(e.begin(), std::find_if(e.begin(), e.end(), not_space));
    e.erase(std::find_if(e.rbegin(), e.rend(), not_space).base(), e.end());
    std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
    const auto at = e.find('@');
    if (e.size() > 254 || at == std::string::npos || at == 0 || at + 1 >= e.size() ||
        e.find('@', at + 1) != std::string::npos ||
        std::any_of(e.begin(), e.end(), [](unsigned char c) { return std::isspace(c) || c < 0x20; })) {
        return core::FieldError("email", "email", "email must be an address like name@example.com");
    }
    return e;
}

core::Result<Session> AuthService::IssueSession(const domain::User& user, const Membership& m,
                                                const std::string& family_id) {
    const auto now = clock_.Now();
    const int64_t now_s = core::ToUnixMillis(now) / 1000;
    Session s;
    s.user = user;
    s.workspace = m.workspace;
    s.role = m.role;
    s.expires_in = settings_.access_token_ttl_seconds;
    s.access_token = signer_.Sign({user.id, m.workspace.id, now_s, now_s + settings_.access_token_ttl_seconds});
    s.refresh_token = auth::NewOpaqueToken(auth::kRefreshTokenPrefix);
    RefreshTokenRecord rec{auth::HashToken(s.refresh_token), user.id, m.workspace.id, family_id,
                           now + std::chrono::seconds(settings_.refresh_token_ttl_seconds)};
    if (auto ok = store_.InsertRefreshToken(rec); !ok) return tl::unexpected(ok.error());
    return s;
}

core::Result<Session> AuthService::Register(const std::string& email_in, const std::string& password,
                                            const std::string& name) {
    auto email = NormalizeEmail(email_in);
    if (!email) return tl::unexpected(email.error());
    if (auto ok = auth::CheckPasswordPolicy(password); !ok) return tl::unexpected(ok.error());
    if (auto ok = CheckName(name, "name", 200); !ok) return tl::unexpected(ok.error());
    const auto now = clock_.Now();
    domain::User user{core::NewId(now), *email, name, now};
    domain::Workspace ws{core::NewId(now), name + "'s workspace", now};
    if (auto ok = store_.CreateUserWithWorkspace(user, auth::HashPassword(password), ws); !ok) {
        return tl::unexpected(ok.error());
    }
    spdlog::info("event=user_registered user_id={} workspace_id={}", user.id, ws.id);
    return IssueSession(user, Membership{ws, domain::Role::kOwner}, core::NewId(now));
}

core::Result<Session> AuthService::Login(const std::string& email_in, const std::string& password,
                                         const std::optional<std::string>& workspace_id) {
    static const std::string kBadLogin = "email or password is wrong";
    auto email = NormalizeEmail(email_in);
    if (!email) return Fail(ErrorCode::kUnauthenticated, kBadLogin);
    auto rec = store_.FindUserByEmail(*email);
    if (!rec) {
        if (rec.error().code != ErrorCode::kNotFound) return tl::unexpected(rec.error());
        // Spend the same time as a real check, so response times do not reveal who has an account.
        static const std::string dummy = auth::HashPassword("herald-dummy-password");
        auth::VerifyPassword(password, dummy);
        return Fail(ErrorCode::kUnauthenticated, kBadLogin);
    }
    if (!auth::VerifyPassword(password, rec->password_hash)) return Fail(ErrorCode::kUnauthenticated, kBadLogin);
    auto m = workspace_id ? store_.GetMembership(rec->user.id, *workspace_id) : store_.PrimaryMembership(rec->user.id);
    if (!m) {
        if (m.error().code == ErrorCode::kNotFound) {
            return Fail(ErrorCode::kPermissionDenied, "you are not a member of that workspace",
                        {{"field", "workspace_id"}});
        }
        return tl::unexpected(m.error());
    }
    return IssueSession(rec->user, *m, core::NewId(clock_.Now()));
}

core::Result<Session> AuthService::Refresh(const std::string& refresh_token) {
    if (refresh_token.rfind(auth::kRefreshTokenPrefix, 0) != 0) {
        return Fail(ErrorCode::kUnauthenticated, "refresh token is not valid");
    }
    const auto now = clock_.Now();
    const int64_t now_s = core::ToUnixMillis(now) / 1000;
    Session s;
    s.refresh_token = auth::NewOpaqueToken(auth::kRefreshTokenPrefix);
    RefreshTokenRecord next{auth::HashToken(s.refresh_token), "", "", "",
                            now + std::chrono::seconds(settings_.refresh_token_ttl_seconds)};
    auto rotated = store_.RotateRefreshToken(auth::HashToken(refresh_token), next, now);
    if (!rotated) return tl::unexpected(rotated.error());
    auto user = store_.GetUser(rotated->user_id);
    if (!user) return Fail(ErrorCode::kUnauthenticated, "refresh token is not valid");
    auto m = store_.GetMembership(rotated->user_id, rotated->workspace_id);
    if (!m) return Fail(ErrorCode::kUnauthenticated, "you are no longer a member of this workspace");
    s.user = *user;
    s.workspace = m->workspace;
    s.role = m->role;
    s.expires_in = settings_.access_token_ttl_seconds;
    s.access_token = signer_.Sign({user->id, m->workspace.id, now_s, now_s + settings_.access_token_ttl_seconds});
    return s;
}

core::Status AuthService::Logout(const std::string& refresh_token) {
    return store_.RevokeRefreshFamily(auth::HashToken(refresh_token));
}

core::Result<Principal> AuthService::Authenticate(const std::string& bearer) {
    std::string user_id, workspace_id;
    if (bearer.rfind(auth::kApiTokenPrefix, 0) == 0) {
        auto t = store_.FindApiToken(auth::HashToken(bearer));
        if (!t) return Fail(ErrorCode::kUnauthenticated, "API token is not valid");
        if (t->revoked) return Fail(ErrorCode::kUnauthenticated, "API token was revoked");
        user_id = t->user_id;
        workspace_id = t->workspace_id;
    } else {
        auto claims = signer_.Verify(bearer, clock_.Now());
        if (!claims) return tl::unexpected(claims.error());
        user_id = claims->user_id;
        workspace_id = claims->workspace_id;
    }
    // The role is read now, not from the token, so a demotion or removal takes effect at once.
    auto m = store_.GetMembership(user_id, workspace_id);
    if (!m) {
        if (m.error().code == ErrorCode::kNotFound) {
            return Fail(ErrorCode::kUnauthenticated, "you are no longer a member of this workspace");
        }
        return tl::unexpected(m.error());
    }
    return Principal{user_id, workspace_id, m->role};
}

core::Result<NewApiToken> AuthService::CreateApiToken(const Principal& p, const std::string& name) {
    if (auto ok = CheckName(name, "name", 100); !ok) return tl::unexpected(ok.error());
    NewApiToken out;
    out.token = auth::NewOpaqueToken(auth::kApiTokenPrefix);
    out.record = ApiTokenRecord{core::NewId(clock_.Now()),
                                name,
                                auth::HashToken(out.token),
                                p.user_id,
                                p.workspace_id,
                                clock_.Now(),
                                std::nullopt,
                                false};
    if (auto ok = store_.InsertApiToken(out.record); !ok) return tl::unexpected(ok.error());
    spdlog::info("event=api_token_created user_id={} token_id={}", p.user_id, out.record.id);
    return out;
}

core::Result<std::vector<ApiTokenRecord>> AuthService::ListApiTokens(const Principal& p) {
    return store_.ListApiTokens(p.workspace_id, p.user_id);
}

core::Status AuthService::RevokeApiToken(const Principal& p, const std::string& token_id) {
    return store_.RevokeApiToken(p.workspace_id, p.user_id, token_id);
}

core::Result<std::vector<domain::Member>> AuthService::ListMembers(const Principal& p) {
    return store_.ListMembers(p.workspace_id);
}

core::Result<domain::Member> AuthService::AddMember(const Principal& p, const std::string& email_in,
                                                    domain::Role role) {
    if (auto ok = Require(p, domain::Role::kAdmin); !ok) return tl::unexpected(ok.error());
    if (role == domain::Role::kOwner && p.role != domain::Role::kOwner) {
        return Fail(ErrorCode::kPermissionDenied, "only an owner can add another owner");
    }
    auto email = NormalizeEmail(email_in);
    if (!email) return tl::unexpected(email.error());
    auto rec = store_.FindUserByEmail(*email);
    if (!rec) {
        if (rec.error().code == ErrorCode::kNotFound) {
            return core::FieldError("email", "registered_user", "no user has this email; they must register first");
        }
        return tl::unexpected(rec.error());
    }
    if (auto ok = store_.AddMember(p.workspace_id, rec->user.id, role, clock_.Now()); !ok) {
        if (ok.error().code == ErrorCode::kAlreadyExists) {
            return Fail(ErrorCode::kAlreadyExists, "this user is already a member of the workspace");
        }
        return tl::unexpected(ok.error());
    }
    return domain::Member{rec->user.id, rec->user.email, rec->user.name, role};
}

}  // namespace herald::app
