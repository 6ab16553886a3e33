#include "api/api.hpp"
#include "api/json_body.hpp"
#include "app/json_views.hpp"

namespace herald::api {
namespace {

net::Response SessionResponse(int status, const app::Session& s) {
    return JsonResponse(status, {{"user", app::ToJson(s.user)},
                                 {"workspace", app::ToJson(s.workspace)},
                                 {"role", domain::ToString(s.role)},
                                 {"access_token", s.access_token},
                                 {"refresh_token", s.refresh_token},
                                 {"token_type", "Bearer"},
                                 {"expires_in", s.expires_in}});
}

}  // namespace

net::Response Api::Register(const net::Request& r, const Params&) {
    auto body = JsonBody::Parse(r.body);
    if (!body) return ErrorResponse(body.error());
    const auto email = body->String("email"), password = body->String("password"), name = body->String("name");
    if (auto ok = body->Finish(); !ok) return ErrorResponse(ok.error());
    auto s = deps_.auth.Register(email, password, name);
    if (!s) return ErrorResponse(s.error());
    return SessionResponse(201, *s);
}

net::Response Api::Login(const net::Request& r, const Params&) {
    auto body = JsonBody::Parse(r.body);
    if (!body) return ErrorResponse(body.error());
    const auto email = body->String("email"), password = body->String("password");
    const auto workspace_id = body->OptString("workspace_id");
    if (auto ok = body->Finish(); !ok) return ErrorResponse(ok.error());
    auto s = deps_.auth.Login(email, password, workspace_id);
    if (!s) return ErrorResponse(s.error());
    return SessionResponse(200, *s);
}

net::Response Api::RefreshSession(const net::Request& r, const Params&) {
    auto body = JsonBody::Parse(r.body);
    if (!body) return ErrorResponse(body.error());
    const auto token = body->String("refresh_token");
    if (auto ok = body->Finish(); !ok) return ErrorResponse(ok.error());
    auto s = deps_.auth.Refresh(token);
    if (!s) return ErrorResponse(s.error());
    return SessionResponse(200, *s);
}

net::Response Api::Logout(const net::Request& r, const Params&) {
    auto body = JsonBody::Parse(r.body);
    if (!body) return ErrorResponse(body.error());
    const auto token = body->String("refresh_token");
    if (auto ok = body->Finish(); !ok) return ErrorResponse(ok.error());
    if (auto ok = deps_.auth.Logout(token); !ok) return ErrorResponse(ok.error());
    return net::Response{204, "", "", {}};
}

net::Response Api::Me(const net::Request&, const app::Principal& who, const Params&) {
    auto user = deps_.store.GetUser(who.user_id);
    if (!user) return ErrorResponse(user.error());
    auto m = deps_.store.GetMembership(who.user_id, who.workspace_id);
    if (!m) return ErrorResponse(m.error());
    return JsonResponse(
        200,
        {{"user", app::ToJson(*user)}, {"workspace", app::ToJson(m->workspace)}, {"role", domain::ToString(m->role)}});
}

net::Response Api::ListTokens(const net::Request&, const app::Principal& who, const Params&) {
    auto tokens = deps_.auth.ListApiTokens(who);
    if (!tokens) return ErrorResponse(tokens.error());
    nlohmann::json items = nlohmann::json::array();
    for (const auto& t : *tokens) items.push_back(app::ToJson(t));
    return JsonResponse(200, {{"items", items}});
}

net::Response Api::CreateToken(const net::Request& r, const app::Principal& who, const Params&) {
    auto body = JsonBody::Parse(r.body);
    if (!body) return ErrorResponse(body.error());
    const auto name = body->String("name");
    if (auto ok = body->Finish(); !ok) return ErrorResponse(ok.error());
    auto t = deps_.auth.CreateApiToken(who, name);
    if (!t) return ErrorResponse(t.error());
    auto json = app::ToJson(t->record);
    json["token"] = t->token;  // the only time it is shown
    return JsonResponse(201, json);
}

net::Response Api::RevokeToken(const net::Request&, const app::Principal& who, const Params& p) {
    if (auto ok = deps_.auth.RevokeApiToken(who, p[0]); !ok) return ErrorResponse(ok.error());
    return net::Response{204, "", "", {}};
}

net::Response Api::ListMembers(const net::Request&, const app::Principal& who, const Params&) {
    auto members = deps_.auth.ListMembers(who);
    if (!members) return ErrorResponse(members.error());
    nlohmann::json items = nlohmann::json::array();
    for (const auto& m : *members) items.push_back(app::ToJson(m));
    return JsonResponse(200, {{"items", items}});
}

net::Response Api::AddMember(const net::Request& r, const app::Principal& who, const Params&) {
    auto body = JsonBody::Parse(r.body);
    if (!body) return ErrorResponse(body.error());
    const auto email = body->String("email"), role_text = body->String("role");
    if (auto ok = body->Finish(); !ok) return ErrorResponse(ok.error());
    auto role = domain::ParseRole(role_text);
    if (!role)
        return ErrorResponse(core::FieldError("role", "enum", "role must be viewer, editor, admin or owner").value());
    auto m = deps_.auth.AddMember(who, email, *role);
    if (!m) return ErrorResponse(m.error());
    return JsonResponse(201, app::ToJson(*m));
}

}  // namespace herald::api
