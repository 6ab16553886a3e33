// The dashboard's built files through the real server (web_dir): the page for every dashboard
// route with a strict Content-Security-Policy and no caching, hashed assets cached for a year,
// a missing asset or a path that tries to leave the folder a 404, and the API's own paths never
// answered with the page.

#include <fstream>

#include "server_fixture.hpp"

namespace herald::testing {
namespace {

void Write(const std::filesystem::path& file, const std::string& text) {
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
}

class StaticFilesTest : public ServerFixture {
  protected:
    void Configure(core::Config& c) override {
        web_ = MakeTempDir("herald-web");
        Write(web_ / "index.html", "<!doctype html><title>Herald</title><script src=/assets/app-3f9a2b1c.js></script>");
        Write(web_ / "assets/app-3f9a2b1c.js", "console.log('herald')");
        Write(web_ / "robots.txt", "User-agent: *\nDisallow: /\n");
        Write(web_.parent_path() / (web_.filename().string() + "-secret.txt"), "not for browsers");
        c.web_dir = web_.string();
    }
    void TearDown() override {
        ServerFixture::TearDown();
        std::filesystem::remove_all(web_);
        std::filesystem::remove(web_.parent_path() / (web_.filename().string() + "-secret.txt"));
    }
    std::filesystem::path web_;
};

TEST_F(StaticFilesTest, ThePageForEveryDashboardRouteAndHashedAssetsCachedForAYear) {
    for (const char* route : {"/", "/calendar", "/posts/01a20d69cb89d33bfbbf25219d"}) {
        auto page = client().Get(route);
        ASSERT_EQ(page.status, 200) << route;
        EXPECT_NE(page.body.find("<title>Herald</title>"), std::string::npos) << route;
        EXPECT_EQ(page.headers["content-type"], "text/html; charset=utf-8");
        EXPECT_EQ(page.headers["cache-control"], "no-cache");
        const std::string csp = page.headers["content-security-policy"];
        EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
        EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
        EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
    }
    auto script = client().Get("/assets/app-3f9a2b1c.js");
    ASSERT_EQ(script.status, 200);
    EXPECT_EQ(script.body, "console.log('herald')");
    EXPECT_EQ(script.headers["content-type"], "text/javascript; charset=utf-8");
    EXPECT_EQ(script.headers["cache-control"], "public, max-age=31536000, immutable");
    auto robots = client().Get("/robots.txt");
    ASSERT_EQ(robots.status, 200);
    EXPECT_EQ(robots.headers["cache-control"], "no-cache");  // not hashed: may change
}

TEST_F(StaticFilesTest, MissingAssetsEscapesAndTheApisPathsAreNotThePage) {
    EXPECT_EQ(client().Get("/assets/app-00000000.js").status, 404);
    for (const char* escape : {"/../"
                               "herald-web-secret.txt",
                               "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt", "/.hidden"}) {
        auto r = client().Get(escape);
        EXPECT_EQ(r.status, 404) << escape;
        EXPECT_EQ(r.body.find("not for browsers"), std::string::npos) << escape;
    }
    auto api = client().Get("/api/v1/no-such-thing");
    EXPECT_EQ(api.status, 404);
    EXPECT_EQ(api.Json()["error"]["code"], "not_found");
    EXPECT_EQ(client().Get("/healthz").status, 200);
    // Only reading: a POST to a dashboard route is not the page.
    EXPECT_NE(client().Post("/calendar", nlohmann::json::object()).status, 200);
}

}  // namespace
}  // namespace herald::testing
