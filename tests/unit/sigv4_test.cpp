// SigV4 against the worked examples in Amazon S3's documentation ("Signature Calculations for
// the Authorization Header: Transferring Payload in a Single Chunk"): the example credentials,
// requests and the signatures the documentation prints for them. s3rver, the S3-compatible
// server the media-store tests run against, does not check V4 signatures, so these are what
// keep the signer honest.
#include "media/sigv4.hpp"

#include <gtest/gtest.h>

namespace herald::media {
namespace {

const SigV4Key kKey{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};
constexpr const char* kDate = "20130524T000000Z";
const std::string kEmptySha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string SignatureOf(const std::string& authorization) {
    return authorization.substr(authorization.rfind("Signature=") + 10);
}

TEST(SigV4Test, GetObjectWithRange) {
    SigV4Request r{"GET",
                   "/test.txt",
                   {},
                   {{"Host", "examplebucket.s3.amazonaws.com"},
                    {"Range", "bytes=0-9"},
                    {"x-amz-content-sha256", kEmptySha},
                    {"x-amz-date", kDate}},
                   kEmptySha};
    EXPECT_EQ(SigV4Authorization(r, kKey, kDate),
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
              "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
              "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Test, PutObjectEncodesTheKeyAndSignsThePayload) {
    const std::string body = "Welcome to Amazon S3.";
    EXPECT_EQ(HexSha256(body), "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    SigV4Request r{"PUT",
                   "/test$file.text",
                   {},
                   {{"Host", "examplebucket.s3.amazonaws.com"},
                    {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                    {"x-amz-content-sha256", HexSha256(body)},
                    {"x-amz-date", kDate},
                    {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
                   HexSha256(body)};
    EXPECT_EQ(SignatureOf(SigV4Authorization(r, kKey, kDate)),
              "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4Test, SubresourceWithoutValue) {
    SigV4Request r{
        "GET",
        "/",
        {{"lifecycle", ""}},
        {{"Host", "examplebucket.s3.amazonaws.com"}, {"x-amz-content-sha256", kEmptySha}, {"x-amz-date", kDate}},
        kEmptySha};
    EXPECT_EQ(SignatureOf(SigV4Authorization(r, kKey, kDate)),
              "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4Test, QueryParametersAreSortedByName) {
    SigV4Request r{
        "GET",
        "/",
        {{"prefix", "J"}, {"max-keys", "2"}},
        {{"Host", "examplebucket.s3.amazonaws.com"}, {"x-amz-content-sha256", kEmptySha}, {"x-amz-date", kDate}},
        kEmptySha};
    EXPECT_EQ(SignatureOf(SigV4Authorization(r, kKey, kDate)),
              "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4Test, AnyChangeChangesTheSignature) {
    SigV4Request r{
        "GET", "/test.txt", {}, {{"Host", "examplebucket.s3.amazonaws.com"}, {"x-amz-date", kDate}}, kEmptySha};
    const auto base = SigV4Authorization(r, kKey, kDate);
    auto other_key = kKey;
    other_key.secret_access_key.back() = 'X';
    EXPECT_NE(SigV4Authorization(r, other_key, kDate), base);
    r.path = "/test.txT";
    EXPECT_NE(SigV4Authorization(r, kKey, kDate), base);
}

TEST(SigV4Test, UriEncoding) {
    EXPECT_EQ(UriEncode("a b/c~d_e-f.g$h", true), "a%20b/c~d_e-f.g%24h");
    EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
    EXPECT_EQ(UriEncode("\xC3\xA9", false), "%C3%A9");
}

TEST(SigV4Test, AmzDateIsUtc) {
    EXPECT_EQ(AmzDate(std::chrono::system_clock::from_time_t(1369353600)), "20130524T000000Z");
}

}  // namespace
}  // namespace herald::media
