#include <charconv>

#include "api/api.hpp"
#include "api/json_body.hpp"
#include "app/json_views.hpp"
#include "domain/time.hpp"

namespace herald::api {
namespace {

nlohmann::json LimitsJson(const app::LimitsService::View& v) {
    return {{"platforms", nlohmann::json::parse(v.platforms_json)},
            {"workspace", nlohmann::json::parse(v.workspace.ToJson())}};
}

core::Result<core::TimePoint> ReadTime(const std::string& key, const std::string& value) {
    auto t = domain::ParseRfc3339(value);
    if (!t) return core::FieldError(key, "rfc3339", key + " must be an RFC 3339 time, e.g. 2026-12-01T09:00:00Z");
    return *t;
}

}  // namespace

net::Response Api::GetLimits(const net::Request&, const app::Principal& who, const Params&) {
    auto v = deps_.limits.Get(who);
    if (!v) return ErrorResponse(v.error());
    return JsonResponse(200, LimitsJson(*v));
}

net::Response Api::SetLimits(const net::Request& r, const app::Principal& who, const Params&) {
    if (r.body.empty()) {
        return ErrorResponse(
            core::FieldError("body", "required", "the workspace's limits are required, as a JSON object").value());
    }
    auto v = deps_.limits.Set(who, r.body);
    if (!v) return ErrorResponse(v.error());
    return JsonResponse(200, LimitsJson(*v));
}

net::Response Api::QueuePlan(const net::Request& r, const app::Principal& who, const Params&) {
    std::optional<std::string> account;
    std::optional<core::TimePoint> from, to;
    int limit = 500;
    for (const auto& [key, value] : r.query) {
        if (key == "account" || key == "account_id") {
            account = value;
        } else if (key == "from" || key == "to") {
            auto t = ReadTime(key, value);
            if (!t) return ErrorResponse(t.error());
            (key == "from" ? from : to) = *t;
        } else if (key == "limit") {
            int n = 0;
            const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (ec != std::errc() || end != value.data() + value.size() || n < 1 || n > 5000) {
                return ErrorResponse(
                    core::FieldError("limit", "range", "limit must be a whole number from 1 to 5000").value());
            }
            limit = n;
        } else {
            return ErrorResponse(
                core::FieldError(key, "unknown_parameter",
                                 "unknown query parameter '" + key + "' (known: account, from, to, limit)")
                    .value());
        }
    }
    if (from && to && *to <= *from) {
        return ErrorResponse(core::FieldError("to", "after_from", "to must be later than from").value());
    }
    bool truncated = false;
    auto plan = deps_.limits.Plan(who, account, from, to, static_cast<size_t>(limit), truncated);
    if (!plan) return ErrorResponse(plan.error());
    nlohmann::json items = nlohmann::json::array();
    for (const auto& d : *plan) items.push_back(app::ToJson(d));
    return JsonResponse(200, {{"items", items}, {"truncated", truncated}});
}

}  // namespace herald::api
