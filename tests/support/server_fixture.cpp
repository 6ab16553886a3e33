#include "server_fixture.hpp"

#include <spdlog/spdlog.h>

#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "fake_platform.hpp"

namespace herald::testing {

std::filesystem::path MakeTempDir(const std::string& prefix) {
    std::random_device rd;
    auto dir = std::filesystem::temp_directory_path() /
               (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(dir);
    return dir;
}

void ServerFixture::SetUp() {
    data_dir_ = MakeTempDir("herald-api");
    config_.listen_host = "127.0.0.1";
    config_.listen_port = 0;
    config_.data_dir = data_dir_.string();
    config_.shutdown_timeout_seconds = 5;
    config_.log_level = "warn";
    Configure(config_);
    spdlog::set_level(spdlog::level::from_str(config_.log_level));
    auto host = api::Host::Start(config_);
    ASSERT_TRUE(host.has_value()) << host.error().message;
    host_ = std::move(*host);
    client_ = std::make_unique<HttpClient>(host_->Port());
}

void ServerFixture::TearDown() {
    if (host_) host_->Stop();
    host_.reset();
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
}

TestUser ServerFixture::Register(const std::string& name) {
    TestUser u;
    u.email = "user" + std::to_string(++user_seq_) + "@example.com";
    auto r =
        client().Post("/api/v1/auth/register", {{"email", u.email}, {"password", "correct horse"}, {"name", name}});
    EXPECT_EQ(r.status, 201) << r.body;
    auto j = r.Json();
    u.access_token = j.value("access_token", "");
    u.refresh_token = j.value("refresh_token", "");
    u.user_id = j["user"].value("id", "");
    u.workspace_id = j["workspace"].value("id", "");
    return u;
}

std::string ServerFixture::SandboxAccount(const TestUser& u, const nlohmann::json& settings, const std::string& name) {
    auto r = client().Post("/api/v1/accounts", {{"platform", "sandbox"}, {"name", name}, {"settings", settings}},
                           u.access_token);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.Json().value("id", "");
}

Consent ServerFixture::ConnectThroughConsent(const TestUser& u, const nlohmann::json& body,
                                             const std::string& callback_query) {
    Consent c;
    auto started = client().Post("/api/v1/accounts/oauth", body, u.access_token);
    EXPECT_EQ(started.status, 200) << started.body;
    if (started.status != 200) return c;
    c.authorize_url = started.Json().value("authorize_url", "");
    c.authorize = ParseQuery(c.authorize_url.substr(c.authorize_url.find('?') + 1));
    const std::string set_cookie = started.headers["set-cookie"];
    const std::string platform = body.value("platform", "");
    c.callback = client().Request(
        "GET", "/api/v1/oauth/" + platform + "/callback?state=" + c.authorize["state"] + "&" + callback_query, "",
        {{"Cookie", set_cookie.substr(0, set_cookie.find(';'))}});
    EXPECT_EQ(c.callback.status, 302) << c.callback.body;
    c.location = c.callback.headers["location"];
    const auto at = c.location.find("connected=");
    if (at != std::string::npos) c.account_id = c.location.substr(at + 10);
    return c;
}

std::string ServerFixture::UploadTestMedia(const TestUser& u, const std::string& file, const std::string& alt) {
    const std::string boundary = "herald-test-boundary";
    std::string body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"" + file +
                       "\"\r\n\r\n" +
                       ReadBinaryFile(std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media" / file) + "\r\n";
    if (!alt.empty()) {
        body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"alt_text\"\r\n\r\n" + alt + "\r\n";
    }
    body += "--" + boundary + "--\r\n";
    auto r = client().Request(
        "POST", "/api/v1/media", body,
        {{"Content-Type", "multipart/form-data; boundary=" + boundary}, {"Authorization", "Bearer " + u.access_token}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? r.Json()["items"][0].value("id", "") : "";
}

nlohmann::json ServerFixture::WaitForPostStatus(const TestUser& u, const std::string& post_id,
                                                const std::string& status, std::chrono::milliseconds timeout) {
    // Polling the public API is what a client does; the wait is bounded and ends as soon as
    // the state is reached.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    nlohmann::json last;
    while (std::chrono::steady_clock::now() < deadline) {
        auto r = client().Get("/api/v1/posts/" + post_id, u.access_token);
        last = r.Json();
        if (last.value("status", "") == status) return last;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return last;
}

std::string ReadBinaryFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

}  // namespace herald::testing
