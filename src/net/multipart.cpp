#include "net/multipart.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "net/http.hpp"

namespace herald::net {
namespace {

using core::ErrorCode;

std::string Lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view Trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// The parameters of a header value such as `form-data; name="a"; filename="b.jpg"`, names
// lower-cased. Quoted values may escape a character with a backslash.
std::vector<std::pair<std::string, std::string>> Parameters(std::string_view value) {
    std::vector<std::pair<std::string, std::string>> out;
    size_t i = value.find(';');
    while (i != std::string_view::npos && i < value.size()) {
        ++i;
        while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
        const size_t eq = value.find('=', i);
        if (eq == std::string_view::npos) break;
        std::string name = Lower(Trim(value.substr(i, eq - i)));
        i = eq + 1;
        std::string v;
        if (i < value.size() && value[i] == '"') {
            ++i;
            while (i < value.size() && value[i] != '"') {
                // Only \" and \\ are escapes: a Windows path ("C:\Users\me\a.jpg") keeps
                // its backslashes, as browsers send it.
                if (value[i] == '\\' && i + 1 < value.size() && (value[i + 1] == '"' || value[i + 1] == '\\')) ++i;
                v.push_back(value[i++]);
            }
            i = value.find(';', i);
        } else {
            const size_t end = value.find(';', i);
            v = std::string(Trim(value.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i)));
            i = end;
        }
        out.emplace_back(std::move(name), std::move(v));
    }
    return out;
}

std::string RandomName() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    char buf[40];
    std::snprintf(buf, sizeof buf, "upload-%016llx.part", static_cast<unsigned long long>(rng()));
    return buf;
}

}  // namespace

std::optional<std::string> MultipartBoundary(std::string_view content_type) {
    const auto semi = content_type.find(';');
    if (Lower(Trim(content_type.substr(0, semi))) != "multipart/form-data") return std::nullopt;
    for (auto& [name, value] : Parameters(content_type)) {
        if (name != "boundary") continue;
        if (value.empty() || value.size() > 70) return std::nullopt;
        return value;
    }
    return std::nullopt;
}

MultipartParser::MultipartParser(std::string boundary, std::filesystem::path spool_dir, MultipartLimits limits)
    : delimiter_("\r\n--" + boundary), spool_(std::move(spool_dir)), limits_(limits) {
    // The first boundary may open the body without a line break before it.
    buf_ = "\r\n";
}

MultipartParser::~MultipartParser() { RemoveFiles(); }

void MultipartParser::RemoveFiles() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    for (const auto& p : parts_) {
        if (p.path.empty()) continue;
        std::error_code ec;
        std::filesystem::remove(p.path, ec);
    }
    parts_.clear();
}

core::Status MultipartParser::Fail(core::Error e) {
    state_ = State::kFailed;
    RemoveFiles();
    buf_.clear();
    return tl::unexpected(std::move(e));
}

core::Status MultipartParser::StartPart(std::string_view headers) {
    UploadPart part;
    bool disposition = false;
    size_t pos = 0;
    while (pos < headers.size()) {
        size_t end = headers.find("\r\n", pos);
        if (end == std::string_view::npos) end = headers.size();
        const std::string_view line = headers.substr(pos, end - pos);
        pos = end + 2;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) {
            return Fail({ErrorCode::kInvalidArgument, "a part of the form has a malformed header line", {}});
        }
        const std::string name = Lower(Trim(line.substr(0, colon)));
        const std::string_view value = Trim(line.substr(colon + 1));
        if (name == "content-disposition") {
            if (Lower(Trim(value.substr(0, value.find(';')))) != "form-data") {
                return Fail({ErrorCode::kInvalidArgument, "every part of the form must be form-data", {}});
            }
            disposition = true;
            for (auto& [k, v] : Parameters(value)) {
                if (k == "name") {
                    part.name = std::move(v);
                } else if (k == "filename" && !part.filename) {
                    part.filename = std::move(v);
                } else if (k == "filename*") {
                    // RFC 5987: charset'language'percent-encoded
                    const auto q = v.find('\'', v.find('\'') + 1);
                    if (q != std::string::npos) {
                        if (auto decoded = PercentDecode(std::string_view(v).substr(q + 1))) part.filename = *decoded;
                    }
                }
            }
        } else if (name == "content-type") {
            part.content_type = std::string(value);
        }
    }
    if (!disposition || part.name.empty()) {
        return Fail({ErrorCode::kInvalidArgument, "a part of the form has no Content-Disposition name", {}});
    }
    if (part.filename) {
        if (++files_ > limits_.max_files) {
            return Fail({ErrorCode::kPayloadTooLarge,
                         "at most " + std::to_string(limits_.max_files) + " files per request",
                         {{"rule", "max_files"}}});
        }
        part.path = spool_ / RandomName();
        fd_ = ::open(part.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd_ < 0) {
            const std::string why = std::strerror(errno);
            part.path.clear();
            return Fail({ErrorCode::kUnavailable, "the server cannot store uploads right now (" + why + ")", {}});
        }
    } else if (++fields_ > limits_.max_fields) {
        return Fail({ErrorCode::kPayloadTooLarge, "too many form fields", {{"rule", "max_fields"}}});
    }
    parts_.push_back(std::move(part));
    return {};
}

