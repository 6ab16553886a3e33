#pragma once

// Row readers shared by the backends. Each is a template over a row with Text, View, OptText,
// Int, OptInt and IsNull by column (sqlite::Stmt, postgres::PgRow), so that both read the same
// columns into the same domain types, and both write JSON columns the same way.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "app/ports.hpp"
#include "core/clock.hpp"
#include "domain/job.hpp"
#include "domain/media.hpp"
#include "domain/periodic.hpp"
#include "domain/post.hpp"
#include "storage/errors.hpp"

namespace herald::storage {

inline std::optional<int64_t> OptMillis(const std::optional<core::TimePoint>& t) {
    if (!t) return std::nullopt;
    return core::ToUnixMillis(*t);
}

inline std::optional<core::TimePoint> OptTime(const std::optional<int64_t>& ms) {
    if (!ms) return std::nullopt;
    return core::FromUnixMillis(*ms);
}

/// Columns: state_hash, workspace_id, user_id, platform, account_id, name, settings,
/// verifier, binding_hash, return_to, created_at, expires_at.
template <typename Row>
app::OAuthStateRecord ReadOAuthState(const Row& r) {
    return app::OAuthStateRecord{r.Text(0),
                                 r.Text(1),
                                 r.Text(2),
                                 r.Text(3),
                                 r.OptText(4),
                                 r.Text(5),
                                 r.Text(6),
                                 r.Text(7),
                                 r.Text(8),
                                 r.Text(9),
                                 core::FromUnixMillis(r.Int(10)),
                                 core::FromUnixMillis(r.Int(11))};
}

inline domain::DeliveryStatus ParseStatus(const std::string& s) {
    auto st = domain::ParseDeliveryStatus(s);
    if (!st) throw StoreError("unknown delivery status in database: " + s);
    return *st;
}

inline domain::JobKind ParseKind(const std::string& s) {
    auto kind = domain::ParseJobKind(s);
    if (!kind) throw StoreError("unknown job kind in database: " + s);
    return *kind;
}

inline std::string VariantsJson(const domain::Post& p) {
    nlohmann::json v = nlohmann::json::object();
    for (const auto& [k, t] : p.variants) v[k] = t;
    return v.dump();
}

// A post's thread or media column: a JSON array of strings, or NULL for none.
inline std::optional<std::string> StringArrayJson(const std::vector<std::string>& items) {
    if (items.empty()) return std::nullopt;
    return nlohmann::json(items).dump();
}

template <typename Row>
std::vector<std::string> ReadStringArray(const Row& s, int col) {
    std::vector<std::string> out;
    if (s.IsNull(col)) return out;
    const nlohmann::json items = nlohmann::json::parse(s.View(col), nullptr, false);
    if (!items.is_array()) return out;
    for (const auto& t : items) {
        if (t.is_string()) out.push_back(t.template get<std::string>());
    }
    return out;
}

// Columns: id, workspace_id, created_by, text, variants, scheduled_at, local_time, time_zone,
// status, created_at, updated_at, thread, first_comment, media.
template <typename Row>
domain::Post ReadPost(const Row& s) {
    domain::Post p;
    p.id = s.Text(0);
    p.workspace_id = s.Text(1);
    p.created_by = s.Text(2);
    p.text = s.Text(3);
    auto variants = nlohmann::json::parse(s.Text(4), nullptr, false);
    if (variants.is_object()) {
        for (auto& [k, v] : variants.items()) {
            if (v.is_string()) p.variants[k] = v.template get<std::string>();
        }
    }
    p.scheduled_at = OptTime(s.OptInt(5));
    p.local_time = s.OptText(6);
    p.time_zone = s.OptText(7);
    p.status = ParseStatus(s.Text(8));
    p.created_at = core::FromUnixMillis(s.Int(9));
    p.updated_at = core::FromUnixMillis(s.Int(10));
    p.thread = ReadStringArray(s, 11);
    p.first_comment = s.OptText(12);
    p.media_ids = ReadStringArray(s, 13);
    return p;
}

// Columns: id, post_id, account_id, status, attempts, remote_id, url, error, next_attempt_at,
// published_at, updated_at.
template <typename Row>
domain::Delivery ReadDelivery(const Row& s) {
    domain::Delivery d;
    d.id = s.Text(0);
    d.post_id = s.Text(1);
    d.account_id = s.Text(2);
    d.status = ParseStatus(s.Text(3));
    d.attempts = static_cast<int>(s.Int(4));
    d.remote_id = s.OptText(5);
    d.url = s.OptText(6);
    d.error = s.OptText(7);
    d.next_attempt_at = OptTime(s.OptInt(8));
    d.published_at = OptTime(s.OptInt(9));
    d.updated_at = core::FromUnixMillis(s.Int(10));
    return d;
}

// Columns: id, workspace_id, platform, name, settings, has credentials, created_at.
template <typename Row>
domain::Account ReadAccount(const Row& s) {
    domain::Account a;
    a.id = s.Text(0);
    a.workspace_id = s.Text(1);
    a.platform = s.Text(2);
    a.name = s.Text(3);
    a.settings_json = s.Text(4);
    a.has_credentials = s.Int(5) != 0;
    a.created_at = core::FromUnixMillis(s.Int(6));
    return a;
}

// Columns: id, workspace_id, created_by, kind, format, bytes, sha256, storage_key, thumbnail_key, original_name,
// alt_text, width, height, duration_ms, frame_rate_milli, video_codec, audio_codec, created_at.
#define HERALD_MEDIA_COLUMNS                                                                                 \
    "id, workspace_id, created_by, kind, format, bytes, sha256, storage_key, thumbnail_key, original_name, " \
    "alt_text, width, height, duration_ms, frame_rate_milli, video_codec, audio_codec, created_at"
template <typename Row>
domain::MediaItem ReadMedia(const Row& s) {
    domain::MediaItem m;
    m.id = s.Text(0);
    m.workspace_id = s.Text(1);
    m.created_by = s.Text(2);
    const auto kind = domain::ParseMediaKind(s.Text(3));
    const auto format = domain::FormatFromMime(s.Text(4));
    if (!kind || !format) throw StoreError("unknown media kind or format in database: " + s.Text(4));
    m.kind = *kind;
    m.format = *format;
    m.bytes = static_cast<uint64_t>(s.Int(5));
    m.sha256 = s.Text(6);
    m.storage_key = s.Text(7);
    m.thumbnail_key = s.OptText(8);
    m.original_name = s.Text(9);
    m.alt_text = s.Text(10);
    m.width = static_cast<uint32_t>(s.Int(11));
    m.height = static_cast<uint32_t>(s.Int(12));
    m.duration_ms = s.OptInt(13);
    if (auto fr = s.OptInt(14)) m.frame_rate = static_cast<double>(*fr) / 1000.0;
    m.video_codec = s.OptText(15);
    m.audio_codec = s.OptText(16);
    m.created_at = core::FromUnixMillis(s.Int(17));
    return m;
}

inline std::optional<int64_t> FrameRateMilli(const domain::MediaItem& m) {
    if (!m.frame_rate) return std::nullopt;
    return static_cast<int64_t>(*m.frame_rate * 1000.0 + 0.5);
}

// Columns: id, name, token_hash, user_id, workspace_id, created_at, last_used_at, revoked.
template <typename Row>
app::ApiTokenRecord ReadApiToken(const Row& s) {
    app::ApiTokenRecord t;
    t.id = s.Text(0);
    t.name = s.Text(1);
    t.token_hash = s.Text(2);
    t.user_id = s.Text(3);
    t.workspace_id = s.Text(4);
    t.created_at = core::FromUnixMillis(s.Int(5));
    t.last_used_at = OptTime(s.OptInt(6));
    t.revoked = s.Int(7) != 0;
    return t;
}

// Columns: remote_id, account_id, text, idempotency_key, created_at, kind, parent.
template <typename Row>
app::SandboxPost ReadSandbox(const Row& s) {
    return app::SandboxPost{s.Text(0), s.Text(1),   s.Text(2), s.Text(3), core::FromUnixMillis(s.Int(4)),
                            s.Text(5), s.OptText(6)};
}

// Columns: id, workspace_id, delivery_id, state, priority, attempts, max_attempts, due_at,
// lease_until, kind, payload, uncertain.
template <typename Row>
domain::Job ReadJob(const Row& s) {
    domain::Job j;
    j.id = s.Text(0);
    j.workspace_id = s.Text(1);
    j.delivery_id = s.Text(2);
    j.state = domain::ParseJobState(s.Text(3)).value_or(domain::JobState::kPending);
    j.priority = static_cast<int>(s.Int(4));
    j.attempts = static_cast<int>(s.Int(5));
    j.max_attempts = static_cast<int>(s.Int(6));
    j.due_at = core::FromUnixMillis(s.Int(7));
    j.lease_until = OptTime(s.OptInt(8));
    j.kind = ParseKind(s.Text(9));
    j.payload = s.Text(10);
    j.uncertain = s.Int(11) != 0;
    return j;
}

// Columns: workspace id, name, created_at, role.
template <typename Row>
app::Membership ReadMembershipRow(const Row& s) {
    app::Membership m;
    m.workspace = domain::Workspace{s.Text(0), s.Text(1), core::FromUnixMillis(s.Int(2))};
    m.role = domain::ParseRole(s.Text(3)).value_or(domain::Role::kViewer);
    return m;
}

// Columns: name, kind, cron, timezone, priority, max_attempts, enabled, next_run_at, last_run_at.
template <typename Row>
domain::PeriodicSchedule ReadPeriodic(const Row& s) {
    domain::PeriodicSchedule p;
    p.name = s.Text(0);
    p.kind = ParseKind(s.Text(1));
    p.cron = s.Text(2);
    p.time_zone = s.Text(3);
    p.priority = static_cast<int>(s.Int(4));
    p.max_attempts = static_cast<int>(s.Int(5));
    p.enabled = s.Int(6) != 0;
    p.next_run_at = OptTime(s.OptInt(7));
    p.last_run_at = OptTime(s.OptInt(8));
    return p;
}

// Columns: id, kind, state, outcome, workspace_id, delivery_id, post_id, account_id, platform,
// priority, attempts, max_attempts, due_at, lease_until, last_error, uncertain, created_at,
// updated_at (kListLiveJobs and the other job views).
template <typename Row>
app::JobView ReadJobView(const Row& s) {
    app::JobView v;
    v.id = s.Text(0);
    v.kind = s.Text(1);
    v.state = s.Text(2);
    v.outcome = s.OptText(3);
    v.workspace_id = s.OptText(4);
    v.delivery_id = s.OptText(5);
    v.post_id = s.OptText(6);
    v.account_id = s.OptText(7);
    v.platform = s.OptText(8);
    v.priority = static_cast<int>(s.Int(9));
    v.attempts = static_cast<int>(s.Int(10));
    v.max_attempts = static_cast<int>(s.Int(11));
    v.due_at = core::FromUnixMillis(s.Int(12));
    v.lease_until = OptTime(s.OptInt(13));
    v.last_error = s.OptText(14);
    v.uncertain = s.Int(15) != 0;
    v.created_at = core::FromUnixMillis(s.Int(16));
    v.updated_at = core::FromUnixMillis(s.Int(17));
    return v;
}

// Columns: id, workspace_id, account_id, platform, reason, created_by, created_at.
template <typename Row>
app::PauseRecord ReadPause(const Row& s) {
    app::PauseRecord p;
    p.id = s.Text(0);
    p.scope = app::PauseScope{s.OptText(1), s.OptText(2), s.OptText(3)};
    p.reason = s.OptText(4);
    p.created_by = s.OptText(5);
    p.created_at = core::FromUnixMillis(s.Int(6));
    return p;
}

/// The fixed offset a delivery's job gets within its post's jitter window: the same on every
/// edit, never early. FNV-1a over the delivery id: stable across builds, unlike std::hash.
inline int64_t JitterOffset(const std::string& delivery_id, core::Millis jitter) {
    if (jitter.count() <= 0) return 0;
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char ch : delivery_id) h = (h ^ ch) * 1099511628211ULL;
    return static_cast<int64_t>(h % static_cast<uint64_t>(jitter.count() + 1));
}

}  // namespace herald::storage
