#pragma once

#include <map>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

namespace herald::core {

/// What went wrong, in terms a caller can act on. The API maps each code to one HTTP status
/// (api/errors.cpp); nothing else decides status codes.
enum class ErrorCode {
    kInvalidArgument,       ///< the request is malformed or breaks a rule (400)
    kUnauthenticated,       ///< no or bad credentials (401)
    kPermissionDenied,      ///< authenticated, but the role does not allow it (403)
    kNotFound,              ///< does not exist, or belongs to another workspace (404)
    kAlreadyExists,         ///< unique thing taken, e.g. an email (409)
    kFailedPrecondition,    ///< valid request, wrong state, e.g. editing a published post (409)
    kMethodNotAllowed,      ///< the path exists, the method does not (405)
    kPayloadTooLarge,       ///< body over the configured limit (413)
    kUnsupportedMediaType,  ///< a body that is not JSON (415)
    kRateLimited,           ///< slow down (429)
    kUnavailable,           ///< a dependency is down; retrying later may work (503)
    kInternal,              ///< a bug or broken infrastructure (500)
};

std::string_view ToString(ErrorCode code);

/// An expected failure: a code, a message for people, and machine-readable details
/// (e.g. {"field": "text", "rule": "max_length"}).
struct Error {
    ErrorCode code = ErrorCode::kInternal;
    std::string message;
    std::map<std::string, std::string> details;
};

template <typename T>
using Result = tl::expected<T, Error>;

using Status = tl::expected<void, Error>;

inline tl::unexpected<Error> Fail(ErrorCode code, std::string message,
                                  std::map<std::string, std::string> details = {}) {
    return tl::unexpected<Error>(Error{code, std::move(message), std::move(details)});
}

/// A field failed validation: names the field and the rule, as the API promises.
inline tl::unexpected<Error> FieldError(std::string field, std::string rule, std::string message) {
    return Fail(ErrorCode::kInvalidArgument, std::move(message),
                {{"field", std::move(field)}, {"rule", std::move(rule)}});
}

}  // namespace herald::core
