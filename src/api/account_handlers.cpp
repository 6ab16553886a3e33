#include "api/api.hpp"
#include "api/json_body.hpp"
#include "app/json_views.hpp"

namespace herald::api {

net::Response Api::CreateAccount(const net::Request& r, const app::Principal& who, const Params&) {
    auto body = JsonBody::Parse(r.body);
    if (!body) return ErrorResponse(body.error());
    auto platform = body->String("platform");
    if (!platform) return ErrorResponse(platform.error());
    auto name = body->String("name");
    if (!name) return ErrorResponse(name.error());
    auto settings = body->OptObjectText("settings");
    if (!settings) return ErrorResponse(settings.error());
    auto credentials = body->OptObjectText("credentials");
    if (!credentials) return ErrorResponse(credentials.error());
    if (auto ok = body->Finish(); !ok) return ErrorResponse(ok.error());
    app::ConnectAccountInput in{*platform, *name, settings->value_or("{}"), credentials->value_or("")};
    auto a = deps_.accounts.Connect(who, in);
    if (!a) return ErrorResponse(a.error());
    return JsonResponse(201, app::ToJson(*a));
}

net::Response Api::ListAccounts(const net::Request&, const app::Principal& who, const Params&) {
    auto list = deps_.accounts.List(who);
    if (!list) return ErrorResponse(list.error());
    nlohmann::json items = nlohmann::json::array();
    for (const auto& a : *list) items.push_back(app::ToJson(a));
    return JsonResponse(200, {{"items", items}});
}

net::Response Api::GetAccount(const net::Request&, const app::Principal& who, const Params& p) {
    auto a = deps_.accounts.Get(who, p[0]);
    if (!a) return ErrorResponse(a.error());
    return JsonResponse(200, app::ToJson(*a));
}

net::Response Api::SandboxPosts(const net::Request&, const app::Principal& who, const Params& p) {
    auto list = deps_.accounts.SandboxPosts(who, p[0]);
    if (!list) return ErrorResponse(list.error());
    nlohmann::json items = nlohmann::json::array();
    for (const auto& s : *list) items.push_back(app::ToJson(s));
    return JsonResponse(200, {{"items", items}});
}

}  // namespace herald::api
