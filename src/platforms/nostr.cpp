#include "platforms/nostr.hpp"

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <mutex>

#include "platforms/websocket.hpp"

namespace herald::platforms {
namespace {

std::string Hex(const unsigned char* b, size_t n) {
    std::string out(n * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), b, n);
    out.pop_back();
    return out;
}

std::optional<std::vector<unsigned char>> Unhex(const std::string& s) {
    if (s.size() % 2 != 0) return std::nullopt;
    std::vector<unsigned char> out(s.size() / 2);
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (size_t i = 0; i < out.size(); ++i) {
        const int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out[i] = static_cast<unsigned char>(hi * 16 + lo);
    }
    return out;
}

}  // namespace

namespace nostr {
namespace {

using core::ErrorCode;

secp256k1_context* Context() {
    static secp256k1_context* ctx = [] {
        auto* c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
        unsigned char seed[32];
        randombytes_buf(seed, sizeof seed);
        if (secp256k1_context_randomize(c, seed) != 1) spdlog::warn("event=secp256k1_randomize_failed");
        return c;
    }();
    return ctx;
}

std::string Quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        switch (c) {
            case '\n':
                out += "\\n";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                out += c;
        }
    }
    return out + "\"";
}

constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

uint32_t Polymod(const std::vector<unsigned char>& values) {
    static constexpr uint32_t kGen[] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
    uint32_t chk = 1;
    for (unsigned char v : values) {
        const uint32_t top = chk >> 25;
        chk = ((chk & 0x1ffffff) << 5) ^ v;
        for (int i = 0; i < 5; ++i) chk ^= ((top >> i) & 1) ? kGen[i] : 0;
    }
    return chk;
}

std::vector<unsigned char> HrpExpand(const std::string& hrp) {
    std::vector<unsigned char> out;
    for (char c : hrp) out.push_back(static_cast<unsigned char>(c) >> 5);
    out.push_back(0);
    for (char c : hrp) out.push_back(static_cast<unsigned char>(c) & 31);
    return out;
}

std::optional<std::vector<unsigned char>> ConvertBits(const std::vector<unsigned char>& in, int from, int to,
                                                      bool pad) {
    uint32_t acc = 0;
    int bits = 0;
    std::vector<unsigned char> out;
    const uint32_t maxv = (1u << to) - 1;
    for (unsigned char v : in) {
        if ((v >> from) != 0) return std::nullopt;
        acc = (acc << from) | v;
        bits += from;
        while (bits >= to) {
            bits -= to;
            out.push_back(static_cast<unsigned char>((acc >> bits) & maxv));
        }
    }
    if (pad) {
        if (bits > 0) out.push_back(static_cast<unsigned char>((acc << (to - bits)) & maxv));
    } else if (bits >= from || ((acc << (to - bits)) & maxv) != 0) {
        return std::nullopt;
    }
    return out;
}

}  // namespace

std::string Bech32Encode(const std::string& hrp, const std::vector<unsigned char>& data) {
    auto five = *ConvertBits(data, 8, 5, true);
    auto values = HrpExpand(hrp);
    values.insert(values.end(), five.begin(), five.end());
    values.insert(values.end(), 6, 0);
    const uint32_t mod = Polymod(values) ^ 1;
    std::string out = hrp + "1";
    for (unsigned char v : five) out += kCharset[v];
    for (int i = 0; i < 6; ++i) out += kCharset[(mod >> (5 * (5 - i))) & 31];
    return out;
}

std::optional<std::vector<unsigned char>> Bech32Decode(const std::string& text, const std::string& hrp) {
    if (text.size() < hrp.size() + 8 || text.compare(0, hrp.size() + 1, hrp + "1") != 0) return std::nullopt;
    std::vector<unsigned char> five;
    for (size_t i = hrp.size() + 1; i < text.size(); ++i) {
        const char* p = std::strchr(kCharset, text[i]);
        if (p == nullptr || text[i] == '\0') return std::nullopt;
        five.push_back(static_cast<unsigned char>(p - kCharset));
    }
    auto values = HrpExpand(hrp);
    values.insert(values.end(), five.begin(), five.end());
    if (Polymod(values) != 1) return std::nullopt;
    five.resize(five.size() - 6);
    return ConvertBits(five, 5, 8, false);
}

