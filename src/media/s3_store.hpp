#pragma once

#include <atomic>
#include <chrono>
#include <mutex>

#include "app/ports.hpp"

namespace herald::media {

/// Where an S3-compatible bucket is and how to sign for it (config keys media_s3_*).
struct S3Options {
    std::string endpoint;  ///< http(s)://host[:port], e.g. https://s3.eu-central-1.amazonaws.com
    std::string bucket;
    std::string region = "us-east-1";
    std::string access_key_id;
    std::string secret_access_key;  ///< never logged, never in an error
    std::string prefix;             ///< prepended to every key, e.g. "herald/"
    /// true: endpoint/bucket/key (MinIO, Ceph, Garage, s3rver); false: bucket.host/key (AWS).
    bool path_style = true;
    std::filesystem::path local_dir;        ///< this node's spool and read cache
    uint64_t cache_max_bytes = 2ull << 30;  ///< the read cache is trimmed to this
    /// A cached file read this recently may still be in use (served to a client, uploaded to a
    /// platform, which may take ten minutes): trimming leaves it.
    std::chrono::seconds cache_min_age{1800};
    std::chrono::seconds timeout{600};  ///< one whole request at most
};

/// Media in an S3-compatible bucket, for installs with several nodes: every node reads and
/// writes the same bucket, so a file uploaded through one node is published by another.
/// Uploads arrive in a local spool folder, go up with one signed PUT (SigV4, payload hash
/// signed), and stay in this node's read cache; reads (thumbnails, public links, conversions)
/// fetch an object into the cache on first use. Keys hold the content's hash, so a cached copy
/// is never stale. Single PUT: objects up to 5 GB, far above the media limits.
class S3MediaStore final : public app::MediaStore {
  public:
    explicit S3MediaStore(S3Options options);
    /// Creates the local folders and checks that the bucket answers with these credentials;
    /// the error says which of address, bucket or credentials is wrong.
    core::Status Open();
    int SweepSpool(std::chrono::seconds age);

    core::Status Put(const std::filesystem::path& file, const std::string& key) override;
    core::Status Remove(const std::string& key) override;
    core::Result<bool> Exists(const std::string& key) const override;
    core::Result<std::filesystem::path> ReadablePath(const std::string& key) override;
    std::filesystem::path SpoolDir() const override { return options_.local_dir / ".spool"; }

    /// The read cache's folder and its current size in bytes (for tests and metrics).
    std::filesystem::path CacheDir() const { return options_.local_dir / ".cache"; }
    uint64_t CacheBytes() const { return cache_bytes_.load(); }

  private:
    struct Reply;
    core::Result<Reply> Send(const std::string& method, const std::string& key, const std::filesystem::path* upload,
                             const std::filesystem::path* download) const;
    core::Error StoreError(const std::string& what, const Reply& reply) const;
    void AddToCache(uint64_t bytes);

    S3Options options_;
    std::string scheme_;
    std::string host_;       ///< as sent in Host: and signed
    std::string base_path_;  ///< "/bucket" with path-style addressing, else ""
    std::atomic<uint64_t> cache_bytes_{0};
    std::mutex trim_mu_;
};

}  // namespace herald::media
