#pragma once

// The S3-compatible server of the test run (s3rver, scripts/s3-test-server.sh): CTest starts
// one for the whole run; a test binary run by hand starts its own.

#include <string>

namespace herald::testing {

/// http://127.0.0.1:PORT of a server with the bucket herald-test (credentials S3RVER/S3RVER).
/// Throws when none can be had, with the reason.
std::string S3TestEndpoint();

}  // namespace herald::testing
