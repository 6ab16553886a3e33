#include "api/api.hpp"
#include "api/json_body.hpp"
#include "app/json_views.hpp"
#include "domain/time.hpp"

namespace herald::api {

net::Response Api::CreateAccount(const net::Request& r, const app::Principal& who, const Params&) {
    auto body = JsonBody::Parse(r.body);
    if (!body) return ErrorResponse(body.error());
    app::ConnectAccountInput in{body->String("platform"), body->String("name"),
                                body->OptObjectText("settings").value_or("{}"),
                                body->OptObjectText("credentials").value_or("")};
    if (auto ok = body->Finish(); !ok) return ErrorResponse(ok.error());
    auto a = deps_.accounts.Connect(who, in);
    if (!a) return ErrorResponse(a.error());
    auto json = AccountJson(who, *a, {});
    if (!json) return ErrorResponse(json.error());
    return JsonResponse(201, *json);
}

// PUT /api/v1/accounts/{id}/credentials: reconnect an account (a new app password, token or
// webhook); its posts held by reconnect_required go again.
net::Response Api::ReconnectAccount(const net::Request& r, const app::Principal& who, const Params& p) {
    auto body = JsonBody::Parse(r.body);
    if (!body) return ErrorResponse(body.error());
    const auto settings = body->OptObjectText("settings");
    const auto credentials = body->OptObjectText("credentials");
    if (auto ok = body->Finish(); !ok) return ErrorResponse(ok.error());
    if (!credentials) {
        return ErrorResponse({core::ErrorCode::kInvalidArgument,
                              "credentials is required: the account's new credentials",
                              {{"field", "credentials"}, {"rule", "required"}}});
    }
    auto a = deps_.accounts.Reconnect(who, p[0], settings, *credentials);
    if (!a) return ErrorResponse(a.error());
    auto json = AccountJson(who, *a, ReconnectHolds(who));
    if (!json) return ErrorResponse(json.error());
    return JsonResponse(200, *json);
}

core::Result<nlohmann::json> Api::AccountJson(const app::Principal& who, const domain::Account& a,
                                              const std::map<std::string, std::string>& held) {
    auto limits = deps_.limits.OfAccount(who, a);
    if (!limits) return tl::unexpected(limits.error());
    auto out = app::ToJson(a);
    out["limits"] = app::ToJson(*limits);
    auto hold = held.find(a.id);
    out["reconnect_required"] = hold == held.end() ? nlohmann::json(nullptr) : nlohmann::json(hold->second);
    return out;
}

std::map<std::string, std::string> Api::ReconnectHolds(const app::Principal& who) {
    std::map<std::string, std::string> held;
    auto pauses = deps_.store.ListPauses(who.workspace_id);
    if (!pauses) return held;
    const std::string prefix = std::string(app::kReconnectRequired) + ": ";
    for (const auto& p : *pauses) {
        if (p.scope.account_id && p.reason && p.reason->rfind(prefix, 0) == 0) {
            held[*p.scope.account_id] = p.reason->substr(prefix.size());
        }
    }
    return held;
}

net::Response Api::ListAccounts(const net::Request&, const app::Principal& who, const Params&) {
    auto list = deps_.accounts.List(who);
    if (!list) return ErrorResponse(list.error());
    nlohmann::json items = nlohmann::json::array();
    const auto held = ReconnectHolds(who);
    for (const auto& a : *list) {
        auto json = AccountJson(who, a, held);
        if (!json) return ErrorResponse(json.error());
        items.push_back(std::move(*json));
    }
    return JsonResponse(200, {{"items", items}});
}

net::Response Api::GetAccount(const net::Request&, const app::Principal& who, const Params& p) {
    auto a = deps_.accounts.Get(who, p[0]);
    if (!a) return ErrorResponse(a.error());
    auto json = AccountJson(who, *a, ReconnectHolds(who));
    if (!json) return ErrorResponse(json.error());
    return JsonResponse(200, *json);
}

net::Response Api::SandboxPosts(const net::Request&, const app::Principal& who, const Params& p) {
    auto list = deps_.accounts.SandboxPosts(who, p[0]);
    if (!list) return ErrorResponse(list.error());
    nlohmann::json items = nlohmann::json::array();
    for (const auto& s : *list) items.push_back(app::ToJson(s));
    return JsonResponse(200, {{"items", items}});
}

namespace {

nlohmann::json ScheduleJson(const app::AccountService::ScheduleView& v) {
    nlohmann::json out = v.schedule ? nlohmann::json::parse(v.schedule->ToJson())
                                    : nlohmann::json{{"timezone", nullptr}, {"slots", nlohmann::json::array()}};
    nlohmann::json next = nlohmann::json::array();
    for (const auto& t : v.next_free) next.push_back(domain::FormatRfc3339(t));
    out["next_free_slots"] = next;
    return out;
}

}  // namespace

net::Response Api::GetSchedule(const net::Request&, const app::Principal& who, const Params& p) {
    auto v = deps_.accounts.GetSchedule(who, p[0]);
    if (!v) return ErrorResponse(v.error());
    return JsonResponse(200, ScheduleJson(*v));
}

net::Response Api::SetSchedule(const net::Request& r, const app::Principal& who, const Params& p) {
    auto v = deps_.accounts.SetSchedule(who, p[0], r.body);
    if (!v) return ErrorResponse(v.error());
    return JsonResponse(200, ScheduleJson(*v));
}

}  // namespace herald::api
