#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/ports.hpp"
#include "platforms/http.hpp"

namespace herald::platforms {

/// Nostr's building blocks (NIP-01, NIP-19): keys, events, their id and BIP-340 signature
/// (libsecp256k1), and bech32 (nsec…, npub…, note…).
namespace nostr {

struct Keys {
    std::array<unsigned char, 32> secret{};
    std::string pubkey;  ///< x-only public key, 64 lower-case hex digits
};

/// A secret key as 64 hex digits or as nsec1…; an error naming the credentials otherwise.
core::Result<Keys> ParseSecretKey(const std::string& text);

struct Event {
    std::string id;      ///< hex SHA-256 of Serialize()
    std::string pubkey;  ///< hex
    int64_t created_at = 0;
    int kind = 1;
    std::vector<std::vector<std::string>> tags;
    std::string content;
    std::string sig;  ///< hex, 64 bytes

    nlohmann::json Json() const;
};

/// The exact bytes the id hashes: [0,pubkey,created_at,kind,tags,content] as NIP-01 writes
/// them (no spaces; only \n \" \\ \r \t \b \f escaped in strings).
std::string Serialize(const Event& e);
/// Sets pubkey, id and sig.
void Sign(Event& e, const Keys& keys);
/// Whether id and sig are right for the event's content and pubkey.
bool Verify(const Event& e);

std::string Bech32Encode(const std::string& hrp, const std::vector<unsigned char>& data);
/// The data of a bech32 string with this human-readable part; nullopt when not valid.
std::optional<std::vector<unsigned char>> Bech32Decode(const std::string& text, const std::string& hrp);

}  // namespace nostr

/// Nostr: signed kind-1 notes sent to the account's relays over WebSocket.
///
/// Settings: {"relays": ["wss://relay.damus.io", …]} (1 to 10); Herald adds "pubkey" and
/// "npub" when the account is connected. Credentials: {"secret_key": "nsec1…" or hex}.
///
/// A post counts as published once at least one relay answers OK. Media go as their signed
/// public links in the text, with NIP-92 imeta tags (alt text, type, size). Threads are
/// replies with NIP-10 root and reply markers. Every event carries a NIP-32 self-label naming
/// its delivery, so a later attempt asks the relays for it (lookup) before signing again.
class NostrAdapter final : public app::PlatformAdapter {
  public:
    NostrAdapter(const core::Clock& clock, HttpOptions connections);
    std::string_view Name() const override { return "nostr"; }
    app::AuthMethod Auth() const override { return app::AuthMethod::kPrivateKey; }
    domain::PlatformLimits Limits() const override;
    core::Status ValidateSettings(const std::string& settings_json) const override;
    core::Result<std::string> VerifyConnection(const std::string& settings_json,
                                               const std::string& credentials_json) override;
    app::PublishCapabilities Capabilities(const std::string&) const override { return {false, true}; }
    app::PublishOutcome Publish(const app::PublishRequest& request) override;
    core::Result<std::optional<app::Published>> Lookup(const app::PublishRequest& request) override;

    /// The label value that marks item `index` (0: the post, 1…: replies) of a delivery.
    static std::string Marker(const std::string& delivery_id, int index);

  private:
    struct Found {
        std::optional<nostr::Event> event;
        int answered = 0;  ///< relays that answered the query
    };
    /// Asks every relay for the event with this marker.
    Found Query(const std::vector<std::string>& relays, const std::string& pubkey, const std::string& marker);
    /// Sends one event to every relay; Published (with the event id) when one accepted it.
    app::PublishOutcome Broadcast(const std::vector<std::string>& relays, const nostr::Event& e);

    const core::Clock& clock_;
    HttpOptions connections_;
};

}  // namespace herald::platforms
