#include "app/json_views.hpp"

#include <cmath>
#include <cstdint>
#include <string_view>

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
            {"eta", OptTime(d.eta)},
            {"eta_reason", OptText(d.eta_reason)},
            {"updated_at", domain::FormatRfc3339(d.updated_at)}};
}

nlohmann::json ToJson(const PlannedDelivery& d) {
    return {{"delivery_id", d.delivery_id},
            {"post_id", d.post_id},
            {"job_id", d.job_id},
            {"account_id", d.account_id()},
            {"due_at", domain::FormatRfc3339(d.due)},
            {"priority", d.priority},
            {"eta", OptTime(d.eta)},
            {"reason", [&] {
                 auto reason = d.Reason();
                 return reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(std::move(reason));
             }()}};
}

namespace {

nlohmann::json LimitJson(const ratelimit::Limit& l) {
    const auto count = [](int n) { return n > 0 ? nlohmann::json(n) : nlohmann::json(nullptr); };
    return {{"per_hour", count(l.per_hour)},
            {"per_day", count(l.per_day)},
            {"min_gap_seconds", std::chrono::duration_cast<std::chrono::seconds>(l.min_gap).count()}};
}

}  // namespace

nlohmann::json ToJson(const AccountLimits& l) {
    const auto& post = l.actions[static_cast<size_t>(ratelimit::Action::kPost)];
    return {{"phase", post.phase},
            {"phase_ends", OptTime(l.phase_ends)},
            {"connected_at", domain::FormatRfc3339(l.connected_at)},
            {"post", LimitJson(post.limit)},
            {"post_workspace", LimitJson(post.workspace)},
            {"post_platform", LimitJson(post.platform)},
            {"actions", [&] {
                 nlohmann::json actions = nlohmann::json::object();
                 for (size_t k = 0; k < ratelimit::kActions.size(); ++k) {
                     actions[std::string(ratelimit::ToString(ratelimit::kActions[k]))] = {
                         {"limit", LimitJson(l.actions[k].limit)},
                         {"workspace", LimitJson(l.actions[k].workspace)},
                         {"platform", LimitJson(l.actions[k].platform)}};
                 }
                 return actions;
             }()}};
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
            {"thread", p.thread},
            {"first_comment", OptText(p.first_comment)},
            {"media_ids", p.media_ids},
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

nlohmann::json ToJson(const domain::MediaItem& m) {
    nlohmann::json out = {{"id", m.id},
                          {"kind", domain::ToString(m.kind)},
                          {"mime_type", domain::MimeType(m.format)},
                          {"bytes", m.bytes},
                          {"sha256", m.sha256},
                          {"name", m.original_name},
                          {"alt_text", m.alt_text},
                          {"width", m.width},
                          {"height", m.height},
                          {"aspect_ratio", std::round(domain::AspectRatio(m) * 10000.0) / 10000.0},
                          {"duration_ms", nullptr},
                          {"frame_rate", nullptr},
                          {"video_codec", nullptr},
                          {"audio_codec", nullptr},
                          {"thumbnail_url", nullptr},
                          {"public_url", nullptr},
                          {"created_by", m.created_by},
                          {"created_at", domain::FormatRfc3339(m.created_at)}};
    if (m.duration_ms) out["duration_ms"] = *m.duration_ms;
    if (m.frame_rate) out["frame_rate"] = *m.frame_rate;
    if (m.video_codec) out["video_codec"] = *m.video_codec;
    if (m.audio_codec) out["audio_codec"] = *m.audio_codec;
    if (m.thumbnail_key) out["thumbnail_url"] = "/api/v1/media/" + m.id + "/thumbnail";
    return out;
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

namespace {

// Appends `v` as a JSON string: quotes, escapes as RFC 8259 requires, and valid UTF-8 copied as
// it is (a byte that starts no valid sequence becomes U+FFFD).
void AppendJsonString(std::string& out, std::string_view v) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('"');
    for (size_t i = 0; i < v.size();) {
        const auto c = static_cast<unsigned char>(v[i]);
        if (c < 0x80) {
            switch (c) {
                case '"':
                    out += "\\\"";
                    break;
                case '\\':
                    out += "\\\\";
                    break;
                case '\b':
                    out += "\\b";
                    break;
                case '\f':
                    out += "\\f";
                    break;
                case '\n':
                    out += "\\n";
                    break;
                case '\r':
                    out += "\\r";
                    break;
                case '\t':
                    out += "\\t";
                    break;
                default:
                    if (c < 0x20) {
                        out += "\\u00";
                        out.push_back(kHex[c >> 4]);
                        out.push_back(kHex[c & 0xf]);
                    } else {
                        out.push_back(static_cast<char>(c));
                    }
            }
            ++i;
            continue;
        }
        // The length a lead byte announces (0: no valid sequence starts with it).
        const size_t n = c >= 0xf5 ? 0 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
        bool valid = n != 0 && i + n <= v.size();
        uint32_t cp = n == 4 ? c & 0x07u : n == 3 ? c & 0x0fu : c & 0x1fu;
        for (size_t k = 1; valid && k < n; ++k) {
            const auto cc = static_cast<unsigned char>(v[i + k]);
            valid = (cc & 0xc0) == 0x80;
            cp = (cp << 6) | (cc & 0x3fu);
        }
        if (valid)
            valid = !(n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) &&
                    !(n == 4 && (cp < 0x10000 || cp > 0x10ffff));
        if (valid) {
            out.append(v.substr(i, n));
            i += n;
        } else {
            out += "\xef\xbf\xbd";  // U+FFFD
            ++i;
        }
    }
    out.push_back('"');
}

void AppendMember(std::string& out, std::string_view name, const std::optional<std::string>& v) {
    out.push_back('"');
    out += name;
    out += "\":";
    if (v) {
        AppendJsonString(out, *v);
    } else {
        out += "null";
    }
}

}  // namespace

std::string DeliveryEventText(const DeliveryChange& c) {
    const auto& d = c.delivery;
    const auto time = [](const std::optional<core::TimePoint>& t) {
        return t ? std::optional<std::string>(domain::FormatRfc3339(*t)) : std::nullopt;
    };
    std::string out;
    out.reserve(512);
    out += "{\"delivery\":{";
    AppendMember(out, "account_id", d.account_id);
    out += ",\"attempts\":" + std::to_string(d.attempts) + ",";
    AppendMember(out, "error", d.error);
    out.push_back(',');
    AppendMember(out, "id", d.id);
    out.push_back(',');
    AppendMember(out, "next_attempt_at", time(d.next_attempt_at));
    out.push_back(',');
    AppendMember(out, "published_at", time(d.published_at));
    out.push_back(',');
    AppendMember(out, "remote_id", d.remote_id);
    out.push_back(',');
    AppendMember(out, "status", std::string(domain::ToString(d.status)));
    out.push_back(',');
    AppendMember(out, "updated_at", domain::FormatRfc3339(d.updated_at));
    out.push_back(',');
    AppendMember(out, "url", d.url);
    out += "},";
    AppendMember(out, "post_id", c.post_id);
    out.push_back(',');
    AppendMember(out, "post_status", std::string(domain::ToString(c.post_status)));
    out.push_back('}');
    return out;
}

nlohmann::json DeliveryEventJson(const DeliveryChange& c) {
    // Events carry no eta: planning is done when a post is read, not for every change. A
    // rate_limited delivery's next_attempt_at is its time.
    auto delivery = ToJson(c.delivery);
    delivery.erase("eta");
    delivery.erase("eta_reason");
    return {{"post_id", c.post_id}, {"post_status", domain::ToString(c.post_status)}, {"delivery", delivery}};
}

}  // namespace herald::app
