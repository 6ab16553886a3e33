#pragma once

// The servers of the test run that nobody on the team wrote (scripts/test-server.sh): CTest
// starts one of each for the whole run (the test_servers fixture); a test binary run by hand
// starts its own with the same script, stopped when the binary exits.

#include <string>

namespace herald::testing {

/// http://127.0.0.1:PORT of s3rver, with the bucket herald-test (credentials S3RVER/S3RVER).
/// Throws when none can be had, with the reason.
std::string S3TestEndpoint();

/// http://127.0.0.1:PORT of a Bluesky PDS (with its PLC directory); accounts need no invite.
std::string PdsTestUrl();

/// ws://127.0.0.1:PORT of a Nostr relay that verifies signatures.
std::string NostrRelayTestUrl();

}  // namespace herald::testing
