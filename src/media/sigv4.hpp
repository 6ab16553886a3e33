#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald::media {

/// AWS Signature Version 4 for S3-compatible stores (AWS, MinIO, Ceph, Garage, R2, …), the
/// header form: the `Authorization` value for one request.
struct SigV4Request {
    std::string method;                                        ///< GET, PUT, HEAD, DELETE
    std::string path;                                          ///< absolute path, not yet encoded: /bucket/key
    std::vector<std::pair<std::string, std::string>> query;    ///< name, value, not yet encoded
    std::vector<std::pair<std::string, std::string>> headers;  ///< every header to sign; host among them
    std::string payload_sha256;                                ///< hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

struct SigV4Key {
    std::string access_key_id;
    std::string secret_access_key;
    std::string region;   ///< us-east-1 when the store has no regions
    std::string service;  ///< s3
};

/// `amz_date` is the request's x-amz-date value (20130524T000000Z), which must also be among
/// the headers.
std::string SigV4Authorization(const SigV4Request& request, const SigV4Key& key, std::string_view amz_date);

/// RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - . _ ~ (and '/' when
/// `keep_slash`) becomes %XX with upper-case hex.
std::string UriEncode(std::string_view text, bool keep_slash);

/// Lower-case hex SHA-256 of `data`.
std::string HexSha256(std::string_view data);

/// YYYYMMDD'T'HHMMSS'Z' in UTC.
std::string AmzDate(std::chrono::system_clock::time_point t);

}  // namespace herald::media