core::Result<Keys> ParseSecretKey(const std::string& text) {
    std::optional<std::vector<unsigned char>> bytes =
        text.rfind("nsec1", 0) == 0 ? Bech32Decode(text, "nsec") : Unhex(text);
    Keys k;
    secp256k1_keypair pair;
    if (!bytes || bytes->size() != 32) {
        return core::FieldError("credentials.secret_key", "nostr_key",
                                "credentials.secret_key must be a Nostr secret key: nsec1… or 64 hex digits");
    }
    std::copy(bytes->begin(), bytes->end(), k.secret.begin());
    if (secp256k1_keypair_create(Context(), &pair, k.secret.data()) != 1) {
        return core::FieldError("credentials.secret_key", "nostr_key", "credentials.secret_key is not a valid key");
    }
    secp256k1_xonly_pubkey xonly;
    unsigned char pub[32];
    if (secp256k1_keypair_xonly_pub(Context(), &xonly, nullptr, &pair) != 1 ||
        secp256k1_xonly_pubkey_serialize(Context(), pub, &xonly) != 1) {
        return core::FieldError("credentials.secret_key", "nostr_key", "credentials.secret_key is not a valid key");
    }
    k.pubkey = Hex(pub, 32);
    sodium_memzero(&pair, sizeof pair);
    return k;
}

std::string Serialize(const Event& e) {
    std::string tags = "[";
    for (size_t i = 0; i < e.tags.size(); ++i) {
        if (i) tags += ",";
        tags += "[";
        for (size_t j = 0; j < e.tags[i].size(); ++j) tags += (j ? "," : "") + Quote(e.tags[i][j]);
        tags += "]";
    }
    tags += "]";
    return "[0," + Quote(e.pubkey) + "," + std::to_string(e.created_at) + "," + std::to_string(e.kind) + "," + tags +
           "," + Quote(e.content) + "]";
}

