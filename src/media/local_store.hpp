#pragma once

#include <mutex>

#include "app/ports.hpp"

namespace herald::media {

/// Media on the local disk under one root (`./data/media` by default): `<key>` is a relative
/// path such as `<workspace>/2026/11/<sha256>.jpg`, so the same bytes in one workspace land on
/// one file. Files arrive in `<root>/.spool` (same file system) and are renamed into place, so a
/// reader never sees half a file. Single-node only: several nodes need a shared store
/// (S3MediaStore; see the README's "Media on several nodes").
class LocalMediaStore final : public app::MediaStore {
  public:
    explicit LocalMediaStore(std::filesystem::path root);
    /// Creates the folders; an error names the path and the reason.
    core::Status Open();
    /// Deletes spool files older than `age` (left by a crash mid-upload). Returns how many.
    int SweepSpool(std::chrono::seconds age);

    core::Status Put(const std::filesystem::path& file, const std::string& key) override;
    core::Status Remove(const std::string& key) override;
    core::Result<bool> Exists(const std::string& key) const override;
    core::Result<std::filesystem::path> ReadablePath(const std::string& key) override;
    std::filesystem::path SpoolDir() const override { return root_ / ".spool"; }

  private:
    std::filesystem::path root_;
};

/// Deletes the regular files in `dir` older than `age`; returns how many.
int SweepFolder(const std::filesystem::path& dir, std::chrono::seconds age);

/// Whether `key` is a safe relative key: segments of [A-Za-z0-9._-], none starting with a dot.
bool ValidMediaKey(const std::string& key);

}  // namespace herald::media
