#pragma once

// A streaming multipart/form-data reader (RFC 7578): the body arrives in chunks of any size,
// file parts go straight to files in a spool folder and never sit whole in memory, and every
// limit is checked as the bytes arrive, so an oversized or malformed upload stops early.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace herald::net {

/// One part of a form. A file part (one with a filename) lives in `path`; a plain field's value
/// is in `value`.
struct UploadPart {
    std::string name;                     ///< the form field's name
    std::optional<std::string> filename;  ///< as the client sent it: shown, never used as a path
    std::string content_type;             ///< as the client said; never trusted
    std::string value;                    ///< a plain field's value
    std::filesystem::path path;           ///< a file part's bytes, in the spool folder
    uint64_t size = 0;
};

struct MultipartLimits {
    uint64_t max_file_bytes = 100ull * 1024 * 1024;
    int max_files = 10;
    int max_fields = 32;
    size_t max_field_bytes = 64 * 1024;
    size_t max_part_header_bytes = 8 * 1024;
};

/// The boundary parameter of a multipart/form-data Content-Type; nothing when the type is
/// something else or the boundary is missing or not allowed by RFC 2046 (1 to 70 characters).
std::optional<std::string> MultipartBoundary(std::string_view content_type);

class MultipartParser {
  public:
    MultipartParser(std::string boundary, std::filesystem::path spool_dir, MultipartLimits limits);
    /// Deletes every file it wrote that was not taken with TakeParts().
    ~MultipartParser();
    MultipartParser(const MultipartParser&) = delete;
    MultipartParser& operator=(const MultipartParser&) = delete;

    /// Reads the next chunk. kInvalidArgument for a malformed body, kPayloadTooLarge when a
    /// limit is passed, kUnavailable when the spool folder cannot be written. After an error the
    /// parser takes nothing more and its files are gone.
    core::Status Feed(std::string_view chunk);
    /// The body has ended: an error unless the closing boundary was seen.
    core::Status Finish();
    /// Whether the closing boundary has been read (what follows it is ignored).
    bool Done() const { return state_ == State::kEpilogue; }
    /// The parts read, in order. The caller owns their files from here on.
    std::vector<UploadPart> TakeParts();

  private:
    enum class State { kPreamble, kAfterBoundary, kHeaders, kBody, kEpilogue, kFailed };

    core::Status Fail(core::Error e);
    core::Status StartPart(std::string_view headers);
    core::Status Append(std::string_view data);
    core::Status EndPart();
    void RemoveFiles();

    std::string delimiter_;  // "\r\n--" + boundary
    std::filesystem::path spool_;
    MultipartLimits limits_;
    State state_ = State::kPreamble;
    std::string buf_;
    std::vector<UploadPart> parts_;
    int fd_ = -1;  // the open file of the current file part
    int files_ = 0;
    int fields_ = 0;
};

}  // namespace herald::net