core::Status MultipartParser::Append(std::string_view data) {
    if (data.empty()) return {};
    auto& part = parts_.back();
    part.size += data.size();
    if (!part.filename) {
        if (part.size > limits_.max_field_bytes) {
            return Fail({ErrorCode::kPayloadTooLarge,
                         "the form field '" + part.name + "' is too long",
                         {{"field", part.name}, {"rule", "max_length"}}});
        }
        part.value.append(data);
        return {};
    }
    if (part.size > limits_.max_file_bytes) {
        return Fail({ErrorCode::kPayloadTooLarge,
                     "a file is larger than the limit of " + std::to_string(limits_.max_file_bytes) + " bytes",
                     {{"rule", "max_bytes"}}});
    }
    while (!data.empty()) {
        const ssize_t n = ::write(fd_, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const std::string why = std::strerror(errno);
            return Fail({ErrorCode::kUnavailable, "the server cannot store uploads right now (" + why + ")", {}});
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

core::Status MultipartParser::EndPart() {
    if (fd_ >= 0) {
        const int rc = ::close(fd_);
        fd_ = -1;
        if (rc != 0) {
            return Fail({ErrorCode::kUnavailable, "the server cannot store uploads right now", {}});
        }
    }
    return {};
}

core::Status MultipartParser::Feed(std::string_view chunk) {
    if (state_ == State::kFailed) return Fail({ErrorCode::kInvalidArgument, "the form was already refused", {}});
    if (state_ == State::kEpilogue) return {};
    buf_.append(chunk);
    size_t at = 0;  // consumed bytes of buf_
    for (;;) {
        const std::string_view rest = std::string_view(buf_).substr(at);
        if (state_ == State::kPreamble || state_ == State::kBody) {
            const auto hit = rest.find(delimiter_);
            if (hit == std::string_view::npos) {
                // Keep a tail that might be the start of the delimiter.
                const size_t keep = std::min(rest.size(), delimiter_.size() - 1);
                if (state_ == State::kBody) {
                    if (auto s = Append(rest.substr(0, rest.size() - keep)); !s) return s;
                } else if (at + rest.size() - keep > 64 * 1024) {
                    return Fail({ErrorCode::kInvalidArgument,
                                 "the body does not start with the boundary its Content-Type names",
                                 {}});
                }
                at += rest.size() - keep;
                break;
            }
            if (state_ == State::kBody) {
                if (auto s = Append(rest.substr(0, hit)); !s) return s;
                if (auto s = EndPart(); !s) return s;
            }
            at += hit + delimiter_.size();
            state_ = State::kAfterBoundary;
        } else if (state_ == State::kAfterBoundary) {
            // "--" closes the form; otherwise optional blanks, then a line break.
            size_t i = 0;
            if (rest.size() < 2) break;
            if (rest.substr(0, 2) == "--") {
                state_ = State::kEpilogue;
                at = buf_.size();
                break;
            }
            while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t')) ++i;
            if (i + 2 > rest.size()) {
                if (i > 256) return Fail({ErrorCode::kInvalidArgument, "malformed multipart boundary line", {}});
                break;
            }
            if (rest.substr(i, 2) != "\r\n") {
                return Fail({ErrorCode::kInvalidArgument, "malformed multipart boundary line", {}});
            }
            at += i + 2;
            state_ = State::kHeaders;
        } else if (state_ == State::kHeaders) {
            const auto end = rest.find("\r\n\r\n");
            const bool none = rest.substr(0, 2) == "\r\n";  // a part with no headers at all
            if (end == std::string_view::npos && !none) {
                if (rest.size() > limits_.max_part_header_bytes) {
                    return Fail({ErrorCode::kInvalidArgument, "a part of the form has headers that are too long", {}});
                }
                break;
            }
            if (none) return Fail({ErrorCode::kInvalidArgument, "a part of the form has no headers", {}});
            if (end > limits_.max_part_header_bytes) {
                return Fail({ErrorCode::kInvalidArgument, "a part of the form has headers that are too long", {}});
            }
            if (auto s = StartPart(rest.substr(0, end)); !s) return s;
            at += end + 4;
            state_ = State::kBody;
        } else {
            break;
        }
    }
    buf_.erase(0, at);
    return {};
}

core::Status MultipartParser::Finish() {
    if (state_ == State::kEpilogue) return {};
    if (state_ == State::kFailed) return Fail({ErrorCode::kInvalidArgument, "the form was already refused", {}});
    return Fail({ErrorCode::kInvalidArgument,
                 "the form ended before its closing boundary (a truncated upload?)",
                 {{"rule", "truncated"}}});
}

std::vector<UploadPart> MultipartParser::TakeParts() {
    std::vector<UploadPart> out;
    out.swap(parts_);
    return out;
}

}  // namespace herald::net
