#pragma once

// Starts the real Herald (api::Host) in-process on a free port with a fresh data directory,
// and offers helpers that speak real HTTP to it.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "api/host.hpp"
#include "http_client.hpp"

namespace herald::testing {

struct TestUser {
    std::string email;
    std::string access_token;
    std::string refresh_token;
    std::string user_id;
    std::string workspace_id;
};

/// Connecting an account through a platform's consent page, as a browser does it.
struct Consent {
    std::string authorize_url;                     ///< the consent page the server sent to
    std::map<std::string, std::string> authorize;  ///< its query, decoded
    HttpResult callback;                           ///< the callback's answer (a redirect)
    std::string location;                          ///< where that redirect goes
    std::string account_id;                        ///< from connected=…; empty when it did not connect
};

class ServerFixture : public ::testing::Test {
  protected:
    void SetUp() override;
    void TearDown() override;

    /// Override to change the config before the server starts.
    virtual void Configure(core::Config&) {}

    HttpClient& client() { return *client_; }
    uint16_t port() const { return host_->Port(); }

    /// Registers a fresh user (unique email) and returns its tokens.
    TestUser Register(const std::string& name = "Tester");
    /// Connects a sandbox account with the given settings; returns its id.
    std::string SandboxAccount(const TestUser& u, const nlohmann::json& settings = nlohmann::json::object(),
                               const std::string& name = "sandbox");
    /// POST /api/v1/accounts/oauth with `body`, then the platform's redirect back to the
    /// callback with `callback_query` (a code, or an error) and the state, carrying the cookie.
    Consent ConnectThroughConsent(const TestUser& u, const nlohmann::json& body,
                                  const std::string& callback_query = "code=good-code");
    /// Uploads tests/data/media/`file` with `alt` as its alt text; returns the media id.
    std::string UploadTestMedia(const TestUser& u, const std::string& file, const std::string& alt = "");
    std::string UploadSmallImage(const TestUser& u, const std::string& alt) {
        return UploadTestMedia(u, "small.png", alt);
    }
    /// Polls GET /posts/{id} until its status is `status` or `timeout` passes; returns the last body.
    nlohmann::json WaitForPostStatus(const TestUser& u, const std::string& post_id, const std::string& status,
                                     std::chrono::milliseconds timeout);

    std::filesystem::path data_dir_;
    core::Config config_;
    std::unique_ptr<api::Host> host_;
    std::unique_ptr<HttpClient> client_;
    int user_seq_ = 0;
};

/// A unique empty temporary directory.
std::filesystem::path MakeTempDir(const std::string& prefix);

/// A file's bytes; empty when it cannot be read.
std::string ReadBinaryFile(const std::filesystem::path& path);

}  // namespace herald::testing
