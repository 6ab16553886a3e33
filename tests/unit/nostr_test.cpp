// Nostr's building blocks against published values: NIP-19's bech32 examples, BIP-340's key
// for the secret 3, NIP-01's serialization; and signatures that verify only untouched.
#include "platforms/nostr.hpp"

#include <gtest/gtest.h>

namespace herald::platforms::nostr {
namespace {

std::string Hex(const std::vector<unsigned char>& b) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : b) {
        out += kDigits[c >> 4];
        out += kDigits[c & 15];
    }
    return out;
}

TEST(Nostr, Nip19Examples) {
    auto sec = Bech32Decode("nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5", "nsec");
    ASSERT_TRUE(sec.has_value());
    EXPECT_EQ(Hex(*sec), "67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa");
    auto pub = Bech32Decode("npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg", "npub");
    ASSERT_TRUE(pub.has_value());
    EXPECT_EQ(Hex(*pub), "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e");
    EXPECT_EQ(Bech32Encode("npub", *pub), "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg");
    // One character changed, or the wrong kind of key: refused.
    EXPECT_FALSE(Bech32Decode("npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjpth", "npub"));
    EXPECT_FALSE(Bech32Decode("npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg", "nsec"));
}

TEST(Nostr, KeysFromHexOrNsec) {
    auto three = ParseSecretKey("0000000000000000000000000000000000000000000000000000000000000003");
    ASSERT_TRUE(three.has_value());
    EXPECT_EQ(three->pubkey, "f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9");  // BIP-340
    auto a = ParseSecretKey("nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5");
    auto b = ParseSecretKey("67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa");
    ASSERT_TRUE(a.has_value() && b.has_value());
    EXPECT_EQ(a->pubkey, b->pubkey);
    for (const std::string& bad :
         std::vector<std::string>{"", "abc", "zz" + std::string(62, '0'), std::string(64, '0'),
                                  "nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe6"}) {
        auto r = ParseSecretKey(bad);
        ASSERT_FALSE(r.has_value()) << bad;
        EXPECT_EQ(r.error().details.at("field"), "credentials.secret_key");
    }
}

TEST(Nostr, SerializationIsNip01Exactly) {
    Event e;
    e.pubkey = "ab";
    e.created_at = 1700000000;
    e.kind = 1;
    e.tags = {{"t", "herald"}, {"e", "x", "", "root"}};
    e.content = "line\nquote\" back\\ tab\t cr\r bs\b ff\f ctl\x01 caf\xC3\xA9 /slash";
    EXPECT_EQ(Serialize(e),
              "[0,\"ab\",1700000000,1,[[\"t\",\"herald\"],[\"e\",\"x\",\"\",\"root\"]],"
              "\"line\\nquote\\\" back\\\\ tab\\t cr\\r bs\\b ff\\f ctl\x01 caf\xC3\xA9 /slash\"]");
}

TEST(Nostr, SignaturesVerifyOnlyUntouched) {
    auto keys = ParseSecretKey("67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa");
    ASSERT_TRUE(keys.has_value());
    Event e;
    e.created_at = 1700000000;
    e.content = "hello from Herald";
    Sign(e, *keys);
    EXPECT_EQ(e.pubkey, keys->pubkey);
    EXPECT_EQ(e.id.size(), 64u);
    EXPECT_EQ(e.sig.size(), 128u);
    EXPECT_TRUE(Verify(e));
    Event changed = e;
    changed.content += "!";
    EXPECT_FALSE(Verify(changed));
    Event resigned = changed;
    Sign(resigned, *keys);
    EXPECT_TRUE(Verify(resigned));
    resigned.sig[0] = resigned.sig[0] == 'a' ? 'b' : 'a';
    EXPECT_FALSE(Verify(resigned));
}

}  // namespace
}  // namespace herald::platforms::nostr
