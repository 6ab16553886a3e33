#include "media/local_store.hpp"

#include <spdlog/spdlog.h>

namespace herald::media {

namespace fs = std::filesystem;
using core::ErrorCode;

bool ValidMediaKey(const std::string& key) {
    if (key.empty() || key.size() > 512) return false;
    bool segment_start = true;
    for (char c : key) {
        if (c == '/') {
            if (segment_start) return false;  // empty segment, or a leading slash
            segment_start = true;
            continue;
        }
        if (segment_start && c == '.') return false;  // ".", "..", hidden files
        segment_start = false;
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
    }
    return !segment_start;
}

LocalMediaStore::LocalMediaStore(fs::path root) : root_(std::move(root)) {}

core::Status LocalMediaStore::Open() {
    std::error_code ec;
    fs::create_directories(SpoolDir(), ec);
    if (ec) {
        return core::Fail(ErrorCode::kUnavailable,
                          "cannot create the media folder " + SpoolDir().string() + ": " + ec.message());
    }
    return {};
}

int SweepFolder(const fs::path& dir, std::chrono::seconds age) {
    int removed = 0;
    std::error_code ec;
    const auto cutoff = fs::file_time_type::clock::now() - age;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        std::error_code e2;
        if (entry.is_regular_file(e2) && entry.last_write_time(e2) < cutoff && fs::remove(entry.path(), e2)) ++removed;
    }
    if (removed > 0) spdlog::info("event=media_spool_swept files={}", removed);
    return removed;
}

int LocalMediaStore::SweepSpool(std::chrono::seconds age) { return SweepFolder(SpoolDir(), age); }

core::Status LocalMediaStore::Put(const fs::path& file, const std::string& key) {
    if (!ValidMediaKey(key)) return core::Fail(ErrorCode::kInternal, "invalid media key: " + key);
    const fs::path target = root_ / key;
    std::error_code ec;
    if (fs::exists(target, ec)) {
        fs::remove(file, ec);  // the same bytes are already there
        return {};
    }
    fs::create_directories(target.parent_path(), ec);
    if (ec) return core::Fail(ErrorCode::kUnavailable, "cannot store media: " + ec.message());
    fs::rename(file, target, ec);
    if (ec) return core::Fail(ErrorCode::kUnavailable, "cannot store media: " + ec.message());
    return {};
}

core::Status LocalMediaStore::Remove(const std::string& key) {
    if (!ValidMediaKey(key)) return core::Fail(ErrorCode::kInternal, "invalid media key: " + key);
    std::error_code ec;
    fs::remove(root_ / key, ec);
    if (ec) return core::Fail(ErrorCode::kUnavailable, "cannot delete media: " + ec.message());
    return {};
}

core::Result<bool> LocalMediaStore::Exists(const std::string& key) const {
    if (!ValidMediaKey(key)) return core::Fail(ErrorCode::kInternal, "invalid media key: " + key);
    std::error_code ec;
    const bool found = fs::exists(root_ / key, ec);
    if (ec) return core::Fail(ErrorCode::kUnavailable, "cannot read the media folder: " + ec.message());
    return found;
}

core::Result<fs::path> LocalMediaStore::ReadablePath(const std::string& key) {
    auto found = Exists(key);
    if (!found) return tl::unexpected(found.error());
    if (!*found) return core::Fail(ErrorCode::kNotFound, "the media file is missing from the store");
    return root_ / key;
}

}  // namespace herald::media
