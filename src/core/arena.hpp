#pragma once

// Storage for many short strings read in bulk (a plan's ids): one allocation per 64 KiB
// instead of one per string. What is added never moves, so views into it stay valid as the
// arena grows and when its owner is moved.

#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace herald::core {

class StringArena {
  public:
    StringArena() = default;
    StringArena(StringArena&&) noexcept = default;
    StringArena& operator=(StringArena&&) noexcept = default;
    StringArena(const StringArena&) = delete;  // views into a copy would point into the original
    StringArena& operator=(const StringArena&) = delete;

    /// A copy of `s`, valid as long as the arena (or what it is moved into) lives.
    std::string_view Add(std::string_view s) {
        if (s.empty()) return {};
        if (s.size() > kChunk) {  // too long to share a chunk: its own allocation
            big_.push_back(std::make_unique_for_overwrite<char[]>(s.size()));
            std::memcpy(big_.back().get(), s.data(), s.size());
            return std::string_view(big_.back().get(), s.size());
        }
        if (chunks_.empty() || used_ + s.size() > kChunk) {
            chunks_.push_back(std::make_unique_for_overwrite<char[]>(kChunk));
            used_ = 0;
        }
        char* at = chunks_.back().get() + used_;
        std::memcpy(at, s.data(), s.size());
        used_ += s.size();
        return std::string_view(at, s.size());
    }

  private:
    static constexpr size_t kChunk = 64 * 1024;
    std::vector<std::unique_ptr<char[]>> chunks_;
    size_t used_ = 0;                           ///< bytes used in chunks_.back()
    std::vector<std::unique_ptr<char[]>> big_;  ///< strings longer than a chunk, one each
};

}  // namespace herald::core
