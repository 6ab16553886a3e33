#include <gtest/gtest.h>

#include <fstream>

#include "server_fixture.hpp"

namespace herald::testing {
namespace {

class AuthApi : public ServerFixture {};

TEST_F(AuthApi, RegisterLoginRefreshAndLogout) {
    auto r = client().Post("/api/v1/auth/register",
                           {{"email", "Ann@Example.com "}, {"password", "correct horse"}, {"name", "Ann"}});
    ASSERT_EQ(r.status, 201) << r.body;
    auto j = r.Json();
    EXPECT_EQ(j["user"]["email"], "ann@example.com");
    EXPECT_EQ(j["role"], "owner");
    EXPECT_EQ(j["token_type"], "Bearer");
    EXPECT_EQ(j["expires_in"], 900);
    EXPECT_FALSE(j.contains("password"));
    EXPECT_EQ(r.body.find("correct horse"), std::string::npos);

    auto me = client().Get("/api/v1/me", j["access_token"]);
    ASSERT_EQ(me.status, 200) << me.body;
    EXPECT_EQ(me.Json()["user"]["id"], j["user"]["id"]);

    auto bad = client().Post("/api/v1/auth/login", {{"email", "ann@example.com"}, {"password", "wrong horse"}});
    EXPECT_EQ(bad.status, 401);
    EXPECT_EQ(bad.Json()["error"]["code"], "unauthenticated");
    auto nobody = client().Post("/api/v1/auth/login", {{"email", "nobody@example.com"}, {"password", "wrong horse"}});
    EXPECT_EQ(nobody.status, 401);
    EXPECT_EQ(nobody.Json()["error"]["message"], bad.Json()["error"]["message"]);  // no account enumeration

    auto login = client().Post("/api/v1/auth/login", {{"email", "ANN@example.com"}, {"password", "correct horse"}});
    ASSERT_EQ(login.status, 200) << login.body;
    const std::string refresh1 = login.Json()["refresh_token"];

    auto rotated = client().Post("/api/v1/auth/refresh", {{"refresh_token", refresh1}});
    ASSERT_EQ(rotated.status, 200) << rotated.body;
    const std::string refresh2 = rotated.Json()["refresh_token"];
    EXPECT_NE(refresh1, refresh2);
    EXPECT_EQ(client().Get("/api/v1/me", rotated.Json()["access_token"]).status, 200);

    // Replaying a consumed refresh token signs out the whole login: the newer token dies too.
    auto replay = client().Post("/api/v1/auth/refresh", {{"refresh_token", refresh1}});
    EXPECT_EQ(replay.status, 401);
    EXPECT_EQ(client().Post("/api/v1/auth/refresh", {{"refresh_token", refresh2}}).status, 401);

    // Logout revokes the refresh token of another login.
    const std::string refresh3 = j["refresh_token"];
    auto out = client().Post("/api/v1/auth/logout", {{"refresh_token", refresh3}});
    EXPECT_EQ(out.status, 204);
    EXPECT_EQ(client().Post("/api/v1/auth/refresh", {{"refresh_token", refresh3}}).status, 401);
}

TEST_F(AuthApi, RegistrationErrorsNameTheFieldAndWriteNothing) {
    struct Case {
        nlohmann::json body;
        std::string field;
        std::string rule;
    };
    for (const auto& c : std::vector<Case>{
             {{{"email", "not-an-email"}, {"password", "correct horse"}, {"name", "A"}}, "email", "email"},
             {{{"email", "a@example.com"}, {"password", "short"}, {"name", "A"}}, "password", "min_length"},
             {{{"email", "a@example.com"}, {"password", "correct horse"}, {"name", ""}}, "name", "required"},
             {{{"email", "a@example.com"}, {"password", "correct horse"}}, "name", "required"},
             {{{"email", "a@example.com"}, {"password", 12345678}, {"name", "A"}}, "password", "type"},
             {{{"email", "a@example.com"}, {"password", "correct horse"}, {"name", "A"}, {"admin", true}},
              "admin",
              "unknown_field"},
         }) {
        auto r = client().Post("/api/v1/auth/register", c.body);
        EXPECT_EQ(r.status, 400) << c.body.dump() << " → " << r.body;
        auto e = r.Json()["error"];
        EXPECT_EQ(e["code"], "invalid_argument");
        EXPECT_EQ(e["details"]["field"], c.field) << r.body;
        EXPECT_EQ(e["details"]["rule"], c.rule) << r.body;
    }
    // None of the attempts created the user.
    EXPECT_EQ(client().Post("/api/v1/auth/login", {{"email", "a@example.com"}, {"password", "correct horse"}}).status,
              401);
    Register();
    auto dup = client().Post("/api/v1/auth/register",
                             {{"email", "USER1@example.com"}, {"password", "correct horse"}, {"name", "B"}});
    EXPECT_EQ(dup.status, 409);
    EXPECT_EQ(dup.Json()["error"]["details"]["field"], "email");
}

TEST_F(AuthApi, ProtectedEndpointsRefuseMissingOrBadTokens) {
    auto u = Register();
    for (std::string path : {"/api/v1/posts", "/api/v1/accounts", "/api/v1/me", "/api/v1/tokens"}) {
        auto none = client().Get(path);
        EXPECT_EQ(none.status, 401) << path;
        EXPECT_EQ(none.headers["www-authenticate"], "Bearer");
        EXPECT_EQ(none.Json()["error"]["code"], "unauthenticated");
        EXPECT_EQ(client().Get(path, "garbage").status, 401) << path;
    }
    // A token whose payload was changed no longer verifies.
    std::string forged = u.access_token;
    forged[forged.find('.') + 3] = forged[forged.find('.') + 3] == 'A' ? 'B' : 'A';
    EXPECT_EQ(client().Get("/api/v1/me", forged).status, 401);
    auto basic = client().Request("GET", "/api/v1/me", "", {{"Authorization", "Basic dTpw"}});
    EXPECT_EQ(basic.status, 401);
}

TEST_F(AuthApi, PersonalApiTokensWorkUntilRevoked) {
    auto u = Register();
    auto created = client().Post("/api/v1/tokens", {{"name", "ci"}}, u.access_token);
    ASSERT_EQ(created.status, 201) << created.body;
    const std::string token = created.Json()["token"];
    ASSERT_EQ(token.rfind("hpat_", 0), 0u);
    EXPECT_EQ(client().Get("/api/v1/accounts", token).status, 200);
    auto list = client().Get("/api/v1/tokens", u.access_token);
    ASSERT_EQ(list.status, 200);
    EXPECT_EQ(list.Json()["items"].size(), 1u);
    EXPECT_EQ(list.body.find(token), std::string::npos);  // shown once, never again
    EXPECT_EQ(list.body.find("hash"), std::string::npos);
    const std::string id = created.Json()["id"];
    EXPECT_EQ(client().Delete("/api/v1/tokens/" + id, u.access_token).status, 204);
    EXPECT_EQ(client().Get("/api/v1/accounts", token).status, 401);
    EXPECT_EQ(client().Delete("/api/v1/tokens/" + id + "x", u.access_token).status, 404);
}

TEST_F(AuthApi, RolesLimitWhatMembersCanDo) {
    auto owner = Register("Owner");
    auto viewer = Register("Viewer");
    auto editor = Register("Editor");
    const std::string account = SandboxAccount(owner);
    ASSERT_EQ(
        client().Post("/api/v1/members", {{"email", viewer.email}, {"role", "viewer"}}, owner.access_token).status,
        201);
    ASSERT_EQ(
        client().Post("/api/v1/members", {{"email", editor.email}, {"role", "editor"}}, owner.access_token).status,
        201);
    auto members = client().Get("/api/v1/members", owner.access_token).Json()["items"];
    EXPECT_EQ(members.size(), 3u);

    auto as = [&](const TestUser& u) {
        auto r =
            client().Post("/api/v1/auth/login",
                          {{"email", u.email}, {"password", "correct horse"}, {"workspace_id", owner.workspace_id}});
        EXPECT_EQ(r.status, 200) << r.body;
        return r.Json().value("access_token", "");
    };
    const std::string viewer_token = as(viewer), editor_token = as(editor);
    const nlohmann::json post = {{"text", "hi"}, {"account_ids", {account}}};
    auto denied = client().Post("/api/v1/posts", post, viewer_token);
    EXPECT_EQ(denied.status, 403);
    EXPECT_EQ(denied.Json()["error"]["details"]["required"], "editor");
    EXPECT_EQ(client().Get("/api/v1/posts", viewer_token).status, 200);
    EXPECT_EQ(client().Post("/api/v1/posts", post, editor_token).status, 201);
    EXPECT_EQ(client().Post("/api/v1/accounts", {{"platform", "sandbox"}, {"name", "x"}}, editor_token).status, 403);
    EXPECT_EQ(client().Post("/api/v1/members", {{"email", viewer.email}, {"role", "admin"}}, editor_token).status, 403);
    // Not a member: refused.
    auto stranger = Register("Stranger");
    auto r =
        client().Post("/api/v1/auth/login",
                      {{"email", stranger.email}, {"password", "correct horse"}, {"workspace_id", owner.workspace_id}});
    EXPECT_EQ(r.status, 403);
}

TEST_F(AuthApi, AnotherWorkspacesIdsAnswer404) {
    auto a = Register("A");
    auto b = Register("B");
    const std::string account = SandboxAccount(a);
    auto post = client().Post("/api/v1/posts", {{"text", "mine"}, {"account_ids", {account}}}, a.access_token);
    ASSERT_EQ(post.status, 201);
    const std::string id = post.Json()["id"];
    EXPECT_EQ(client().Get("/api/v1/posts/" + id, b.access_token).status, 404);
    EXPECT_EQ(client().Patch("/api/v1/posts/" + id, {{"text", "theirs"}}, b.access_token).status, 404);
    EXPECT_EQ(client().Delete("/api/v1/posts/" + id, b.access_token).status, 404);
    EXPECT_EQ(client().Get("/api/v1/accounts/" + account, b.access_token).status, 404);
    EXPECT_EQ(client().Get("/api/v1/accounts/" + account + "/sandbox/posts", b.access_token).status, 404);
    auto foreign = client().Post("/api/v1/posts", {{"text", "x"}, {"account_ids", {account}}}, b.access_token);
    EXPECT_EQ(foreign.status, 400);
    EXPECT_EQ(foreign.Json()["error"]["details"]["field"], "account_ids[0]");
    EXPECT_EQ(client().Get("/api/v1/posts", b.access_token).Json()["items"].size(), 0u);
    // The owner still sees it, unchanged.
    EXPECT_EQ(client().Get("/api/v1/posts/" + id, a.access_token).Json()["text"], "mine");
}

TEST_F(AuthApi, AccountCredentialsAreNeverReturned) {
    auto u = Register();
    auto r = client().Post("/api/v1/accounts",
                           {{"platform", "sandbox"}, {"name", "s"}, {"credentials", {{"token", "s3cr3t-value"}}}},
                           u.access_token);
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.Json()["has_credentials"], true);
    EXPECT_EQ(r.body.find("s3cr3t-value"), std::string::npos);
    auto list = client().Get("/api/v1/accounts", u.access_token);
    EXPECT_EQ(list.body.find("s3cr3t-value"), std::string::npos);
    auto unknown = client().Post("/api/v1/accounts", {{"platform", "myspace"}, {"name", "s"}}, u.access_token);
    EXPECT_EQ(unknown.status, 400);
    EXPECT_EQ(unknown.Json()["error"]["details"]["field"], "platform");
    auto bad_settings = client().Post(
        "/api/v1/accounts", {{"platform", "sandbox"}, {"name", "s"}, {"settings", {{"mode", "boom"}}}}, u.access_token);
    EXPECT_EQ(bad_settings.status, 400);
    EXPECT_EQ(bad_settings.Json()["error"]["details"]["field"], "settings.mode");
    EXPECT_EQ(client().Get("/api/v1/accounts", u.access_token).Json()["items"].size(), 1u);
    // At rest the credentials are sealed: neither the database nor its WAL holds the plain text.
    for (const char* file : {"herald.db", "herald.db-wal"}) {
        std::ifstream in(data_dir_ / file, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        EXPECT_EQ(bytes.find("s3cr3t-value"), std::string::npos) << file;
        EXPECT_EQ(bytes.find("s3cr3t"), std::string::npos) << file;
    }
}

}  // namespace
}  // namespace herald::testing
