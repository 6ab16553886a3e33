#include "media/sigv4.hpp"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace herald::media {
namespace {

std::string Hex(const unsigned char* bytes, size_t n) {
    std::string out(n * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), bytes, n);
    out.pop_back();
    return out;
}

using Mac = std::basic_string<unsigned char>;

Mac Hmac(const Mac& key, std::string_view message) {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key.data(), key.size());
    crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(message.data()), message.size());
    Mac out(crypto_auth_hmacsha256_BYTES, 0);
    crypto_auth_hmacsha256_final(&st, out.data());
    return out;
}

std::string Lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// Header values are signed trimmed, with inner runs of spaces folded into one.
std::string Trimmed(std::string_view v) {
    std::string out;
    bool space = false;
    for (char c : v) {
        if (c == ' ' || c == '\t') {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

}  // namespace

std::string UriEncode(std::string_view text, bool keep_slash) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += kDigits[c >> 4];
            out += kDigits[c & 0xf];
        }
    }
    return out;
}

std::string HexSha256(std::string_view data) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    return Hex(digest, sizeof digest);
}

std::string AmzDate(std::chrono::system_clock::time_point t) {
    const std::time_t s = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&s, &tm);
    char out[17];
    std::strftime(out, sizeof out, "%Y%m%dT%H%M%SZ", &tm);
    return out;
}

std::string SigV4Authorization(const SigV4Request& r, const SigV4Key& key, std::string_view amz_date) {
    std::vector<std::pair<std::string, std::string>> query;
    for (const auto& [name, value] : r.query) query.emplace_back(UriEncode(name, false), UriEncode(value, false));
    std::sort(query.begin(), query.end());
    std::string canonical_query;
    for (const auto& [name, value] : query) {
        if (!canonical_query.empty()) canonical_query += '&';
        canonical_query += name + "=" + value;
    }
    std::vector<std::pair<std::string, std::string>> headers;
    for (const auto& [name, value] : r.headers) headers.emplace_back(Lower(name), Trimmed(value));
    std::sort(headers.begin(), headers.end());
    std::string canonical_headers;
    std::string signed_headers;
    for (const auto& [name, value] : headers) {
        canonical_headers += name + ":" + value + "\n";
        if (!signed_headers.empty()) signed_headers += ';';
        signed_headers += name;
    }
    const std::string canonical_request = r.method + "\n" + UriEncode(r.path, true) + "\n" + canonical_query + "\n" +
                                          canonical_headers + "\n" + signed_headers + "\n" + r.payload_sha256;
    const std::string day(amz_date.substr(0, 8));
    const std::string scope = day + "/" + key.region + "/" + key.service + "/aws4_request";
    const std::string to_sign =
        "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + scope + "\n" + HexSha256(canonical_request);
    const std::string secret = "AWS4" + key.secret_access_key;
    Mac k(secret.begin(), secret.end());
    for (const std::string& part : {day, key.region, key.service, std::string("aws4_request")}) k = Hmac(k, part);
    const Mac signature = Hmac(k, to_sign);
    return "AWS4-HMAC-SHA256 Credential=" + key.access_key_id + "/" + scope + ",SignedHeaders=" + signed_headers +
           ",Signature=" + Hex(signature.data(), signature.size());
}

}  // namespace herald::media