void Sign(Event& e, const Keys& keys) {
    e.pubkey = keys.pubkey;
    const std::string text = Serialize(e);
    unsigned char id[32];
    crypto_hash_sha256(id, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    e.id = Hex(id, 32);
    // The key was checked when parsed: these cannot fail; if they did, the event would carry
    // no signature and every relay would refuse it, saying so.
    secp256k1_keypair pair;
    unsigned char aux[32];
    randombytes_buf(aux, sizeof aux);
    unsigned char sig[64];
    const bool ok = secp256k1_keypair_create(Context(), &pair, keys.secret.data()) == 1 &&
                    secp256k1_schnorrsig_sign32(Context(), sig, id, &pair, aux) == 1;
    sodium_memzero(&pair, sizeof pair);
    e.sig = ok ? Hex(sig, 64) : "";
}

bool Verify(const Event& e) {
    const std::string text = Serialize(e);
    unsigned char id[32];
    crypto_hash_sha256(id, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    if (Hex(id, 32) != e.id) return false;
    auto pub = Unhex(e.pubkey);
    auto sig = Unhex(e.sig);
    secp256k1_xonly_pubkey xonly;
    if (!pub || pub->size() != 32 || !sig || sig->size() != 64 ||
        secp256k1_xonly_pubkey_parse(Context(), &xonly, pub->data()) != 1) {
        return false;
    }
    return secp256k1_schnorrsig_verify(Context(), sig->data(), id, 32, &xonly) == 1;
}

nlohmann::json Event::Json() const {
    return {{"id", id},           {"pubkey", pubkey}, {"created_at", created_at}, {"kind", kind}, {"tags", tags},
            {"content", content}, {"sig", sig}};
}

}  // namespace nostr

namespace {

using nlohmann::json;

constexpr auto kRelayTimeout = std::chrono::seconds(10);
constexpr const char* kLabelNamespace = "social.herald.delivery";

std::vector<std::string> RelaysOf(const std::string& settings_json) {
    std::vector<std::string> out;
    auto j = json::parse(settings_json.empty() ? "{}" : settings_json, nullptr, false);
    if (j.is_object() && j.contains("relays") && j["relays"].is_array()) {
        for (const auto& r : j["relays"]) {
            if (r.is_string()) out.push_back(r);
        }
    }
    return out;
}

std::optional<std::string> SecretOf(const std::string& credentials_json) {
    auto j = json::parse(credentials_json.empty() ? "{}" : credentials_json, nullptr, false);
    if (j.is_object() && j.contains("secret_key") && j["secret_key"].is_string()) return j["secret_key"];
    return std::nullopt;
}

std::string NoteUrl(const std::string& id_hex) {
    return "https://njump.me/" + nostr::Bech32Encode("note", Unhex(id_hex).value_or(std::vector<unsigned char>{}));
}

// Hashtags in the text, for "t" tags (how clients find posts by topic).
std::vector<std::string> Hashtags(const std::string& t) {
    std::vector<std::string> out;
    for (size_t i = 0; i < t.size(); ++i) {
        if (t[i] != '#' || (i > 0 && t[i - 1] != ' ' && t[i - 1] != '\n')) continue;
        size_t end = i + 1;
        while (end < t.size() && t[end] != ' ' && t[end] != '\n' && t[end] != '#' &&
               std::strchr(".,;:!?)\"'", t[end]) == nullptr) {
            ++end;
        }
        if (end > i + 1) {
            std::string tag = t.substr(i + 1, end - i - 1);
            for (auto& c : tag) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            out.push_back(tag);
        }
        i = end;
    }
    return out;
}

}  // namespace

NostrAdapter::NostrAdapter(const core::Clock& clock, HttpOptions connections)
    : clock_(clock), connections_(std::move(connections)) {}

domain::PlatformLimits NostrAdapter::Limits() const {
    domain::PlatformLimits l;
    // No limit in the protocol; relays refuse large events (commonly 64 KiB), so a margin.
    l.max_text_chars = 16000;
    l.max_text_bytes = 32000;
    l.max_media = 10;
    l.max_thread_items = 25;
    l.media.max_images = 10;
    l.media.max_videos = 10;
    l.media.mix_images_and_videos = true;
    l.media.pulls_from_url = true;  // linked, not uploaded: the links must be public
    return l;
}

core::Status NostrAdapter::ValidateSettings(const std::string& settings_json) const {
    auto read = ReadSettings(settings_json, {"relays", "pubkey", "npub"}, "Nostr", "relays (a list of wss:// URLs)",
                             {"relays"});
    if (!read) return tl::unexpected(read.error());
    const auto& j = *read;
    if (!j.contains("relays") || !j["relays"].is_array() || j["relays"].empty() || j["relays"].size() > 10) {
        return core::FieldError("settings.relays", "relays",
                                "settings.relays must list 1 to 10 relays, e.g. [\"wss://relay.damus.io\"]");
    }
    for (size_t i = 0; i < j["relays"].size(); ++i) {
        const auto& r = j["relays"][i];
        const std::string field = "settings.relays[" + std::to_string(i) + "]";
        if (!r.is_string() ||
            !(r.get<std::string>().rfind("wss://", 0) == 0 || r.get<std::string>().rfind("ws://", 0) == 0) ||
            r.get<std::string>().size() > 300) {
            return core::FieldError(field, "url", field + " must be a wss:// (or ws://) URL");
        }
    }
    return {};
}

core::Result<std::string> NostrAdapter::VerifyConnection(const std::string& settings_json,
                                                         const std::string& credentials_json) {
    auto secret = SecretOf(credentials_json);
    if (!secret) {
        return core::FieldError("credentials.secret_key", "required",
                                "Nostr needs credentials {\"secret_key\": \"nsec1…\"} (or 64 hex digits)");
    }
    auto keys = nostr::ParseSecretKey(*secret);
    if (!keys) return tl::unexpected(keys.error());
    auto settings = json::parse(settings_json, nullptr, false);
    settings["pubkey"] = keys->pubkey;
    settings["npub"] = nostr::Bech32Encode("npub", *Unhex(keys->pubkey));
    return settings.dump();
}

std::string NostrAdapter::Marker(const std::string& delivery_id, int index) {
    unsigned char digest[32];
    const std::string text = delivery_id + "#" + std::to_string(index);
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    return Hex(digest, 16);
}

NostrAdapter::Found NostrAdapter::Query(const std::vector<std::string>& relays, const std::string& pubkey,
                                        const std::string& marker) {
    Found found;
    const json filter = {{"authors", {pubkey}}, {"kinds", {1}}, {"#l", {marker}}, {"limit", 1}};
    for (const auto& relay : relays) {
        auto ws = WebSocket::Connect(relay, connections_, kRelayTimeout);
        if (!ws) continue;
        if (!(*ws)->Send(json::array({"REQ", "herald", filter}).dump())) continue;
        const auto deadline = std::chrono::steady_clock::now() + kRelayTimeout;
        while (std::chrono::steady_clock::now() < deadline) {
            auto msg = (*ws)->Receive(
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
            if (!msg || !*msg) break;
            auto j = json::parse(**msg, nullptr, false);
            if (!j.is_array() || j.empty() || !j[0].is_string()) continue;
            if (j[0] == "EOSE") {
                ++found.answered;
                break;
            }
            if (j[0] == "EVENT" && j.size() >= 3 && j[2].is_object()) {
                nostr::Event e;
                e.id = j[2].value("id", "");
                e.pubkey = j[2].value("pubkey", "");
                e.created_at = j[2].value("created_at", int64_t{0});
                e.kind = j[2].value("kind", 1);
                e.content = j[2].value("content", "");
                e.sig = j[2].value("sig", "");
                for (const auto& tag : j[2].value("tags", json::array())) {
                    std::vector<std::string> t;
                    for (const auto& v : tag) t.push_back(v.is_string() ? v.get<std::string>() : v.dump());
                    e.tags.push_back(std::move(t));
                }
                // Only a correctly signed event of ours counts: a relay could lie.
                if (e.pubkey == pubkey && nostr::Verify(e)) {
                    ++found.answered;
                    found.event = std::move(e);
                    return found;
                }
            }
        }
    }
    return found;
}

app::PublishOutcome NostrAdapter::Broadcast(const std::vector<std::string>& relays, const nostr::Event& e) {
    const std::string message = json::array({"EVENT", e.Json()}).dump();
    std::vector<std::string> accepted, refused, unreachable, silent;
    for (const auto& relay : relays) {
        auto ws = WebSocket::Connect(relay, connections_, kRelayTimeout);
        if (!ws) {
            unreachable.push_back(relay + " (" + ws.error().message + ")");
            continue;
        }
        if (auto sent = (*ws)->Send(message); !sent) {
            silent.push_back(relay);
            continue;
        }
        bool answered = false;
        const auto deadline = std::chrono::steady_clock::now() + kRelayTimeout;
        while (!answered && std::chrono::steady_clock::now() < deadline) {
            auto msg = (*ws)->Receive(
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
            if (!msg || !*msg) break;
            auto j = json::parse(**msg, nullptr, false);
            if (!j.is_array() || j.size() < 3 || j[0] != "OK" || j[1] != e.id) continue;
            answered = true;
            const std::string why = j.size() > 3 && j[3].is_string() ? j[3].get<std::string>() : "";
            if (j[2] == true || why.rfind("duplicate:", 0) == 0) {
                accepted.push_back(relay);
            } else {
                refused.push_back(relay + ": " + (why.empty() ? "refused" : why));
            }
        }
        if (!answered) silent.push_back(relay);
    }
    auto join = [](const std::vector<std::string>& v) {
        std::string out;
        for (const auto& s : v) out += (out.empty() ? "" : "; ") + s;
        return out;
    };
    if (!accepted.empty()) {
        if (!refused.empty() || !unreachable.empty() || !silent.empty()) {
            spdlog::warn("event=nostr_partial accepted={} refused=\"{}\" unreachable=\"{}\" silent=\"{}\"",
                         accepted.size(), join(refused), join(unreachable), join(silent));
        }
        return app::Published{e.id, NoteUrl(e.id), std::nullopt};
    }
    if (!silent.empty()) return app::Unknown{"no Nostr relay confirmed the post: " + join(silent)};
    if (!refused.empty() && unreachable.empty())
        return app::Rejected{"every Nostr relay refused the post: " + join(refused)};
    return app::Retryable{"no Nostr relay could be reached: " + join(unreachable) +
                          (refused.empty() ? "" : "; refused by " + join(refused))};
}

app::PublishOutcome NostrAdapter::Publish(const app::PublishRequest& req) {
    auto secret = SecretOf(req.credentials);
    if (!secret) return app::AuthExpired{"no Nostr secret key is stored for this account"};
    auto keys = nostr::ParseSecretKey(*secret);
    if (!keys) return app::AuthExpired{keys.error().message};
    const auto relays = RelaysOf(req.account_settings_json);
    if (relays.empty()) return app::Rejected{"the account lists no Nostr relays"};
    const int64_t now = core::ToUnixMillis(clock_.Now()) / 1000;

    auto make = [&](const std::string& text, int index, std::vector<std::vector<std::string>> tags) {
        nostr::Event e;
        e.created_at = now;
        e.content = text;
        e.tags = std::move(tags);
        for (const auto& t : Hashtags(text)) e.tags.push_back({"t", t});
        e.tags.push_back({"L", kLabelNamespace});
        e.tags.push_back({"l", Marker(req.delivery_id, index), kLabelNamespace});
        nostr::Sign(e, *keys);
        return e;
    };
    // Sends item `index`, unless an earlier attempt already did.
    auto send = [&](const nostr::Event& e, int index) -> std::variant<std::string, app::PublishOutcome> {
        if (req.attempt > 1) {
            // An earlier attempt may have reached a relay: sign again only when every relay
            // says it does not have the note (a new note has a new id; relays cannot tell).
            auto found = Query(relays, keys->pubkey, Marker(req.delivery_id, index));
            if (found.event) return found.event->id;
            if (found.answered < static_cast<int>(relays.size())) {
                return app::Retryable{"not every Nostr relay could be asked whether an earlier attempt arrived (" +
                                      std::to_string(found.answered) + " of " + std::to_string(relays.size()) +
                                      " answered); Herald does not risk a second note"};
            }
        }
        auto outcome = Broadcast(relays, e);
        if (auto* ok = std::get_if<app::Published>(&outcome)) return ok->remote_id;
        return outcome;
    };

    std::string text = req.text;
    std::vector<std::vector<std::string>> tags;
    for (const auto& m : req.media) {
        if (!m.public_url) return app::Rejected{"Nostr links media, and this server makes no public media links"};
        text += "\n" + *m.public_url;
        std::vector<std::string> imeta = {"imeta", "url " + *m.public_url,
                                          "m " + std::string(domain::MimeType(m.format))};
        if (m.width > 0 && m.height > 0)
            imeta.push_back("dim " + std::to_string(m.width) + "x" + std::to_string(m.height));
        if (!m.alt_text.empty()) imeta.push_back("alt " + m.alt_text);
        tags.push_back(std::move(imeta));
    }
    auto head = send(make(text, 0, tags), 0);
    if (auto* outcome = std::get_if<app::PublishOutcome>(&head)) return *outcome;
    const std::string root = std::get<std::string>(head);
    std::string parent = root;
    for (size_t i = 0; i < req.thread.size(); ++i) {
        const int index = static_cast<int>(i) + 1;
        std::vector<std::vector<std::string>> reply = {{"e", root, "", "root"}};
        if (parent != root) reply.push_back({"e", parent, "", "reply"});
        reply.push_back({"p", keys->pubkey});
        auto item = send(make(req.thread[i], index, reply), index);
        if (auto* outcome = std::get_if<app::PublishOutcome>(&item)) {
            if (auto* rejected = std::get_if<app::Rejected>(outcome)) {
                return app::Rejected{"the post is published (" + NoteUrl(root) + "), but reply " +
                                     std::to_string(index) + " of its thread was refused: " + rejected->reason};
            }
            return *outcome;
        }
        parent = std::get<std::string>(item);
    }
    return app::Published{root, NoteUrl(root), std::nullopt};
}

core::Result<std::optional<app::Published>> NostrAdapter::Lookup(const app::PublishRequest& req) {
    auto secret = SecretOf(req.credentials);
    auto keys = secret ? nostr::ParseSecretKey(*secret) : core::Result<nostr::Keys>(tl::unexpected(core::Error{}));
    if (!keys) return core::Fail(core::ErrorCode::kUnavailable, "no usable Nostr key to look the post up with");
    const auto relays = RelaysOf(req.account_settings_json);
    // There only with its whole thread (items go out in order: the last says all are), and
    // "not there" only when every relay says so; otherwise the check itself failed.
    auto last = Query(relays, keys->pubkey, Marker(req.delivery_id, static_cast<int>(req.thread.size())));
    if (last.event) {
        auto head = req.thread.empty() ? last : Query(relays, keys->pubkey, Marker(req.delivery_id, 0));
        if (head.event) return app::Published{head.event->id, NoteUrl(head.event->id), std::nullopt};
    }
    if (!last.event && last.answered == static_cast<int>(relays.size())) return std::optional<app::Published>();
    return core::Fail(core::ErrorCode::kUnavailable, "not every Nostr relay answered whether the post is there (" +
                                                         std::to_string(last.answered) + " of " +
                                                         std::to_string(relays.size()) + ")");
}

}  // namespace herald::platforms
