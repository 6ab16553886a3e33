#include "app/json_views.hpp"

#include "domain/time.hpp"

namespace herald::app {
namespace {

nlohmann::json OptTime(const std::optional<core::TimePoint>& t) {
    return t ? nlohmann::json(domain::FormatRfc3339(*t)) : nlohmann::json(nullptr);
}

nlohmann::json OptText(const std::optional<std::string>& s) { return s ? nlohmann::json(*s) : nlohmann::json(nullptr); }

}  // namespace

nlohmann::json ToJson(const domain::Delivery& d) {
    return {{"id", d.id},
            {"account_id", d.account_id},
            {"status", domain::ToString(d.status)},
            {"attempts", d.attempts},
            {"remote_id", OptText(d.remote_id)},
            {"url", OptText(d.url)},
            {"error", OptText(d.error)},
            {"next_attempt_at", OptTime(d.next_attempt_at)},
            {"published_at", OptTime(d.published_at)},
            {"updated_at", domain::FormatRfc3339(d.updated_at)}};
}

nlohmann::json ToJson(const domain::Post& p) {
    nlohmann::json deliveries = nlohmann::json::array();
    for (const auto& d : p.deliveries) deliveries.push_back(ToJson(d));
    nlohmann::json variants = nlohmann::json::object();
    for (const auto& [k, v] : p.variants) variants[k] = v;
    nlohmann::json account_ids = nlohmann::json::array();
    for (const auto& d : p.deliveries) account_ids.push_back(d.account_id);
    return {{"id", p.id},
            {"status", domain::ToString(p.status)},
            {"text", p.text},
            {"variants", variants},
            {"account_ids", account_ids},
            {"scheduled_at", OptTime(p.scheduled_at)},
            {"local_time", OptText(p.local_time)},
            {"timezone", OptText(p.time_zone)},
            {"created_by", p.created_by},
            {"created_at", domain::FormatRfc3339(p.created_at)},
            {"updated_at", domain::FormatRfc3339(p.updated_at)},
            {"deliveries", deliveries}};
}

nlohmann::json ToJson(const domain::Account& a) {
    auto settings = nlohmann::json::parse(a.settings_json, nullptr, false);
    if (settings.is_discarded()) settings = nlohmann::json::object();
    return {{"id", a.id},
            {"platform", a.platform},
            {"name", a.name},
            {"settings", settings},
            {"has_credentials", a.has_credentials},
            {"created_at", domain::FormatRfc3339(a.created_at)}};
}

nlohmann::json ToJson(const domain::User& u) {
    return {{"id", u.id}, {"email", u.email}, {"name", u.name}, {"created_at", domain::FormatRfc3339(u.created_at)}};
}

nlohmann::json ToJson(const domain::Workspace& w) {
    return {{"id", w.id}, {"name", w.name}, {"created_at", domain::FormatRfc3339(w.created_at)}};
}

nlohmann::json ToJson(const domain::Member& m) {
    return {{"user_id", m.user_id}, {"email", m.email}, {"name", m.name}, {"role", domain::ToString(m.role)}};
}

nlohmann::json ToJson(const SandboxPost& s) {
    return {{"remote_id", s.remote_id},
            {"account_id", s.account_id},
            {"text", s.text},
            {"idempotency_key", s.idempotency_key},
            {"created_at", domain::FormatRfc3339(s.created_at)}};
}

nlohmann::json ToJson(const ApiTokenRecord& t) {
    return {
        {"id", t.id}, {"name", t.name}, {"created_at", domain::FormatRfc3339(t.created_at)}, {"revoked", t.revoked}};
}

nlohmann::json ToJson(const JobView& j) {
    return {{"id", j.id},
            {"kind", j.kind},
            {"state", j.state},
            {"outcome", OptText(j.outcome)},
            {"post_id", OptText(j.post_id)},
            {"delivery_id", OptText(j.delivery_id)},
            {"account_id", OptText(j.account_id)},
            {"platform", OptText(j.platform)},
            {"priority", j.priority},
            {"attempts", j.attempts},
            {"max_attempts", j.max_attempts},
            {"due_at", domain::FormatRfc3339(j.due_at)},
            {"lease_until", OptTime(j.lease_until)},
            {"last_error", OptText(j.last_error)},
            {"uncertain", j.uncertain},
            {"created_at", domain::FormatRfc3339(j.created_at)},
            {"updated_at", domain::FormatRfc3339(j.updated_at)}};
}

nlohmann::json ToJson(const PauseRecord& p) {
    // A pause without a workspace covers the whole installation (set by the operator).
    const char* scope = p.scope.account_id     ? "account"
                        : p.scope.platform     ? "platform"
                        : p.scope.workspace_id ? "workspace"
                                               : "installation";
    return {{"id", p.id},
            {"scope", scope},
            {"installation_wide", !p.scope.workspace_id.has_value()},
            {"account_id", OptText(p.scope.account_id)},
            {"platform", OptText(p.scope.platform)},
            {"reason", OptText(p.reason)},
            {"created_at", domain::FormatRfc3339(p.created_at)},
            {"jobs_paused", p.jobs_paused}};
}

nlohmann::json ToJson(const QueueStats& s) {
    auto counts = [](const std::vector<QueueCount>& rows, bool accounts) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& c : rows) {
            nlohmann::json row = {
                {"pending", c.pending}, {"paused", c.paused}, {"running", c.running}, {"dead", c.dead}};
            if (accounts) row["account_id"] = c.key;
            row["platform"] = c.platform;
            out.push_back(std::move(row));
        }
        return out;
    };
    nlohmann::json success_rate = nullptr;
    if (s.finished_last_hour > 0) {
        success_rate = static_cast<double>(s.succeeded_last_hour) / static_cast<double>(s.finished_last_hour);
    }
    return {{"jobs",
             {{"pending", s.pending}, {"due", s.due}, {"paused", s.paused}, {"running", s.running}, {"dead", s.dead}}},
            {"oldest_due_age_seconds", static_cast<double>(s.oldest_due_age.count()) / 1000.0},
            {"finished_last_minute", s.finished_last_minute},
            {"finished_last_hour", s.finished_last_hour},
            {"throughput_per_minute", static_cast<double>(s.finished_last_hour) / 60.0},
            {"success_rate_last_hour", success_rate},
            {"failed_last_hour", s.failed_last_hour},
            {"by_account", counts(s.by_account, true)},
            {"by_platform", counts(s.by_platform, false)}};
}

nlohmann::json DeliveryEventJson(const DeliveryChange& c) {
    return {{"post_id", c.post_id}, {"post_status", domain::ToString(c.post_status)}, {"delivery", ToJson(c.delivery)}};
}

}  // namespace herald::app
