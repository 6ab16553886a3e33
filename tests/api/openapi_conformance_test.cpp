// The OpenAPI document against the code: every route is documented, and every real answer of the
// running server (successes and the main errors) conforms to what the document says.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "openapi_validator.hpp"
#include "server_fixture.hpp"
#include "tiny_http_server.hpp"

namespace herald::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const OpenApiSpec& Spec() {
    static const OpenApiSpec spec = OpenApiSpec::Load(HERALD_OPENAPI_PATH);
    return spec;
}

struct Route {
    std::string method;
    std::string pattern;  ///< as registered, "{}" for a path parameter
    bool open;            ///< needs no token
};

// Every route the server answers. KEEP IN STEP with the Api constructor in src/api/api.cpp (and
// Api::AcceptEvents for the WebSocket): a route added there must be added here and documented in
// src/api/openapi.json, or OpenApiDocument.DocumentsEveryRouteAndNothingElse fails.
const std::vector<Route> kRoutes = {
    {"GET", "/healthz", true},
    {"GET", "/readyz", true},
    {"GET", "/api/v1/openapi.json", true},
    {"POST", "/api/v1/auth/register", true},
    {"POST", "/api/v1/auth/login", true},
    {"POST", "/api/v1/auth/refresh", true},
    {"POST", "/api/v1/auth/logout", true},
    {"GET", "/api/v1/me", false},
    {"GET", "/api/v1/tokens", false},
    {"POST", "/api/v1/tokens", false},
    {"DELETE", "/api/v1/tokens/{}", false},
    {"GET", "/api/v1/members", false},
    {"POST", "/api/v1/members", false},
    {"GET", "/api/v1/accounts", false},
    {"POST", "/api/v1/accounts", false},
    {"GET", "/api/v1/accounts/{}", false},
    {"PUT", "/api/v1/accounts/{}/credentials", false},
    {"POST", "/api/v1/accounts/oauth", false},
    {"GET", "/api/v1/oauth/{}/callback", true},
    {"GET", "/api/v1/accounts/{}/sandbox/posts", false},
    {"GET", "/api/v1/accounts/{}/schedule", false},
    {"PUT", "/api/v1/accounts/{}/schedule", false},
    {"GET", "/api/v1/posts", false},
    {"POST", "/api/v1/posts", false},
    {"GET", "/api/v1/posts/{}", false},
    {"PATCH", "/api/v1/posts/{}", false},
    {"DELETE", "/api/v1/posts/{}", false},
    {"POST", "/api/v1/posts/{}/deliveries/{}/retry", false},
    {"POST", "/api/v1/posts/{}/deliveries/{}/mark-published", false},
    {"POST", "/api/v1/posts/bulk", false},
    {"POST", "/api/v1/posts/{}/cancel", false},
    {"POST", "/api/v1/posts/{}/deliveries/{}/cancel", false},
    {"GET", "/api/v1/queue/stats", false},
    {"GET", "/api/v1/queue/jobs", false},
    {"GET", "/api/v1/queue/jobs/{}", false},
    {"POST", "/api/v1/queue/jobs/{}/requeue", false},
    {"POST", "/api/v1/queue/jobs/{}/cancel", false},
    {"GET", "/api/v1/queue/pauses", false},
    {"POST", "/api/v1/queue/pause", false},
    {"POST", "/api/v1/queue/resume", false},
    {"GET", "/api/v1/queue/plan", false},
    {"GET", "/api/v1/limits", false},
    {"PUT", "/api/v1/limits", false},
    {"POST", "/api/v1/media", false},
    {"POST", "/api/v1/media/from-url", false},
    {"GET", "/api/v1/media", false},
    {"GET", "/api/v1/media/{}", false},
    {"PATCH", "/api/v1/media/{}", false},
    {"DELETE", "/api/v1/media/{}", false},
    {"GET", "/api/v1/media/{}/thumbnail", false},
    {"POST", "/api/v1/media/{}/convert", false},
    {"GET", "/api/v1/public/media/{}", true},
    {"GET", "/api/v1/platforms", false},
    {"GET", "/metrics", true},
    {"GET", "/api/v1/events", false},  // WebSocket upgrade, Api::AcceptEvents
};

constexpr const char* kUpload = "/api/v1/media";

// A well-formed id that names nothing.
constexpr const char* kUnknownId = "0123456789abcdef0123456789";

// The operations on one delivery, as the document names them.
constexpr const char* kRetry = "/api/v1/posts/{post_id}/deliveries/{delivery_id}/retry";
constexpr const char* kMarkPublished = "/api/v1/posts/{post_id}/deliveries/{delivery_id}/mark-published";
constexpr const char* kCancelDelivery = "/api/v1/posts/{post_id}/deliveries/{delivery_id}/cancel";
constexpr const char* kCancelPost = "/api/v1/posts/{post_id}/cancel";
constexpr const char* kBulk = "/api/v1/posts/bulk";
// The queue's operations.
constexpr const char* kJobs = "/api/v1/queue/jobs";
constexpr const char* kJob = "/api/v1/queue/jobs/{job_id}";
constexpr const char* kRequeue = "/api/v1/queue/jobs/{job_id}/requeue";
constexpr const char* kCancelJob = "/api/v1/queue/jobs/{job_id}/cancel";
constexpr const char* kPause = "/api/v1/queue/pause";
constexpr const char* kResume = "/api/v1/queue/resume";
constexpr const char* kPlan = "/api/v1/queue/plan";
constexpr const char* kLimits = "/api/v1/limits";
constexpr const char* kSchedule = "/api/v1/accounts/{account_id}/schedule";

std::string Join(const std::vector<std::string>& problems) {
    std::string out;
    for (const auto& p : problems) out += "\n  - " + p;
    return out;
}

std::string Key(const std::string& method, const std::string& path_template) {
    return method + " " + NormalizePathTemplate(path_template);
}

std::string Fill(const std::string& pattern, const std::string& id) {
    std::string out = pattern;
    for (auto pos = out.find("{}"); pos != std::string::npos; pos = out.find("{}")) out.replace(pos, 2, id);
    return out;
}

// The body as JSON; null for an empty body, the raw text (which no object schema accepts) for non-JSON.
nlohmann::json BodyOf(const HttpResult& r) {
    if (r.body.empty()) return nullptr;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_discarded()) {
        ADD_FAILURE() << "response is not JSON: " << r.body;
        return r.body;
    }
    return j;
}

std::string NowRfc3339() {
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A post as the server sends it, for the validator's own tests.
nlohmann::json SamplePost() {
    return {{"id", "0190a1b2c3d4e5f60718293a4b"},
            {"status", "published"},
            {"text", "hello"},
            {"variants", {{"sandbox", "hello, sandbox"}}},
            {"thread", {"and a reply"}},
            {"first_comment", nullptr},
            {"media_ids", nlohmann::json::array()},
            {"account_ids", {"0190a1b2c3d4e5f60718293a4c"}},
            {"scheduled_at", "2026-12-01T09:00:00Z"},
            {"local_time", nullptr},
            {"timezone", nullptr},
            {"created_by", "0190a1b2c3d4e5f60718293a4d"},
            {"created_at", "2026-11-30T09:00:00.250Z"},
            {"updated_at", "2026-12-01T09:00:01Z"},
            {"deliveries",
             {{{"id", "0190a1b2c3d4e5f60718293a4e"},
               {"account_id", "0190a1b2c3d4e5f60718293a4c"},
               {"status", "published"},
               {"attempts", 1},
               {"remote_id", "r1"},
               {"url", "https://sandbox.herald.invalid/a/posts/r1"},
               {"error", nullptr},
               {"next_attempt_at", nullptr},
               {"published_at", "2026-12-01T09:00:01Z"},
               {"updated_at", "2026-12-01T09:00:01Z"}}}}};
}

bool Mentions(const std::vector<std::string>& problems, const std::string& text) {
    for (const auto& p : problems) {
        if (p.find(text) != std::string::npos) return true;
    }
    return false;
}

// ---- the document itself ------------------------------------------------------------------

TEST(OpenApiDocument, IsOpenApi31WithoutDanglingReferences) {
    const auto& doc = Spec().document();
    EXPECT_EQ(doc.value("openapi", ""), "3.1.0");
    EXPECT_TRUE(doc["info"].contains("title"));
    EXPECT_TRUE(doc["info"].contains("version"));
    EXPECT_TRUE(Spec().DanglingRefs().empty()) << Join(Spec().DanglingRefs());
    EXPECT_EQ(doc["components"]["securitySchemes"]["bearer"].value("scheme", ""), "bearer");
    // The binary embeds the file in a raw string literal with this delimiter (openapi_data.cpp.in).
    EXPECT_EQ(ReadFile(HERALD_OPENAPI_PATH).find(")HERALD_OPENAPI\""), std::string::npos);
}

TEST(OpenApiDocument, DocumentsEveryRouteAndNothingElse) {
    std::set<std::string> routes;
    for (const auto& r : kRoutes) {
        routes.insert(Key(r.method, r.pattern));
        EXPECT_TRUE(Spec().HasOperation(r.method, r.pattern)) << r.method << " " << r.pattern << " is not documented";
    }
    for (const auto& op : Spec().Operations()) {
        const auto space = op.find(' ');
        EXPECT_TRUE(routes.count(Key(op.substr(0, space), op.substr(space + 1))))
            << op << " is documented but the server has no such route";
    }
    EXPECT_EQ(Spec().Operations().size(), kRoutes.size());
}

TEST(OpenApiDocument, OnlyTheOpenEndpointsSkipAuthentication) {
    const auto& doc = Spec().document();
    ASSERT_EQ(doc["security"], nlohmann::json::parse(R"([{"bearer": []}])"));
    for (const auto& r : kRoutes) {
        for (const auto& [path, item] : doc["paths"].items()) {
            if (NormalizePathTemplate(path) != NormalizePathTemplate(r.pattern)) continue;
            std::string method = r.method;
            for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            const auto& op = item[method];
            if (r.open) {
                EXPECT_EQ(op.value("security", nlohmann::json()), nlohmann::json::array()) << r.method << " " << path;
            } else {
                EXPECT_FALSE(op.contains("security")) << r.method << " " << path << " should inherit bearer";
                EXPECT_TRUE(op["responses"].contains("401")) << r.method << " " << path << " documents no 401";
            }
        }
    }
}

TEST(OpenApiDocument, EveryErrorStatusUsesTheErrorShape) {
    const nlohmann::json error = {{"error", {{"code", "not_found"}, {"message", "m"}, {"details", {{"k", "v"}}}}}};
    for (const auto& r : kRoutes) {
        std::string method = r.method;
        for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        for (const auto& [path, item] : Spec().document()["paths"].items()) {
            if (NormalizePathTemplate(path) != NormalizePathTemplate(r.pattern)) continue;
            for (const auto& [status, _] : item[method]["responses"].items()) {
                if (status < "400" || (r.pattern == "/readyz" && status == "503")) continue;  // readyz: Readiness
                auto problems = Spec().CheckResponse(r.method, r.pattern, std::stoi(status), error);
                EXPECT_TRUE(problems.empty()) << Join(problems);
            }
        }
    }
}

TEST(OpenApiDocument, RequestBodiesRefuseUnknownFields) {
    int bodies = 0;
    for (const auto& r : kRoutes) {
        if (r.method != "POST" && r.method != "PATCH" && r.method != "PUT") continue;
        if (r.pattern == kUpload) continue;  // multipart/form-data: its parts are checked by the handler
        ++bodies;
        auto problems = Spec().CheckRequestBody(r.method, r.pattern, {{"no_such_field", "x"}});
        EXPECT_TRUE(Mentions(problems, "\"no_such_field\" is not allowed"))
            << r.method << " " << r.pattern << Join(problems);
    }
    EXPECT_EQ(bodies, 25);
}

// The header is read for every POST that needs a token (Api::Dispatch), so each of them must
// say so, document the 409 a reused key gets, and the header a replayed success carries.
TEST(OpenApiDocument, AuthenticatedPostsTakeAnIdempotencyKey) {
    const auto& doc = Spec().document();
    const auto& param = doc["components"]["parameters"]["IdempotencyKey"];
    EXPECT_EQ(param.value("name", ""), "Idempotency-Key");
    EXPECT_EQ(param.value("in", ""), "header");
    EXPECT_FALSE(doc["components"]["headers"]["IdempotentReplayed"].is_null());
    const nlohmann::json key_ref = {{"$ref", "#/components/parameters/IdempotencyKey"}};
    const nlohmann::json replayed_ref = {{"$ref", "#/components/headers/IdempotentReplayed"}};
    int posts = 0;
    for (const auto& r : kRoutes) {
        // An upload's body is files streamed to disk, not something a key could replay; the
        // operation's description says so.
        if (r.method != "POST" || r.pattern == kUpload) continue;
        for (const auto& [path, item] : doc["paths"].items()) {
            if (NormalizePathTemplate(path) != NormalizePathTemplate(r.pattern)) continue;
            const auto& op = item["post"];
            const auto params = op.value("parameters", nlohmann::json::array());
            const bool takes_key = std::find(params.begin(), params.end(), key_ref) != params.end();
            EXPECT_EQ(takes_key, !r.open) << "POST " << path;
            if (r.open) continue;
            ++posts;
            for (const char* status : {"400", "409"}) {
                EXPECT_TRUE(op["responses"].contains(status)) << "POST " << path << " documents no " << status;
            }
            for (const auto& [status, response] : op["responses"].items()) {
                if (status[0] != '2') continue;
                EXPECT_EQ(response["headers"].value("Idempotent-Replayed", nlohmann::json()), replayed_ref)
                    << "POST " << path << " " << status;
            }
        }
    }
    EXPECT_EQ(posts, 16);
}

// ---- the validator: it must be able to fail -------------------------------------------------

TEST(OpenApiValidator, AcceptsAConformingPost) {
    auto problems = Spec().CheckResponse("GET", "/api/v1/posts/{post_id}", 200, SamplePost());
    EXPECT_TRUE(problems.empty()) << Join(problems);
    // A template with "{}" finds the same operation.
    EXPECT_TRUE(Spec().CheckResponse("GET", "/api/v1/posts/{}", 200, SamplePost()).empty());
}

TEST(OpenApiValidator, CatchesAMissingRequiredField) {
    auto post = SamplePost();
    post.erase("updated_at");
    auto problems = Spec().CheckResponse("GET", "/api/v1/posts/{post_id}", 200, post);
    EXPECT_THAT(Join(problems), HasSubstr("required property \"updated_at\" is missing"));

    post = SamplePost();
    post["deliveries"][0].erase("error");
    problems = Spec().CheckResponse("GET", "/api/v1/posts/{post_id}", 200, post);
    EXPECT_THAT(Join(problems), HasSubstr("at \"/deliveries/0\": required property \"error\" is missing"));
}

TEST(OpenApiValidator, CatchesAWrongType) {
    auto post = SamplePost();
    post["deliveries"][0]["attempts"] = "1";
    auto problems = Spec().CheckResponse("GET", "/api/v1/posts/{post_id}", 200, post);
    EXPECT_THAT(Join(problems), HasSubstr("at \"/deliveries/0/attempts\": expected integer, got string"));

    post["deliveries"][0]["attempts"] = 1.5;  // a number, but not an integer
    problems = Spec().CheckResponse("GET", "/api/v1/posts/{post_id}", 200, post);
    EXPECT_THAT(Join(problems), HasSubstr("expected integer, got number"));

    post = SamplePost();
    post["text"] = nullptr;  // not nullable
    EXPECT_THAT(Join(Spec().CheckResponse("GET", "/api/v1/posts/{post_id}", 200, post)),
                HasSubstr("at \"/text\": expected string, got null"));
    post = SamplePost();
    post["scheduled_at"] = 1764579600;  // nullable, but a string when present
    EXPECT_THAT(Join(Spec().CheckResponse("GET", "/api/v1/posts/{post_id}", 200, post)),
                HasSubstr("expected string or null, got integer"));
}

TEST(OpenApiValidator, CatchesAnExtraField) {
    auto post = SamplePost();
    post["deliveries"][0]["secret"] = "x";
    auto problems = Spec().CheckResponse("GET", "/api/v1/posts/{post_id}", 200, post);
    EXPECT_THAT(Join(problems), HasSubstr("at \"/deliveries/0\": property \"secret\" is not allowed"));
}

TEST(OpenApiValidator, CatchesABadEnumValue) {
    auto post = SamplePost();
    post["status"] = "posted";
    auto problems = Spec().CheckResponse("GET", "/api/v1/posts/{post_id}", 200, post);
    EXPECT_THAT(Join(problems), HasSubstr("at \"/status\": \"posted\" is not one of"));

    nlohmann::json member = {{"user_id", "0190a1b2c3d4e5f60718293a4b"}, {"email", "a@b.c"}, {"name", "A"}};
    member["role"] = "superuser";
    EXPECT_THAT(Join(Spec().CheckResponse("POST", "/api/v1/members", 201, member)), HasSubstr("\"superuser\""));
}

TEST(OpenApiValidator, CatchesAnUndocumentedStatusOrOperation) {
    auto problems = Spec().CheckResponse("GET", "/api/v1/posts/{post_id}", 418, SamplePost());
    EXPECT_THAT(Join(problems), HasSubstr("status 418 is not documented"));
    problems = Spec().CheckResponse("PUT", "/api/v1/posts/{post_id}", 200, SamplePost());
    EXPECT_THAT(Join(problems), HasSubstr("PUT /api/v1/posts/{post_id} is not documented"));
    EXPECT_FALSE(Spec().HasOperation("PUT", "/api/v1/posts/{}"));
    EXPECT_FALSE(Spec().HasOperation("GET", "/api/v1/nothing"));
}

TEST(OpenApiValidator, ChecksFormatsPatternsAndLimits) {
    auto post = SamplePost();
    post["created_at"] = "2026-12-01 09:00:00";
    EXPECT_THAT(Join(Spec().CheckResponse("GET", "/api/v1/posts/{post_id}", 200, post)),
                HasSubstr("at \"/created_at\": \"2026-12-01 09:00:00\" is not an RFC 3339 date-time"));
    post = SamplePost();
    post["id"] = "42";
    EXPECT_THAT(Join(Spec().CheckResponse("GET", "/api/v1/posts/{post_id}", 200, post)),
                HasSubstr("does not match pattern"));

    EXPECT_TRUE(IsRfc3339DateTime("2026-12-01T09:00:00Z"));
    EXPECT_TRUE(IsRfc3339DateTime("2024-02-29T23:59:59.123+01:00"));
    EXPECT_FALSE(IsRfc3339DateTime("2025-02-29T00:00:00Z"));
    EXPECT_FALSE(IsRfc3339DateTime("2026-12-01T09:00Z"));
    EXPECT_FALSE(IsRfc3339DateTime("2026-12-01T09:00:00"));
    EXPECT_FALSE(IsRfc3339DateTime("2026-12-01T24:00:00Z"));

    const nlohmann::json ok = {{"text", "hi"}, {"account_ids", {"0190a1b2c3d4e5f60718293a4c"}}};
    EXPECT_TRUE(Spec().CheckRequestBody("POST", "/api/v1/posts", ok).empty());
    auto none = ok;
    none["account_ids"] = nlohmann::json::array();
    EXPECT_THAT(Join(Spec().CheckRequestBody("POST", "/api/v1/posts", none)), HasSubstr("fewer than 1 items"));
    EXPECT_THAT(Join(Spec().CheckRequestBody("POST", "/api/v1/auth/register",
                                             {{"email", "a@b.c"}, {"password", "short"}, {"name", "A"}})),
                HasSubstr("shorter than 8"));
    EXPECT_THAT(Join(Spec().CheckRequestBody("GET", "/api/v1/posts", ok)), HasSubstr("no request body"));
}

TEST(OpenApiValidator, ChecksBodilessResponses) {
    EXPECT_TRUE(Spec().CheckResponse("DELETE", "/api/v1/posts/{post_id}", 204, nullptr).empty());
    EXPECT_THAT(Join(Spec().CheckResponse("DELETE", "/api/v1/posts/{post_id}", 204, nlohmann::json::object())),
                HasSubstr("documented without a body"));
    EXPECT_THAT(Join(Spec().CheckResponse("GET", "/api/v1/me", 200, nullptr)), HasSubstr("expected object, got null"));
}

TEST(OpenApiValidator, ChecksTheMediaType) {
    const std::string metrics = "# TYPE herald_queue_due_jobs gauge\nherald_queue_due_jobs 0\n";
    EXPECT_TRUE(Spec().CheckResponse("GET", "/metrics", 200, metrics, "text/plain; version=0.0.4").empty());
    // The parameters may differ; the type may not.
    EXPECT_TRUE(Spec().CheckResponse("GET", "/metrics", 200, metrics, "text/plain").empty());
    EXPECT_THAT(Join(Spec().CheckResponse("GET", "/metrics", 200, metrics)),
                HasSubstr("documented content has no application/json entry"));
    EXPECT_THAT(Join(Spec().CheckResponse("GET", "/api/v1/me", 200, "text", "text/plain")),
                HasSubstr("documented content has no text/plain entry"));
    EXPECT_THAT(Join(Spec().CheckResponse("GET", "/metrics", 200, 7, "text/plain; version=0.0.4")),
                HasSubstr("expected string, got integer"));
}

TEST(OpenApiValidator, ChecksOneOfAndConst) {
    const nlohmann::json deleted = {{"type", "post.deleted"}, {"data", {{"id", "0190a1b2c3d4e5f60718293a4b"}}}};
    EXPECT_TRUE(Spec().CheckSchema("Event", deleted).empty()) << Join(Spec().CheckSchema("Event", deleted));
    const nlohmann::json created = {{"type", "post.created"}, {"data", SamplePost()}};
    EXPECT_TRUE(Spec().CheckSchema("Event", created).empty()) << Join(Spec().CheckSchema("Event", created));

    auto wrong = deleted;
    wrong["type"] = "post.exploded";
    EXPECT_THAT(Join(Spec().CheckSchema("Event", wrong)), HasSubstr("matches none of the oneOf alternatives"));
    wrong = created;
    wrong["type"] = "delivery.updated";  // a post is not a delivery event's data
    EXPECT_THAT(Join(Spec().CheckSchema("Event", wrong)), HasSubstr("matches none of the oneOf alternatives"));
    // The explanation comes from the nearest alternative, not from all of them.
    nlohmann::json delivery = {
        {"type", "delivery.updated"},
        {"data", {{"post_id", "0190a1b2c3d4e5f60718293a4b"}, {"delivery", SamplePost()["deliveries"][0]}}}};
    auto problems = Spec().CheckSchema("Event", delivery);
    EXPECT_THAT(Join(problems), HasSubstr("oneOf[2] at \"/data\": required property \"post_status\" is missing"));
    EXPECT_THAT(Join(problems), Not(HasSubstr("oneOf[0]")));
    delivery["data"]["post_status"] = "published";
    EXPECT_TRUE(Spec().CheckSchema("Event", delivery).empty()) << Join(Spec().CheckSchema("Event", delivery));

    EXPECT_THAT(Join(Spec().CheckResponse("GET", "/healthz", 200, {{"status", "fine"}})),
                HasSubstr("expected \"ok\", got \"fine\""));
}

TEST(OpenApiValidator, ReportsWhatItCannotCheck) {
    const OpenApiSpec spec(nlohmann::json::parse(R"({
        "openapi": "3.1.0",
        "paths": {"/x": {"get": {"responses": {
            "200": {"content": {"application/json": {"schema": {"type": "object", "patternProperties": {}}}}},
            "201": {"content": {"application/json": {"schema": {"type": "string", "format": "email"}}}},
            "202": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Missing"}}}}
        }}}}
    })"));
    EXPECT_THAT(Join(spec.CheckResponse("GET", "/x", 200, nlohmann::json::object())), HasSubstr("patternProperties"));
    EXPECT_THAT(Join(spec.CheckResponse("GET", "/x", 201, "a@b.c")), HasSubstr("format \"email\""));
    EXPECT_THAT(Join(spec.CheckResponse("GET", "/x", 202, 1)), HasSubstr("points nowhere"));
    EXPECT_EQ(spec.DanglingRefs().size(), 1u);
}

// ---- the running server -------------------------------------------------------------------

class OpenApiConformance : public ServerFixture {
  protected:
    // Signed media links name this base; the tests fetch their path from the server itself.
    void Configure(core::Config& c) override {
        c.public_base_url = "https://herald.example.test";
        remote_ = std::make_unique<TinyHttpServer>(std::map<std::string, std::string>{{"/card.png", SmallPng()}});
        c.media_fetch_allowed_addresses = "127.0.0.1:" + std::to_string(remote_->port());
        c.oauth_clients = "x=conformance-client:conformance-secret";
    }
    static std::string SmallPng() {
        std::ifstream in(std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media/small.png", std::ios::binary);
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }
    std::unique_ptr<TinyHttpServer> remote_;  // a site to download media from

    // Checks a real answer: the expected status, and a body the document allows for it under the
    // answer's Content-Type (a JSON value for application/json, else the text as a JSON string).
    // Records the operation as exercised when the status is a success.
    nlohmann::json Expect(int status, const std::string& method, const std::string& path_template,
                          const HttpResult& r) {
        EXPECT_EQ(r.status, status) << method << " " << path_template << " answered: " << r.body;
        const auto type = r.headers.find("content-type");
        const std::string media_type = type == r.headers.end() ? "" : type->second;
        const bool json = r.body.empty() || media_type.find("application/json") != std::string::npos;
        EXPECT_TRUE(r.body.empty() || !media_type.empty())
            << method << " " << path_template << " sent a body without a Content-Type";
        const nlohmann::json body = json ? BodyOf(r) : nlohmann::json(r.body);
        auto problems =
            Spec().CheckResponse(method, path_template, r.status, body, json ? "application/json" : media_type);
        EXPECT_TRUE(problems.empty()) << "the answer to " << method << " " << path_template
                                      << " does not conform:" << Join(problems) << "\nbody: " << r.body;
        // A redirect is how the OAuth callback succeeds.
        if (r.status == 101 || (r.status >= 200 && r.status < 400)) exercised_.insert(Key(method, path_template));
        return body;
    }

    // Sends a request whose body the document must accept, then checks the answer.
    nlohmann::json Send(int status, const std::string& method, const std::string& path_template,
                        const std::string& target, const nlohmann::json& body, const std::string& token) {
        auto problems = Spec().CheckRequestBody(method, path_template, body);
        EXPECT_TRUE(problems.empty()) << "the test sends a body the document refuses:" << Join(problems);
        const HttpResult r =
            method == "PATCH" ? client().Patch(target, body, token)
            : method == "PUT"
                ? client().Request("PUT", target, body.dump(),
                                   {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}})
                : client().Post(target, body, token);
        return Expect(status, method, path_template, r);
    }

    // Checks an error answer and its code.
    void ExpectError(int status, const std::string& code, const std::string& method, const std::string& path_template,
                     const HttpResult& r) {
        auto body = Expect(status, method, path_template, r);
        EXPECT_EQ(body["error"].value("code", ""), code) << r.body;
    }

    // A post scheduled for now, sent by the sandbox until it is `status`; returns its id.
    std::string PostThatEndsAs(const TestUser& u, const std::string& account_id, const std::string& status,
                               const std::string& text = "going out now") {
        auto post =
            Send(201, "POST", "/api/v1/posts", "/api/v1/posts",
                 {{"text", text}, {"account_ids", {account_id}}, {"scheduled_at", NowRfc3339()}}, u.access_token);
        const std::string id = post.value("id", "");
        auto last = WaitForPostStatus(u, id, status, std::chrono::seconds(10));
        EXPECT_EQ(last.value("status", ""), status) << last.dump();
        return id;
    }

    // A post scheduled for now, published by the sandbox; returns its id.
    std::string PublishedPost(const TestUser& u, const std::string& account_id) {
        return PostThatEndsAs(u, account_id, "published");
    }

    // A post that the sandbox accepted but never confirmed (its delivery is unconfirmed).
    std::string UnconfirmedPost(const TestUser& u) {
        const std::string account = SandboxAccount(u, {{"mode", "timeout_after_accept"}, {"dedupe", "none"}}, "unsure");
        return PostThatEndsAs(u, account, "unconfirmed", "sent, maybe");
    }

    // The id of the post's first (here: only) delivery.
    std::string DeliveryOf(const TestUser& u, const std::string& post_id) {
        auto post = client().Get("/api/v1/posts/" + post_id, u.access_token).Json();
        EXPECT_EQ(post["deliveries"].size(), 1u) << post.dump();
        return post["deliveries"].empty() ? std::string() : post["deliveries"][0].value("id", "");
    }

    static std::string DeliveryPath(const std::string& post_id, const std::string& delivery_id,
                                    const std::string& action) {
        return "/api/v1/posts/" + post_id + "/deliveries/" + delivery_id + "/" + action;
    }

    std::string DraftPost(const TestUser& u, const std::string& account_id) {
        auto post = Send(201, "POST", "/api/v1/posts", "/api/v1/posts",
                         {{"text", "a draft"}, {"account_ids", {account_id}}}, u.access_token);
        return post.value("id", "");
    }

    std::set<std::string> exercised_;
};

TEST_F(OpenApiConformance, EveryOperationAnswersAsDocumented) {
    Expect(200, "GET", "/healthz", client().Get("/healthz"));
    auto ready = Expect(200, "GET", "/readyz", client().Get("/readyz"));
    EXPECT_EQ(ready.value("status", ""), "ready");
    Expect(200, "GET", "/api/v1/openapi.json", client().Get("/api/v1/openapi.json"));

    // Sessions.
    auto session = Send(201, "POST", "/api/v1/auth/register", "/api/v1/auth/register",
                        {{"email", "Owner@Example.com"}, {"password", "correct horse"}, {"name", "Owner"}}, "");
    EXPECT_EQ(session["user"].value("email", ""), "owner@example.com");
    EXPECT_EQ(session.value("role", ""), "owner");
    session = Send(200, "POST", "/api/v1/auth/login", "/api/v1/auth/login",
                   {{"email", "owner@example.com"}, {"password", "correct horse"}}, "");
    session = Send(200, "POST", "/api/v1/auth/refresh", "/api/v1/auth/refresh",
                   {{"refresh_token", session.value("refresh_token", "")}}, "");
    TestUser u;
    u.access_token = session.value("access_token", "");
    u.refresh_token = session.value("refresh_token", "");
    const std::string& token = u.access_token;
    auto me = Expect(200, "GET", "/api/v1/me", client().Get("/api/v1/me", token));
    EXPECT_EQ(me.value("role", ""), "owner");

    // Personal API tokens.
    auto created = Send(201, "POST", "/api/v1/tokens", "/api/v1/tokens", {{"name", "ci"}}, token);
    const std::string pat = created.value("token", "");
    Expect(200, "GET", "/api/v1/me", client().Get("/api/v1/me", pat));
    auto tokens = Expect(200, "GET", "/api/v1/tokens", client().Get("/api/v1/tokens", token));
    EXPECT_EQ(tokens["items"].size(), 1u);
    Expect(204, "DELETE", "/api/v1/tokens/{token_id}",
           client().Delete("/api/v1/tokens/" + created.value("id", ""), token));

    // Members.
    const TestUser other = Register("Other");
    auto member =
        Send(201, "POST", "/api/v1/members", "/api/v1/members", {{"email", other.email}, {"role", "editor"}}, token);
    EXPECT_EQ(member.value("role", ""), "editor");
    auto members = Expect(200, "GET", "/api/v1/members", client().Get("/api/v1/members", token));
    EXPECT_EQ(members["items"].size(), 2u);

    // Accounts.
    auto account = Send(201, "POST", "/api/v1/accounts", "/api/v1/accounts",
                        {{"platform", "sandbox"},
                         {"name", "Sandbox"},
                         {"settings", {{"mode", "ok"}}},
                         {"credentials", {{"api_key", "k"}}}},
                        token);
    EXPECT_TRUE(account.value("has_credentials", false));
    const std::string account_id = account.value("id", "");
    Expect(200, "GET", "/api/v1/accounts", client().Get("/api/v1/accounts", token));
    Expect(200, "GET", "/api/v1/accounts/{account_id}", client().Get("/api/v1/accounts/" + account_id, token));
    Send(200, "PUT", "/api/v1/accounts/{account_id}/credentials", "/api/v1/accounts/" + account_id + "/credentials",
         {{"credentials", {{"api_key", "k2"}}}}, token);
    // Through a consent page: started, then declined there (no token call, no platform needed).
    auto consent = Send(200, "POST", "/api/v1/accounts/oauth", "/api/v1/accounts/oauth",
                        {{"platform", "x"}, {"name", "On X"}, {"return_to", "/accounts"}}, token);
    const std::string authorize = consent.value("authorize_url", "");
    std::string state = authorize.substr(authorize.find("state=") + 6);
    state = state.substr(0, state.find('&'));
    auto declined = client().Request("GET", "/api/v1/oauth/x/callback?error=access_denied&state=" + state);
    Expect(302, "GET", "/api/v1/oauth/{platform}/callback", declined);

    // Live events: listen before anything changes, so every kind of message arrives.
    WsClient ws;
    const int upgrade = ws.Connect(port(), "/api/v1/events", {{"Authorization", "Bearer " + token}});
    HttpResult upgraded;
    upgraded.status = upgrade;
    Expect(101, "GET", "/api/v1/events", upgraded);

    // Posts: a draft is created, changed and deleted; another goes out.
    const std::string draft = DraftPost(u, account_id);
    auto changed =
        Send(200, "PATCH", "/api/v1/posts/{post_id}", "/api/v1/posts/" + draft,
             {{"text", "a better draft"}, {"local_time", "2031-06-01T09:00"}, {"timezone", "Europe/Berlin"}}, token);
    EXPECT_EQ(changed.value("status", ""), "scheduled");
    EXPECT_EQ(changed.value("scheduled_at", ""), "2031-06-01T07:00:00Z");
    Expect(200, "GET", "/api/v1/posts/{post_id}", client().Get("/api/v1/posts/" + draft, token));
    Expect(204, "DELETE", "/api/v1/posts/{post_id}", client().Delete("/api/v1/posts/" + draft, token));
    const std::string published = PublishedPost(u, account_id);
    DraftPost(u, account_id);

    auto page = Expect(200, "GET", "/api/v1/posts", client().Get("/api/v1/posts?limit=1", token));
    ASSERT_EQ(page["items"].size(), 1u);
    ASSERT_TRUE(page["next_cursor"].is_string());
    page = Expect(200, "GET", "/api/v1/posts",
                  client().Get("/api/v1/posts?limit=1&cursor=" + page["next_cursor"].get<std::string>(), token));
    EXPECT_EQ(page["items"][0].value("id", ""), published);
    page = Expect(200, "GET", "/api/v1/posts",
                  client().Get("/api/v1/posts?status=published&account_id=" + account_id +
                                   "&from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00%2B01:00&limit=200",
                               token));
    ASSERT_EQ(page["items"].size(), 1u);
    EXPECT_TRUE(page["next_cursor"].is_null());

    auto received = Expect(200, "GET", "/api/v1/accounts/{account_id}/sandbox/posts",
                           client().Get("/api/v1/accounts/" + account_id + "/sandbox/posts", token));
    ASSERT_EQ(received["items"].size(), 1u);
    EXPECT_EQ(received["items"][0].value("text", ""), "going out now");

    // Every message conforms to the Event schema; all four kinds came.
    std::set<std::string> kinds;
    bool delivered = false;
    std::set<std::string> updated_posts;  // ids that post.updated announced
    // Reads messages until every kind in `want` has come (and a delivery was published).
    auto listen = [&](const std::set<std::string>& want) {
        for (int i = 0; i < 200; ++i) {
            if (delivered && std::includes(kinds.begin(), kinds.end(), want.begin(), want.end())) return;
            auto message = ws.Read(std::chrono::seconds(10));
            if (!message) return;
            auto event = nlohmann::json::parse(*message, nullptr, false);
            auto problems = Spec().CheckSchema("Event", event);
            EXPECT_TRUE(problems.empty()) << "event does not conform:" << Join(problems) << "\n" << *message;
            kinds.insert(event.value("type", ""));
            if (event.value("type", "") == "post.updated") updated_posts.insert(event["data"].value("id", ""));
            if (event.value("type", "") == "delivery.updated" &&
                event["data"]["delivery"].value("status", "") == "published") {
                delivered = true;
            }
        }
    };
    const std::set<std::string> post_kinds = {"post.created", "post.updated", "post.deleted", "delivery.updated"};
    listen(post_kinds);
    EXPECT_EQ(kinds, post_kinds);
    EXPECT_TRUE(delivered);

    // What the queue could not finish, a person resolves. An unconfirmed delivery is retried (no
    // body at all), goes unconfirmed again, and is then marked published by hand.
    const std::string unsure = UnconfirmedPost(u);
    const std::string unsure_delivery = DeliveryOf(u, unsure);
    auto retried = Expect(200, "POST", kRetry,
                          client().Request("POST", DeliveryPath(unsure, unsure_delivery, "retry"), "",
                                           {{"Authorization", "Bearer " + token}}));
    EXPECT_EQ(retried.value("status", ""), "scheduled");
    ASSERT_EQ(retried["deliveries"].size(), 1u);
    EXPECT_EQ(retried["deliveries"][0].value("status", ""), "scheduled");
    EXPECT_TRUE(retried["deliveries"][0]["next_attempt_at"].is_null());
    EXPECT_TRUE(retried["deliveries"][0]["error"].is_null());
    auto again = WaitForPostStatus(u, unsure, "unconfirmed", std::chrono::seconds(10));
    EXPECT_EQ(again.value("status", ""), "unconfirmed") << again.dump();
    auto marked = Send(200, "POST", kMarkPublished, DeliveryPath(unsure, unsure_delivery, "mark-published"),
                       {{"url", "https://sandbox.herald.invalid/found/it"}, {"remote_id", "r-found"}}, token);
    EXPECT_EQ(marked.value("status", ""), "published");
    ASSERT_EQ(marked["deliveries"].size(), 1u);
    EXPECT_EQ(marked["deliveries"][0].value("status", ""), "published");
    EXPECT_EQ(marked["deliveries"][0].value("url", ""), "https://sandbox.herald.invalid/found/it");
    EXPECT_EQ(marked["deliveries"][0].value("remote_id", ""), "r-found");
    EXPECT_TRUE(marked["deliveries"][0]["published_at"].is_string());
    // The retry really sent it again: this sandbox account does not deduplicate.
    const std::string unsure_account = marked["account_ids"].empty() ? "" : marked["account_ids"][0].get<std::string>();
    received = Expect(200, "GET", "/api/v1/accounts/{account_id}/sandbox/posts",
                      client().Get("/api/v1/accounts/" + unsure_account + "/sandbox/posts", token));
    EXPECT_EQ(received["items"].size(), 2u) << received.dump();

    // A failed delivery is retried with an empty object for a body.
    const std::string strict = SandboxAccount(u, {{"mode", "reject"}}, "strict");
    const std::string refused = PostThatEndsAs(u, strict, "failed", "refused");
    retried = Send(200, "POST", kRetry, DeliveryPath(refused, DeliveryOf(u, refused), "retry"),
                   nlohmann::json::object(), token);
    ASSERT_EQ(retried["deliveries"].size(), 1u);
    EXPECT_EQ(retried["deliveries"][0].value("status", ""), "scheduled");

    // Many posts at once: a draft, and one scheduled far ahead whose publish job waits.
    const nlohmann::json bulk_posts = nlohmann::json::array(
        {{{"text", "bulk draft"}, {"account_ids", {account_id}}},
         {{"text", "bulk later"}, {"account_ids", {account_id}}, {"scheduled_at", "2031-06-01T09:00:00Z"}}});
    auto bulk = Send(201, "POST", kBulk, kBulk, {{"posts", bulk_posts}}, token);
    EXPECT_EQ(bulk.value("count", 0), 2);
    ASSERT_EQ(bulk["items"].size(), 2u);
    const std::string bulk_draft = bulk["items"][0].value("id", "");
    const std::string bulk_later = bulk["items"][1].value("id", "");
    EXPECT_EQ(bulk["items"][1].value("status", ""), "scheduled");

    // The queue: pausing the account holds the waiting job back until it is resumed.
    auto pause =
        Send(200, "POST", kPause, kPause, {{"account_id", account_id}, {"reason", "checking the copy"}}, token);
    EXPECT_EQ(pause.value("scope", ""), "account");
    EXPECT_EQ(pause.value("jobs_paused", -1), 1);
    auto pauses = Expect(200, "GET", "/api/v1/queue/pauses", client().Get("/api/v1/queue/pauses", token));
    ASSERT_EQ(pauses["items"].size(), 1u);
    EXPECT_EQ(pauses["items"][0].value("reason", ""), "checking the copy");
    auto stats = Expect(200, "GET", "/api/v1/queue/stats", client().Get("/api/v1/queue/stats", token));
    EXPECT_EQ(stats["jobs"].value("paused", -1), 1);
    auto jobs = Expect(
        200, "GET", kJobs,
        client().Get("/api/v1/queue/jobs?state=paused&kind=publish&platform=sandbox&limit=200&account_id=" + account_id,
                     token));
    ASSERT_EQ(jobs["items"].size(), 1u);
    EXPECT_EQ(jobs["items"][0].value("post_id", ""), bulk_later);
    EXPECT_TRUE(jobs["next_cursor"].is_null());
    const std::string later_job = jobs["items"][0].value("id", "");
    auto job = Expect(200, "GET", kJob, client().Get("/api/v1/queue/jobs/" + later_job, token));
    EXPECT_EQ(job.value("state", ""), "paused");
    // The plan: the paused job keeps its place but has no time until the pause is lifted.
    auto plan = Expect(200, "GET", kPlan, client().Get(std::string(kPlan) + "?account=" + account_id, token));
    ASSERT_FALSE(plan["items"].empty()) << plan.dump();
    EXPECT_TRUE(plan["items"].back()["eta"].is_null());
    EXPECT_THAT(plan["items"].back().value("reason", ""), HasSubstr("paused"));

    // Posting limits: the platforms' caps, and the workspace lowering one of them.
    auto limits = Expect(200, "GET", kLimits, client().Get(kLimits, token));
    EXPECT_EQ(limits["platforms"]["tiktok"]["post"].value("per_day", 0), 10);
    EXPECT_TRUE(limits["workspace"]["warmup"].value("enabled", false));
    auto lowered =
        Send(200, "PUT", kLimits, kLimits,
             {{"limits", {{"tiktok", {{"post", {{"per_day", 6}}}}}}}, {"warmup", {{"phase1_days", 14}}}}, token);
    EXPECT_EQ(lowered["workspace"]["limits"]["tiktok"]["post"].value("per_day", 0), 6);
    EXPECT_EQ(lowered["workspace"]["warmup"].value("phase1_days", 0), 14);
    EXPECT_EQ(lowered["workspace"]["warmup"].value("phase2_days", 0), 60);

    // A posting schedule, and a post added to the queue: it takes the first free slot.
    const std::string schedule_path = "/api/v1/accounts/" + account_id + "/schedule";
    auto none = Expect(200, "GET", kSchedule, client().Get(schedule_path, token));
    EXPECT_TRUE(none["timezone"].is_null());
    auto schedule = Send(200, "PUT", kSchedule, schedule_path,
                         {{"timezone", "America/New_York"},
                          {"slots", {{{"days", {"mon", "tue", "wed", "thu", "fri"}}, {"times", {"09:00", "17:30"}}}}}},
                         token);
    ASSERT_EQ(schedule["next_free_slots"].size(), 10u) << schedule.dump();
    const std::string first_slot = schedule["next_free_slots"][0].get<std::string>();
    auto queued = Send(201, "POST", "/api/v1/posts", "/api/v1/posts",
                       {{"text", "into the queue"}, {"account_ids", {account_id}}, {"queue", true}}, token);
    EXPECT_EQ(queued.value("scheduled_at", ""), first_slot);
    EXPECT_EQ(queued.value("timezone", ""), "America/New_York");
    auto after = Expect(200, "GET", kSchedule, client().Get(schedule_path, token));
    EXPECT_NE(after["next_free_slots"][0].get<std::string>(), first_slot);
    auto resumed = Send(200, "POST", kResume, kResume, {{"account_id", account_id}}, token);
    EXPECT_EQ(resumed.value("jobs_resumed", -1), 2);  // the bulk post, and the queued one (paused when created)
    // Pages of live jobs, and the finished ones from the history.
    auto page1 = Expect(200, "GET", kJobs, client().Get("/api/v1/queue/jobs?limit=1", token));
    ASSERT_EQ(page1["items"].size(), 1u);
    ASSERT_TRUE(page1["next_cursor"].is_string());
    auto page2 =
        Expect(200, "GET", kJobs,
               client().Get("/api/v1/queue/jobs?limit=1&cursor=" + page1["next_cursor"].get<std::string>(), token));
    ASSERT_EQ(page2["items"].size(), 1u);
    EXPECT_LT(page2["items"][0].value("id", ""), page1["items"][0].value("id", ""));
    auto done = Expect(200, "GET", kJobs, client().Get("/api/v1/queue/jobs?state=done", token));
    EXPECT_FALSE(done["items"].empty());

    // A dead job (its delivery refused for good) is requeued; the waiting one is cancelled.
    const std::string refused_again = PostThatEndsAs(u, strict, "failed", "refused again");
    auto dead = Expect(200, "GET", kJobs, client().Get("/api/v1/queue/jobs?state=dead&account_id=" + strict, token));
    std::string dead_job;
    for (const auto& j : dead["items"]) {
        if (j.value("post_id", "") == refused_again) dead_job = j.value("id", "");
    }
    ASSERT_FALSE(dead_job.empty()) << dead.dump();
    auto requeued =
        Send(200, "POST", kRequeue, "/api/v1/queue/jobs/" + dead_job + "/requeue", nlohmann::json::object(), token);
    EXPECT_EQ(requeued.value("state", ""), "pending");
    EXPECT_EQ(requeued.value("attempts", -1), 0);
    auto cancelled = Expect(200, "POST", kCancelJob,
                            client().Request("POST", "/api/v1/queue/jobs/" + later_job + "/cancel", "",
                                             {{"Authorization", "Bearer " + token}}));
    EXPECT_EQ(cancelled.value("state", ""), "done");
    EXPECT_EQ(cancelled.value("outcome", ""), "cancelled");
    EXPECT_EQ(client().Get("/api/v1/posts/" + bulk_later, token).Json().value("status", ""), "cancelled");

    // Cancelling a whole post, and one delivery of another.
    auto cancelled_post =
        Send(200, "POST", kCancelPost, "/api/v1/posts/" + bulk_draft + "/cancel", nlohmann::json::object(), token);
    EXPECT_EQ(cancelled_post.value("status", ""), "cancelled");
    const std::string another = DraftPost(u, account_id);
    auto cancelled_delivery = Expect(200, "POST", kCancelDelivery,
                                     client().Request("POST", DeliveryPath(another, DeliveryOf(u, another), "cancel"),
                                                      "", {{"Authorization", "Bearer " + token}}));
    ASSERT_EQ(cancelled_delivery["deliveries"].size(), 1u);
    EXPECT_EQ(cancelled_delivery["deliveries"][0].value("status", ""), "cancelled");

    // The media library: a multipart upload (the validator checks answers, not multipart bodies).
    {
        std::ifstream in(std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media/small.png", std::ios::binary);
        const std::string png((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const std::string form =
            "--b0und\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n\r\n" + png +
            "\r\n--b0und\r\nContent-Disposition: form-data; name=\"alt_text\"\r\n\r\nA test "
            "card\r\n--b0und--\r\n";
        auto uploaded = Expect(201, "POST", "/api/v1/media",
                               client().Request("POST", "/api/v1/media", form,
                                                {{"Authorization", "Bearer " + token},
                                                 {"Content-Type", "multipart/form-data; boundary=b0und"}}));
        ASSERT_EQ(uploaded["items"].size(), 1u);
        const std::string media_id = uploaded["items"][0].value("id", "");
        Send(201, "POST", "/api/v1/media/from-url", "/api/v1/media/from-url",
             {{"url", remote_->Url("/card.png")}, {"alt_text", "A card"}}, token);
        Expect(200, "GET", "/api/v1/media", client().Get("/api/v1/media?kind=image&limit=10", token));
        Expect(200, "GET", "/api/v1/media/{media_id}", client().Get("/api/v1/media/" + media_id, token));
        Send(200, "PATCH", "/api/v1/media/{media_id}", "/api/v1/media/" + media_id, {{"alt_text", "A card"}}, token);
        {
            std::ifstream noise_in(std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media/noise.png",
                                   std::ios::binary);
            const std::string noise((std::istreambuf_iterator<char>(noise_in)), std::istreambuf_iterator<char>());
            const std::string big_form =
                "--b0und\r\nContent-Disposition: form-data; name=\"files\"; filename=\"noise.png\"\r\n\r\n" + noise +
                "\r\n--b0und--\r\n";
            auto big = client().Request(
                "POST", "/api/v1/media", big_form,
                {{"Authorization", "Bearer " + token}, {"Content-Type", "multipart/form-data; boundary=b0und"}});
            ASSERT_EQ(big.status, 201) << big.body;
            const std::string big_id = big.Json()["items"][0].value("id", "");
            Send(201, "POST", "/api/v1/media/{media_id}/convert", "/api/v1/media/" + big_id + "/convert",
                 {{"platform", "sandbox"}}, token);
        }
        Expect(200, "GET", "/api/v1/media/{media_id}/thumbnail",
               client().Get("/api/v1/media/" + media_id + "/thumbnail", token));
        // The signed public link, without a token (the fixture's public_base_url is this server).
        const std::string link = uploaded["items"][0].value("public_url", "");
        ASSERT_EQ(link.rfind(config_.public_base_url + "/api/v1/public/media/", 0), 0u) << link;
        auto file = client().Get(link.substr(config_.public_base_url.size()));
        Expect(200, "GET", "/api/v1/public/media/{file}", file);
        EXPECT_EQ(file.body, png);
        std::string forged = link.substr(config_.public_base_url.size());
        forged.back() = forged.back() == '0' ? '1' : '0';
        ExpectError(403, "permission_denied", "GET", "/api/v1/public/media/{file}", client().Get(forged));
        Expect(204, "DELETE", "/api/v1/media/{media_id}", client().Delete("/api/v1/media/" + media_id, token));
        ExpectError(404, "not_found", "GET", "/api/v1/media/{media_id}",
                    client().Get("/api/v1/media/" + media_id, token));
    }

    // The platforms' rules, as the server checks them.
    auto platforms = Expect(200, "GET", "/api/v1/platforms", client().Get("/api/v1/platforms", token));
    std::map<std::string, nlohmann::json> by_name;
    for (const auto& item : platforms["items"]) by_name[item.value("name", "")] = item;
    for (const char* name : {"bluesky", "discord", "mastodon", "nostr", "sandbox", "telegram"}) {
        EXPECT_TRUE(by_name.count(name)) << name;
    }
    EXPECT_EQ(by_name["bluesky"]["text"].value("counted_in", ""), "graphemes");
    EXPECT_EQ(by_name["bluesky"]["text"].value("max_bytes", 0), 3000);
    EXPECT_EQ(by_name["mastodon"]["text"].value("counted_in", ""), "graphemes_links_23");
    EXPECT_EQ(by_name["nostr"]["media"].value("pulls_from_url", false), true);
    EXPECT_EQ(by_name["discord"].value("max_thread_replies", -1), 0);
    EXPECT_EQ(by_name["sandbox"]["media"].value("max_images", 0), 4);
    EXPECT_TRUE(by_name["sandbox"]["text"]["max_bytes"].is_null());
    EXPECT_EQ(platforms["uploads"].value("public_links", false), true);

    // Prometheus metrics: open, plain text.
    auto metrics = Expect(200, "GET", "/metrics", client().Get("/metrics"));
    EXPECT_THAT(metrics.get<std::string>(), HasSubstr("herald_queue_jobs{state=\"pending\"}"));
    EXPECT_THAT(metrics.get<std::string>(),
                HasSubstr("herald_publish_outcomes_total{platform=\"sandbox\",status=\"published\"}"));

    // The queue's changes came as events too.
    listen({"post.bulk_created", "queue.paused", "queue.resumed", "job.requeued", "job.cancelled"});
    for (const char* kind : {"post.bulk_created", "queue.paused", "queue.resumed", "job.requeued", "job.cancelled"}) {
        EXPECT_TRUE(kinds.count(kind)) << kind << " did not come";
    }
    // Requeueing changed the post (its delivery is scheduled again), and said so before the
    // job was cancelled.
    EXPECT_TRUE(updated_posts.count(refused_again)) << "no post.updated for the requeued job's post";

    Send(204, "POST", "/api/v1/auth/logout", "/api/v1/auth/logout", {{"refresh_token", u.refresh_token}}, "");

    for (const auto& op : Spec().Operations()) {
        const auto space = op.find(' ');
        EXPECT_TRUE(exercised_.count(Key(op.substr(0, space), op.substr(space + 1))))
            << op << " was not exercised with a success status";
    }
}

TEST_F(OpenApiConformance, ServesTheDocumentOnDisk) {
    auto served = Expect(200, "GET", "/api/v1/openapi.json", client().Get("/api/v1/openapi.json"));
    // Not EXPECT_EQ: printing two 60 kB documents would hide the message.
    EXPECT_TRUE(served == Spec().document()) << "the binary serves a different document than " << HERALD_OPENAPI_PATH
                                             << "; the embedded copy is stale (re-run cmake)";
}

TEST_F(OpenApiConformance, AuthErrorsConform) {
    const TestUser u = Register();
    const std::string reg = "/api/v1/auth/register";
    ExpectError(400, "invalid_argument", "POST", reg,
                client().Post(reg, {{"email", "a@example.com"}, {"password", "short"}, {"name", "A"}}));
    ExpectError(
        400, "invalid_argument", "POST", reg,
        client().Post(reg, {{"email", "a@example.com"}, {"password", "correct horse"}, {"name", "A"}, {"x", 1}}));
    ExpectError(400, "invalid_argument", "POST", reg, client().Request("POST", reg, "{\"email\":"));
    ExpectError(400, "invalid_argument", "POST", reg, client().Request("POST", reg, "[1]"));
    ExpectError(409, "already_exists", "POST", reg,
                client().Post(reg, {{"email", u.email}, {"password", "correct horse"}, {"name", "Again"}}));

    const std::string login = "/api/v1/auth/login";
    ExpectError(401, "unauthenticated", "POST", login,
                client().Post(login, {{"email", u.email}, {"password", "wrong horse"}}));
    ExpectError(400, "invalid_argument", "POST", login, client().Post(login, {{"email", u.email}, {"password", 7}}));

    const std::string refresh = "/api/v1/auth/refresh";
    auto next = Expect(200, "POST", refresh, client().Post(refresh, {{"refresh_token", u.refresh_token}}));
    // The old refresh token is used up; replaying it is refused (and revokes the family).
    ExpectError(401, "unauthenticated", "POST", refresh, client().Post(refresh, {{"refresh_token", u.refresh_token}}));
    ExpectError(401, "unauthenticated", "POST", refresh, client().Post(refresh, {{"refresh_token", "hrt_nonsense"}}));
    ExpectError(400, "invalid_argument", "POST", refresh, client().Post(refresh, nlohmann::json::object()));

    const std::string logout = "/api/v1/auth/logout";
    ExpectError(401, "unauthenticated", "POST", logout, client().Post(logout, {{"refresh_token", "hrt_nonsense"}}));
    ExpectError(400, "invalid_argument", "POST", logout, client().Post(logout, {{"refresh_token", nullptr}}));
    Expect(204, "POST", logout, client().Post(logout, {{"refresh_token", next.value("refresh_token", "")}}));
}

TEST_F(OpenApiConformance, MissingOrBadTokensGet401) {
    const TestUser u = Register();
    int checked = 0;
    for (const auto& r : kRoutes) {
        if (r.open || r.pattern == "/api/v1/events") continue;
        const std::string target = Fill(r.pattern, kUnknownId);
        const std::string body = (r.method == "POST" || r.method == "PATCH") ? "{}" : "";
        for (const std::string& header : {std::string(), std::string("Bearer not-a-token"),
                                          std::string("Bearer hpat_not-a-token"), std::string("Basic abc")}) {
            std::map<std::string, std::string> headers;
            if (!header.empty()) headers["Authorization"] = header;
            auto res = client().Request(r.method, target, body, headers);
            ExpectError(401, "unauthenticated", r.method, r.pattern, res);
            EXPECT_EQ(res.headers["www-authenticate"], "Bearer") << r.method << " " << target;
            ++checked;
        }
    }
    EXPECT_EQ(checked, 44 * 4);

    // A revoked API token stops working at once.
    auto created =
        Expect(201, "POST", "/api/v1/tokens", client().Post("/api/v1/tokens", {{"name", "t"}}, u.access_token));
    const std::string pat = created.value("token", "");
    Expect(200, "GET", "/api/v1/me", client().Get("/api/v1/me", pat));
    Expect(204, "DELETE", "/api/v1/tokens/{token_id}",
           client().Delete("/api/v1/tokens/" + created.value("id", ""), u.access_token));
    ExpectError(401, "unauthenticated", "GET", "/api/v1/me", client().Get("/api/v1/me", pat));
    auto tokens = Expect(200, "GET", "/api/v1/tokens", client().Get("/api/v1/tokens", u.access_token));
    ASSERT_EQ(tokens["items"].size(), 1u);
    EXPECT_TRUE(tokens["items"][0].value("revoked", false));
}

TEST_F(OpenApiConformance, AnotherWorkspacesThingsAreNotFound) {
    const TestUser owner = Register("Owner");
    const TestUser stranger = Register("Stranger");
    const std::string account = SandboxAccount(owner);
    const std::string post = DraftPost(owner, account);
    auto created = Expect(201, "POST", "/api/v1/tokens",
                          client().Post("/api/v1/tokens", {{"name", "owner's"}}, owner.access_token));
    const std::string& t = stranger.access_token;

    ExpectError(404, "not_found", "GET", "/api/v1/accounts/{account_id}",
                client().Get("/api/v1/accounts/" + account, t));
    ExpectError(404, "not_found", "GET", "/api/v1/accounts/{account_id}/sandbox/posts",
                client().Get("/api/v1/accounts/" + account + "/sandbox/posts", t));
    ExpectError(404, "not_found", "GET", "/api/v1/posts/{post_id}", client().Get("/api/v1/posts/" + post, t));
    ExpectError(404, "not_found", "PATCH", "/api/v1/posts/{post_id}",
                client().Patch("/api/v1/posts/" + post, {{"text", "mine now"}}, t));
    ExpectError(404, "not_found", "DELETE", "/api/v1/posts/{post_id}", client().Delete("/api/v1/posts/" + post, t));
    ExpectError(404, "not_found", "DELETE", "/api/v1/tokens/{token_id}",
                client().Delete("/api/v1/tokens/" + created.value("id", ""), t));
    const std::string delivery = DeliveryOf(owner, post);
    const nlohmann::json url = {{"url", "https://example.com/p/1"}};
    ExpectError(404, "not_found", "POST", kRetry,
                client().Post(DeliveryPath(post, delivery, "retry"), nlohmann::json::object(), t));
    ExpectError(404, "not_found", "POST", kMarkPublished,
                client().Post(DeliveryPath(post, delivery, "mark-published"), url, t));
    // Nor is a delivery the post does not have, in the caller's own workspace.
    ExpectError(404, "not_found", "POST", kRetry,
                client().Post(DeliveryPath(post, kUnknownId, "retry"), nlohmann::json::object(), owner.access_token));
    ExpectError(404, "not_found", "POST", kMarkPublished,
                client().Post(DeliveryPath(post, kUnknownId, "mark-published"), url, owner.access_token));
    ExpectError(404, "not_found", "POST", kCancelPost,
                client().Post("/api/v1/posts/" + post + "/cancel", nlohmann::json::object(), t));
    ExpectError(404, "not_found", "POST", kCancelDelivery,
                client().Post(DeliveryPath(post, delivery, "cancel"), nlohmann::json::object(), t));
    ExpectError(404, "not_found", "POST", kCancelDelivery,
                client().Post(DeliveryPath(post, kUnknownId, "cancel"), nlohmann::json::object(), owner.access_token));

    // The owner's scheduled post has a job; the stranger cannot see or touch it.
    auto scheduled = Send(201, "POST", "/api/v1/posts", "/api/v1/posts",
                          {{"text", "later"}, {"account_ids", {account}}, {"scheduled_at", "2030-06-01T09:00:00Z"}},
                          owner.access_token);
    auto jobs = Expect(200, "GET", kJobs, client().Get("/api/v1/queue/jobs", owner.access_token));
    ASSERT_EQ(jobs["items"].size(), 1u);
    const std::string job = jobs["items"][0].value("id", "");
    ExpectError(404, "not_found", "GET", kJob, client().Get("/api/v1/queue/jobs/" + job, t));
    ExpectError(404, "not_found", "POST", kRequeue,
                client().Post("/api/v1/queue/jobs/" + job + "/requeue", nlohmann::json::object(), t));
    ExpectError(404, "not_found", "POST", kCancelJob,
                client().Post("/api/v1/queue/jobs/" + job + "/cancel", nlohmann::json::object(), t));
    ExpectError(404, "not_found", "GET", kJob, client().Get(std::string("/api/v1/queue/jobs/") + kUnknownId, t));
    EXPECT_TRUE(Expect(200, "GET", kJobs, client().Get("/api/v1/queue/jobs", t))["items"].empty());
    auto stats = Expect(200, "GET", "/api/v1/queue/stats", client().Get("/api/v1/queue/stats", t));
    EXPECT_EQ(stats["jobs"].value("pending", -1), 0);
    // Resuming what is not paused, and pausing another workspace's account.
    ExpectError(404, "not_found", "POST", kResume, client().Post(kResume, nlohmann::json::object(), t));
    auto body = Expect(400, "POST", kPause, client().Post(kPause, {{"account_id", account}}, t));
    EXPECT_EQ(body["error"]["details"].value("rule", ""), "existing_account");
    ExpectError(404, "not_found", "GET", kPlan, client().Get(std::string(kPlan) + "?account=" + account, t));
    ExpectError(404, "not_found", "GET", kSchedule, client().Get("/api/v1/accounts/" + account + "/schedule", t));
    EXPECT_TRUE(Expect(200, "GET", kPlan, client().Get(kPlan, t))["items"].empty());
    // Nothing leaked: the owner's things are intact.
    Expect(200, "GET", "/api/v1/posts/{post_id}", client().Get("/api/v1/posts/" + post, owner.access_token));
    auto still = Expect(200, "GET", kJob, client().Get("/api/v1/queue/jobs/" + job, owner.access_token));
    EXPECT_EQ(still.value("state", ""), "pending");
    EXPECT_EQ(still.value("post_id", ""), scheduled.value("id", ""));
    auto page = Expect(200, "GET", "/api/v1/posts", client().Get("/api/v1/posts", t));
    EXPECT_TRUE(page["items"].empty());

    // A path no route has: the same error shape.
    auto nowhere = client().Get("/api/v1/nowhere", t);
    EXPECT_EQ(nowhere.status, 404);
    EXPECT_TRUE(Spec().CheckNamedResponse("NotFound", BodyOf(nowhere)).empty()) << nowhere.body;
}

TEST_F(OpenApiConformance, ValidationErrorsGet400) {
    const TestUser u = Register();
    const std::string& t = u.access_token;
    const std::string account = SandboxAccount(u);
    auto field_of = [](const nlohmann::json& body) { return body["error"]["details"].value("field", ""); };
    auto rule_of = [](const nlohmann::json& body) { return body["error"]["details"].value("rule", ""); };

    // Posts.
    auto body = Expect(400, "POST", "/api/v1/posts",
                       client().Post("/api/v1/posts", {{"text", "x"}, {"account_ids", nlohmann::json::array()}}, t));
    EXPECT_EQ(field_of(body), "account_ids");
    body = Expect(400, "POST", "/api/v1/posts",
                  client().Post("/api/v1/posts", {{"text", 5}, {"account_ids", {account}}}, t));
    EXPECT_EQ(field_of(body), "text");
    body = Expect(400, "POST", "/api/v1/posts",
                  client().Post("/api/v1/posts", {{"text", "x"}, {"account_ids", {account}}, {"when", "now"}}, t));
    EXPECT_EQ(body["error"]["details"].value("rule", ""), "unknown_field");
    body =
        Expect(400, "POST", "/api/v1/posts",
               client().Post("/api/v1/posts",
                             {{"text", "x"}, {"account_ids", {account}}, {"scheduled_at", "2000-01-01T00:00:00Z"}}, t));
    EXPECT_EQ(body["error"]["details"].value("rule", ""), "not_in_past");
    body = Expect(400, "POST", "/api/v1/posts",
                  client().Post("/api/v1/posts", {{"text", "x"}, {"account_ids", {kUnknownId}}}, t));
    EXPECT_EQ(field_of(body), "account_ids[0]");
    // Threads: at most 25 replies, each a non-empty text within the platform's limit, and
    // never more replies at once than the account may post in an hour (the workspace's caps).
    body = Expect(
        400, "POST", "/api/v1/posts",
        client().Post("/api/v1/posts",
                      {{"text", "x"}, {"account_ids", {account}}, {"thread", std::vector<std::string>(26, "r")}}, t));
    EXPECT_EQ(field_of(body), "thread");
    EXPECT_EQ(rule_of(body), "max_items");
    body =
        Expect(400, "POST", "/api/v1/posts",
               client().Post("/api/v1/posts", {{"text", "x"}, {"account_ids", {account}}, {"thread", {"ok", ""}}}, t));
    EXPECT_EQ(field_of(body), "thread[1]");
    body = Expect(400, "POST", "/api/v1/posts",
                  client().Post("/api/v1/posts", {{"text", "x"}, {"account_ids", {account}}, {"first_comment", 7}}, t));
    EXPECT_EQ(field_of(body), "first_comment");
    Send(200, "PUT", kLimits, kLimits, {{"limits", {{"sandbox", {{"reply", {{"per_hour", 2}}}}}}}}, t);
    body = Expect(
        400, "POST", "/api/v1/posts",
        client().Post("/api/v1/posts", {{"text", "x"}, {"account_ids", {account}}, {"thread", {"a", "b", "c"}}}, t));
    EXPECT_EQ(field_of(body), "thread");
    EXPECT_EQ(rule_of(body), "within_limits");
    EXPECT_THAT(body["error"]["message"].get<std::string>(), HasSubstr("at most 1 reply an hour"));
    auto threaded = Expect(
        201, "POST", "/api/v1/posts",
        client().Post("/api/v1/posts",
                      {{"text", "x"}, {"account_ids", {account}}, {"thread", {"a"}}, {"first_comment", "first!"}}, t));
    EXPECT_EQ(threaded["thread"], nlohmann::json({"a"}));
    EXPECT_EQ(threaded["first_comment"], "first!");
    // The account shows its limit for every action: replies lowered to 2 an hour, halved in warm-up.
    auto limited = Expect(200, "GET", "/api/v1/accounts/{account_id}", client().Get("/api/v1/accounts/" + account, t));
    const auto& reply = limited["limits"]["actions"]["reply"];
    EXPECT_EQ(reply["workspace"].value("per_hour", 0), 2) << limited.dump();
    EXPECT_EQ(reply["limit"].value("per_hour", 0), 1) << limited.dump();
    EXPECT_TRUE(limited["limits"]["actions"]["comment"]["limit"]["per_hour"].is_null());
    Send(200, "PUT", kLimits, kLimits, {{"limits", nlohmann::json::object()}}, t);
    const std::string draft = DraftPost(u, account);
    body = Expect(400, "PATCH", "/api/v1/posts/{post_id}",
                  client().Patch("/api/v1/posts/" + draft, {{"scheduled_at", "tomorrow"}}, t));
    EXPECT_EQ(field_of(body), "scheduled_at");
    Expect(400, "PATCH", "/api/v1/posts/{post_id}", client().Patch("/api/v1/posts/" + draft, {{"colour", "red"}}, t));
    Expect(400, "GET", "/api/v1/posts/{post_id}", client().Get("/api/v1/posts/%zz", t));

    // The post list's query parameters.
    for (const std::string query : {"limit=0", "limit=201", "limit=ten", "status=posted", "cursor=abc",
                                    "from=yesterday", "to=2026-12-01", "colour=red"}) {
        Expect(400, "GET", "/api/v1/posts", client().Get("/api/v1/posts?" + query, t));
    }
    // A broken %-escape in the query string, in a value or in a name.
    for (const std::string query : {"status=%zz", "limit=1&%G0=x", "cursor=%"}) {
        body = Expect(400, "GET", "/api/v1/posts", client().Get("/api/v1/posts?" + query, t));
        EXPECT_EQ(rule_of(body), "percent_encoding") << query;
    }

    // Resolving a delivery: the body is checked before the delivery's state.
    const std::string delivery = DeliveryOf(u, draft);
    const std::string mark = DeliveryPath(draft, delivery, "mark-published");
    body = Expect(400, "POST", kMarkPublished, client().Post(mark, {{"remote_id", "r1"}}, t));
    EXPECT_EQ(field_of(body), "url");
    EXPECT_EQ(rule_of(body), "required");
    for (const std::string& url : {std::string("ftp://example.com/p/1"), std::string("example.com/p/1"),
                                   "https://example.com/" + std::string(2048, 'p')}) {
        body = Expect(400, "POST", kMarkPublished, client().Post(mark, {{"url", url}}, t));
        EXPECT_EQ(field_of(body), "url");
        EXPECT_EQ(rule_of(body), "http_url") << url;
    }
    body = Expect(400, "POST", kMarkPublished, client().Post(mark, {{"url", 7}}, t));
    EXPECT_EQ(rule_of(body), "type");
    body = Expect(400, "POST", kMarkPublished,
                  client().Post(mark, {{"url", "https://example.com/p/1"}, {"pinned", true}}, t));
    EXPECT_EQ(rule_of(body), "unknown_field");
    body = Expect(400, "POST", kMarkPublished, client().Request("POST", mark, "", {{"Authorization", "Bearer " + t}}));
    EXPECT_EQ(rule_of(body), "json");
    const std::string retry = DeliveryPath(draft, delivery, "retry");
    body = Expect(400, "POST", kRetry, client().Post(retry, {{"force", true}}, t));
    EXPECT_EQ(field_of(body), "force");
    EXPECT_EQ(rule_of(body), "unknown_field");
    body = Expect(400, "POST", kRetry, client().Request("POST", retry, "{", {{"Authorization", "Bearer " + t}}));
    EXPECT_EQ(rule_of(body), "json");
    body = Expect(400, "POST", kRetry, client().Request("POST", retry, "[]", {{"Authorization", "Bearer " + t}}));
    EXPECT_EQ(rule_of(body), "json_object");

    // Accounts, tokens, members.
    body = Expect(400, "POST", "/api/v1/accounts",
                  client().Post("/api/v1/accounts", {{"platform", "myspace"}, {"name", "old"}}, t));
    EXPECT_EQ(field_of(body), "platform");
    body = Expect(400, "POST", "/api/v1/accounts",
                  client().Post("/api/v1/accounts",
                                {{"platform", "sandbox"}, {"name", "s"}, {"settings", {{"mode", "odd"}}}}, t));
    EXPECT_EQ(field_of(body), "settings.mode");
    Expect(400, "POST", "/api/v1/tokens", client().Post("/api/v1/tokens", {{"name", ""}}, t));
    const TestUser other = Register();
    body = Expect(400, "POST", "/api/v1/members",
                  client().Post("/api/v1/members", {{"email", other.email}, {"role", "boss"}}, t));
    EXPECT_EQ(field_of(body), "role");
    body = Expect(400, "POST", "/api/v1/members",
                  client().Post("/api/v1/members", {{"email", "nobody@example.com"}, {"role", "viewer"}}, t));
    EXPECT_EQ(body["error"]["details"].value("rule", ""), "registered_user");

    // Bulk: one bad item refuses the lot, and errors names it.
    const nlohmann::json good = {{"text", "fine"}, {"account_ids", {account}}};
    const nlohmann::json unknown_account = {{"text", "fine"}, {"account_ids", {kUnknownId}}};
    const size_t posts_before = client().Get("/api/v1/posts?limit=200", t).Json()["items"].size();
    body = Send(400, "POST", kBulk, kBulk, {{"posts", nlohmann::json::array({good, unknown_account, good})}}, t);
    EXPECT_EQ(body["error"].value("code", ""), "invalid_argument");
    EXPECT_EQ(rule_of(body), "bulk_items");
    ASSERT_EQ(body["errors"].size(), 1u) << body.dump();
    EXPECT_EQ(body["errors"][0].value("index", -1), 1);
    EXPECT_EQ(body["errors"][0].value("code", ""), "invalid_argument");
    EXPECT_EQ(body["errors"][0]["details"].value("field", ""), "account_ids[0]");
    EXPECT_EQ(client().Get("/api/v1/posts?limit=200", t).Json()["items"].size(), posts_before);
    // Malformed items are all reported, in order.
    body = Expect(400, "POST", kBulk,
                  client().Post(kBulk, {{"posts", nlohmann::json::array({"not a post", good, {{"text", 5}}})}}, t));
    ASSERT_EQ(body["errors"].size(), 2u) << body.dump();
    EXPECT_EQ(body["errors"][0].value("index", -1), 0);
    EXPECT_EQ(body["errors"][0]["details"].value("rule", ""), "json_object");
    EXPECT_EQ(body["errors"][1].value("index", -1), 2);
    EXPECT_EQ(body["errors"][1]["details"].value("field", ""), "text");
    // The request itself: no posts, an empty list, an unknown field, not JSON.
    for (const nlohmann::json& bad : {nlohmann::json::object(), nlohmann::json{{"posts", nlohmann::json::array()}},
                                      nlohmann::json{{"posts", good}}}) {
        body = Expect(400, "POST", kBulk, client().Post(kBulk, bad, t));
        EXPECT_EQ(field_of(body), "posts") << bad.dump();
        EXPECT_FALSE(body.contains("errors"));
    }
    body = Expect(400, "POST", kBulk,
                  client().Post(kBulk, {{"posts", nlohmann::json::array({good})}, {"dry_run", true}}, t));
    EXPECT_EQ(field_of(body), "dry_run");
    EXPECT_EQ(rule_of(body), "unknown_field");
    body = Expect(400, "POST", kBulk,
                  client().Request("POST", kBulk, "{\"posts\": [", {{"Authorization", "Bearer " + t}}));
    EXPECT_EQ(rule_of(body), "json");

    // Cancelling takes no fields.
    body = Expect(400, "POST", kCancelPost, client().Post("/api/v1/posts/" + draft + "/cancel", {{"force", true}}, t));
    EXPECT_EQ(rule_of(body), "unknown_field");
    body = Expect(
        400, "POST", kCancelDelivery,
        client().Request("POST", DeliveryPath(draft, delivery, "cancel"), "[]", {{"Authorization", "Bearer " + t}}));
    EXPECT_EQ(rule_of(body), "json_object");

    // The queue: query parameters, pause scopes, and actions without fields.
    for (const std::string query : {"state=sleeping", "limit=0", "limit=201", "limit=ten", "cursor=", "colour=red"}) {
        body = Expect(400, "GET", kJobs, client().Get("/api/v1/queue/jobs?" + query, t));
        EXPECT_FALSE(field_of(body).empty()) << query;
    }
    body = Expect(400, "GET", "/api/v1/queue/stats", client().Get("/api/v1/queue/stats?account_id=x", t));
    EXPECT_EQ(rule_of(body), "unknown_parameter");
    for (const std::string query : {"from=yesterday", "limit=0", "limit=5001", "colour=red",
                                    "from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z"}) {
        body = Expect(400, "GET", kPlan, client().Get(std::string(kPlan) + "?" + query, t));
        EXPECT_FALSE(field_of(body).empty()) << query;
    }
    // Posting schedules and queueing: each bad field named.
    const std::string schedule_path = "/api/v1/accounts/" + account + "/schedule";
    body = Send(400, "PUT", kSchedule, schedule_path,
                {{"timezone", "Mars/Olympus"}, {"slots", nlohmann::json::array()}}, t);
    EXPECT_EQ(rule_of(body), "iana_time_zone");
    body = Expect(400, "PUT", kSchedule,
                  client().Request("PUT", schedule_path,
                                   R"({"timezone": "UTC", "slots": [{"days": ["mon"], "times": ["25:00"]}]})",
                                   {{"Authorization", "Bearer " + t}, {"Content-Type", "application/json"}}));
    EXPECT_EQ(field_of(body), "slots[0].times[0]");
    body = Send(400, "POST", "/api/v1/posts", "/api/v1/posts",
                {{"text", "x"}, {"account_ids", {account}}, {"queue", true}}, t);
    EXPECT_EQ(rule_of(body), "no_schedule");
    body =
        Send(400, "POST", "/api/v1/posts", "/api/v1/posts",
             {{"text", "x"}, {"account_ids", {account}}, {"queue", true}, {"scheduled_at", "2031-01-01T00:00:00Z"}}, t);
    EXPECT_EQ(rule_of(body), "one_of");
    // A workspace may lower a cap, never raise it; a bad setting saves nothing.
    body = Send(400, "PUT", kLimits, kLimits, {{"limits", {{"tiktok", {{"post", {{"per_hour", 4}}}}}}}}, t);
    EXPECT_EQ(field_of(body), "limits.tiktok.post.per_hour");
    EXPECT_EQ(rule_of(body), "above_cap");
    body = Send(400, "PUT", kLimits, kLimits, {{"warmup", {{"phase1_days", 90}}}}, t);
    EXPECT_EQ(rule_of(body), "order");
    body = Expect(400, "PUT", kLimits,
                  client().Request("PUT", kLimits, R"({"limits": {}, "colour": "red"})",
                                   {{"Authorization", "Bearer " + t}, {"Content-Type", "application/json"}}));
    EXPECT_EQ(rule_of(body), "unknown");
    EXPECT_EQ(Expect(200, "GET", kLimits, client().Get(kLimits, t))["workspace"]["limits"], nlohmann::json::object());
    body = Send(400, "POST", kPause, kPause, {{"account_id", account}, {"platform", "sandbox"}}, t);
    EXPECT_EQ(rule_of(body), "one_of");
    body = Send(400, "POST", kPause, kPause, {{"platform", "myspace"}}, t);
    EXPECT_EQ(rule_of(body), "known_platform");
    body = Expect(400, "POST", kPause, client().Post(kPause, {{"reason", std::string(501, 'r')}}, t));
    EXPECT_EQ(rule_of(body), "max_length");
    body = Expect(400, "POST", kResume, client().Post(kResume, {{"reason", "done"}}, t));
    EXPECT_EQ(field_of(body), "reason");
    EXPECT_EQ(rule_of(body), "unknown_field");
    const std::string unknown_job = std::string("/api/v1/queue/jobs/") + kUnknownId;
    body = Expect(400, "POST", kRequeue, client().Post(unknown_job + "/requeue", {{"force", true}}, t));
    EXPECT_EQ(rule_of(body), "unknown_field");
    body = Expect(400, "POST", kCancelJob,
                  client().Request("POST", unknown_job + "/cancel", "{", {{"Authorization", "Bearer " + t}}));
    EXPECT_EQ(rule_of(body), "json");

    // A malformed Idempotency-Key, on any POST that takes one.
    for (const std::string& key : {std::string("two words"), std::string(256, 'k')}) {
        body = Expect(400, "POST", "/api/v1/posts",
                      client().Request("POST", "/api/v1/posts", good.dump(),
                                       {{"Authorization", "Bearer " + t}, {"Idempotency-Key", key}}));
        EXPECT_EQ(rule_of(body), "idempotency_key");
    }
    body = Expect(400, "POST", kPause,
                  client().Request("POST", kPause, "", {{"Authorization", "Bearer " + t}, {"Idempotency-Key", "é"}}));
    EXPECT_EQ(rule_of(body), "idempotency_key");
}

TEST_F(OpenApiConformance, RolesBelowTheNeededOneGet403) {
    const TestUser owner = Register("Owner");
    const std::string account = SandboxAccount(owner);
    const std::string post = DraftPost(owner, account);
    const TestUser viewer = Register("Viewer");
    const TestUser editor = Register("Editor");
    const TestUser admin = Register("Admin");
    const TestUser outsider = Register("Outsider");
    for (const auto& [who, role] :
         {std::pair{&viewer, "viewer"}, std::pair{&editor, "editor"}, std::pair{&admin, "admin"}}) {
        Send(201, "POST", "/api/v1/members", "/api/v1/members", {{"email", who->email}, {"role", role}},
             owner.access_token);
    }
    auto login = [&](const TestUser& u, const std::string& workspace_id, int status) {
        return Send(status, "POST", "/api/v1/auth/login", "/api/v1/auth/login",
                    {{"email", u.email}, {"password", "correct horse"}, {"workspace_id", workspace_id}}, "");
    };
    auto session = login(viewer, owner.workspace_id, 200);
    EXPECT_EQ(session.value("role", ""), "viewer");
    const std::string as_viewer = session.value("access_token", "");
    const std::string as_admin = login(admin, owner.workspace_id, 200).value("access_token", "");
    auto refused = login(outsider, owner.workspace_id, 403);
    EXPECT_EQ(refused["error"].value("code", ""), "permission_denied");

    // A viewer reads but does not write.
    Expect(200, "GET", "/api/v1/posts/{post_id}", client().Get("/api/v1/posts/" + post, as_viewer));
    ExpectError(403, "permission_denied", "POST", "/api/v1/posts",
                client().Post("/api/v1/posts", {{"text", "x"}, {"account_ids", {account}}}, as_viewer));
    ExpectError(403, "permission_denied", "PATCH", "/api/v1/posts/{post_id}",
                client().Patch("/api/v1/posts/" + post, {{"text", "x"}}, as_viewer));
    ExpectError(403, "permission_denied", "DELETE", "/api/v1/posts/{post_id}",
                client().Delete("/api/v1/posts/" + post, as_viewer));
    const std::string delivery = DeliveryOf(owner, post);
    ExpectError(403, "permission_denied", "POST", kRetry,
                client().Post(DeliveryPath(post, delivery, "retry"), nlohmann::json::object(), as_viewer));
    ExpectError(
        403, "permission_denied", "POST", kMarkPublished,
        client().Post(DeliveryPath(post, delivery, "mark-published"), {{"url", "https://example.com/p/1"}}, as_viewer));
    // An admin is above an editor: the role is enough, and only the draft's state refuses.
    ExpectError(409, "failed_precondition", "POST", kRetry,
                client().Post(DeliveryPath(post, delivery, "retry"), nlohmann::json::object(), as_admin));
    ExpectError(403, "permission_denied", "POST", "/api/v1/accounts",
                client().Post("/api/v1/accounts", {{"platform", "sandbox"}, {"name", "mine"}}, as_viewer));
    ExpectError(403, "permission_denied", "POST", "/api/v1/members",
                client().Post("/api/v1/members", {{"email", outsider.email}, {"role", "viewer"}}, as_viewer));
    // Only an owner makes owners.
    ExpectError(403, "permission_denied", "POST", "/api/v1/members",
                client().Post("/api/v1/members", {{"email", outsider.email}, {"role", "owner"}}, as_admin));
    Expect(201, "POST", "/api/v1/members",
           client().Post("/api/v1/members", {{"email", outsider.email}, {"role", "viewer"}}, as_admin));

    // Bulk create and cancelling are for editors and above.
    const nlohmann::json one = {{"posts", nlohmann::json::array({{{"text", "x"}, {"account_ids", {account}}}})}};
    ExpectError(403, "permission_denied", "POST", kBulk, client().Post(kBulk, one, as_viewer));
    ExpectError(403, "permission_denied", "POST", kCancelPost,
                client().Post("/api/v1/posts/" + post + "/cancel", nlohmann::json::object(), as_viewer));
    ExpectError(403, "permission_denied", "POST", kCancelDelivery,
                client().Post(DeliveryPath(post, delivery, "cancel"), nlohmann::json::object(), as_viewer));

    // The queue: every member reads it; editors requeue and cancel jobs; admins pause and resume.
    Expect(200, "GET", "/api/v1/queue/stats", client().Get("/api/v1/queue/stats", as_viewer));
    Expect(200, "GET", kJobs, client().Get("/api/v1/queue/jobs", as_viewer));
    Expect(200, "GET", "/api/v1/queue/pauses", client().Get("/api/v1/queue/pauses", as_viewer));
    const std::string unknown_job = std::string("/api/v1/queue/jobs/") + kUnknownId;
    ExpectError(403, "permission_denied", "POST", kRequeue,
                client().Post(unknown_job + "/requeue", nlohmann::json::object(), as_viewer));
    ExpectError(403, "permission_denied", "POST", kCancelJob,
                client().Post(unknown_job + "/cancel", nlohmann::json::object(), as_viewer));
    const std::string as_editor = login(editor, owner.workspace_id, 200).value("access_token", "");
    ExpectError(404, "not_found", "POST", kRequeue,
                client().Post(unknown_job + "/requeue", nlohmann::json::object(), as_editor));
    for (const std::string* token : {&as_viewer, &as_editor}) {
        ExpectError(403, "permission_denied", "POST", kPause, client().Post(kPause, nlohmann::json::object(), *token));
        ExpectError(403, "permission_denied", "POST", kResume,
                    client().Post(kResume, nlohmann::json::object(), *token));
    }
    Expect(200, "GET", kPlan, client().Get(kPlan, as_viewer));
    Expect(200, "GET", kLimits, client().Get(kLimits, as_viewer));
    for (const std::string* token : {&as_viewer, &as_editor}) {
        ExpectError(403, "permission_denied", "PUT", kLimits,
                    client().Request("PUT", kLimits, "{}",
                                     {{"Authorization", "Bearer " + *token}, {"Content-Type", "application/json"}}));
    }
    Expect(200, "PUT", kLimits,
           client().Request("PUT", kLimits, "{}",
                            {{"Authorization", "Bearer " + as_admin}, {"Content-Type", "application/json"}}));
    auto paused = Expect(200, "POST", kPause, client().Post(kPause, {{"reason", "holiday"}}, as_admin));
    EXPECT_EQ(paused.value("scope", ""), "workspace");
    EXPECT_FALSE(paused.value("installation_wide", true));
    auto resumed = Expect(200, "POST", kResume, client().Post(kResume, nlohmann::json::object(), as_admin));
    EXPECT_EQ(resumed.value("jobs_resumed", -1), 0);
}

TEST_F(OpenApiConformance, ConflictsGet409) {
    const TestUser u = Register();
    const std::string& t = u.access_token;
    const std::string account = SandboxAccount(u);
    const std::string post = PublishedPost(u, account);

    auto body = Expect(409, "PATCH", "/api/v1/posts/{post_id}",
                       client().Patch("/api/v1/posts/" + post, {{"text", "edited"}}, t));
    EXPECT_EQ(body["error"].value("code", ""), "failed_precondition");
    EXPECT_EQ(body["error"]["details"].value("status", ""), "published");
    ExpectError(409, "failed_precondition", "DELETE", "/api/v1/posts/{post_id}",
                client().Delete("/api/v1/posts/" + post, t));

    // Only a failed or unconfirmed delivery is retried, only an unconfirmed one marked published.
    const nlohmann::json url = {{"url", "https://example.com/p/1"}};
    auto refuses = [&](const std::string& post_id, const std::string& status) {
        const std::string delivery = DeliveryOf(u, post_id);
        auto retry_body = Expect(409, "POST", kRetry,
                                 client().Post(DeliveryPath(post_id, delivery, "retry"), nlohmann::json::object(), t));
        auto mark_body = Expect(409, "POST", kMarkPublished,
                                client().Post(DeliveryPath(post_id, delivery, "mark-published"), url, t));
        for (const auto& b : {retry_body, mark_body}) {
            EXPECT_EQ(b["error"].value("code", ""), "failed_precondition") << b.dump();
            EXPECT_EQ(b["error"]["details"].value("status", ""), status) << b.dump();
            EXPECT_EQ(b["error"]["details"].value("delivery_id", ""), delivery) << b.dump();
        }
    };
    refuses(post, "published");
    auto later = Send(201, "POST", "/api/v1/posts", "/api/v1/posts",
                      {{"text", "later"}, {"account_ids", {account}}, {"scheduled_at", "2030-06-01T09:00:00Z"}}, t);
    refuses(later.value("id", ""), "scheduled");
    // A failed delivery can be retried, but it cannot be marked published.
    const std::string refused = PostThatEndsAs(u, SandboxAccount(u, {{"mode", "reject"}}, "strict"), "failed", "no");
    body = Expect(409, "POST", kMarkPublished,
                  client().Post(DeliveryPath(refused, DeliveryOf(u, refused), "mark-published"), url, t));
    EXPECT_EQ(body["error"]["details"].value("status", ""), "failed");

    const TestUser other = Register();
    Expect(201, "POST", "/api/v1/members",
           client().Post("/api/v1/members", {{"email", other.email}, {"role", "viewer"}}, t));
    ExpectError(409, "already_exists", "POST", "/api/v1/members",
                client().Post("/api/v1/members", {{"email", other.email}, {"role", "admin"}}, t));

    // What has gone out cannot be cancelled.
    body = Expect(409, "POST", kCancelPost,
                  client().Post("/api/v1/posts/" + post + "/cancel", nlohmann::json::object(), t));
    EXPECT_EQ(body["error"]["details"].value("status", ""), "published");
    const std::string published_delivery = DeliveryOf(u, post);
    body = Expect(409, "POST", kCancelDelivery,
                  client().Post(DeliveryPath(post, published_delivery, "cancel"), nlohmann::json::object(), t));
    EXPECT_EQ(body["error"]["details"].value("status", ""), "published");
    EXPECT_EQ(body["error"]["details"].value("delivery_id", ""), published_delivery);

    // Only a dead job is requeued; a finished one is neither requeued nor cancelled.
    auto jobs = Expect(200, "GET", kJobs, client().Get("/api/v1/queue/jobs?state=pending", t));
    std::string later_job;
    for (const auto& j : jobs["items"]) {
        if (j.value("post_id", "") == later.value("id", "")) later_job = j.value("id", "");
    }
    ASSERT_FALSE(later_job.empty()) << jobs.dump();
    const std::string job_path = "/api/v1/queue/jobs/" + later_job;
    body = Expect(409, "POST", kRequeue, client().Post(job_path + "/requeue", nlohmann::json::object(), t));
    EXPECT_EQ(body["error"].value("code", ""), "failed_precondition");
    EXPECT_EQ(body["error"]["details"].value("state", ""), "pending");
    Expect(200, "POST", kCancelJob, client().Post(job_path + "/cancel", nlohmann::json::object(), t));
    body = Expect(409, "POST", kCancelJob, client().Post(job_path + "/cancel", nlohmann::json::object(), t));
    EXPECT_EQ(body["error"]["details"].value("state", ""), "done");
    body = Expect(409, "POST", kRequeue, client().Post(job_path + "/requeue", nlohmann::json::object(), t));
    EXPECT_EQ(body["error"]["details"].value("state", ""), "done");

    // While a delivery is being sent, neither it nor its job can be called back.
    const std::string slow = SandboxAccount(u, {{"delay_ms", 1000}}, "slow");
    auto sending = Send(201, "POST", "/api/v1/posts", "/api/v1/posts",
                        {{"text", "slowly"}, {"account_ids", {slow}}, {"scheduled_at", NowRfc3339()}}, t);
    const std::string sending_id = sending.value("id", "");
    auto publishing = WaitForPostStatus(u, sending_id, "publishing", std::chrono::seconds(5));
    ASSERT_EQ(publishing.value("status", ""), "publishing") << publishing.dump();
    body = Expect(409, "POST", kCancelPost,
                  client().Post("/api/v1/posts/" + sending_id + "/cancel", nlohmann::json::object(), t));
    EXPECT_EQ(body["error"]["details"].value("status", ""), "publishing");
    auto running = Expect(200, "GET", kJobs, client().Get("/api/v1/queue/jobs?state=running&account_id=" + slow, t));
    ASSERT_EQ(running["items"].size(), 1u) << running.dump();
    body = Expect(409, "POST", kCancelJob,
                  client().Post("/api/v1/queue/jobs/" + running["items"][0].value("id", "") + "/cancel",
                                nlohmann::json::object(), t));
    EXPECT_EQ(body["error"]["details"].value("state", ""), "running");
}

TEST_F(OpenApiConformance, OversizedBodiesGet413) {
    const TestUser u = Register();
    const std::string account = SandboxAccount(u);
    // Just over the default limit of 1 MiB.
    const nlohmann::json big = {{"text", std::string((1 << 20) + 1, 'x')}, {"account_ids", {account}}};
    ExpectError(413, "payload_too_large", "POST", "/api/v1/posts", client().Post("/api/v1/posts", big, u.access_token));
    ExpectError(413, "payload_too_large", "POST", "/api/v1/auth/register",
                client().Post("/api/v1/auth/register",
                              {{"email", "big@example.com"}, {"password", "correct horse"}, {"name", big["text"]}}));
    // The server is still fine afterwards.
    Expect(200, "GET", "/api/v1/posts", client().Get("/api/v1/posts", u.access_token));
}

TEST_F(OpenApiConformance, IdempotencyKeyReplaysTheFirstAnswer) {
    const TestUser u = Register();
    const std::string account = SandboxAccount(u);
    auto send = [&](const std::string& target, const nlohmann::json& body, const std::string& key) {
        return client().Request("POST", target, body.dump(),
                                {{"Authorization", "Bearer " + u.access_token}, {"Idempotency-Key", key}});
    };
    const nlohmann::json post = {{"text", "only once"}, {"account_ids", {account}}};
    auto first = send("/api/v1/posts", post, "create-1");
    auto created = Expect(201, "POST", "/api/v1/posts", first);
    EXPECT_EQ(first.headers.count("idempotent-replayed"), 0u);
    // Sent again: the same answer, marked as replayed, and still one post.
    auto again = send("/api/v1/posts", post, "create-1");
    Expect(201, "POST", "/api/v1/posts", again);
    EXPECT_EQ(again.headers["idempotent-replayed"], "true");
    EXPECT_EQ(again.body, first.body);
    auto page = Expect(200, "GET", "/api/v1/posts", client().Get("/api/v1/posts", u.access_token));
    ASSERT_EQ(page["items"].size(), 1u);
    EXPECT_EQ(page["items"][0].value("id", ""), created.value("id", ""));

    // The key with another body, or on another path, is refused.
    auto body = Expect(409, "POST", "/api/v1/posts",
                       send("/api/v1/posts", {{"text", "twice"}, {"account_ids", {account}}}, "create-1"));
    EXPECT_EQ(body["error"].value("code", ""), "failed_precondition");
    EXPECT_EQ(body["error"]["details"].value("rule", ""), "idempotency_key_reuse");
    body = Expect(409, "POST", kBulk, send(kBulk, {{"posts", nlohmann::json::array({post})}}, "create-1"));
    EXPECT_EQ(body["error"]["details"].value("rule", ""), "idempotency_key_reuse");

    // An error is replayed too; the queue's actions take keys like any other POST.
    auto refused = send("/api/v1/queue/resume", nlohmann::json::object(), "resume-1");
    ExpectError(404, "not_found", "POST", kResume, refused);
    auto refused_again = send("/api/v1/queue/resume", nlohmann::json::object(), "resume-1");
    ExpectError(404, "not_found", "POST", kResume, refused_again);
    EXPECT_EQ(refused_again.headers["idempotent-replayed"], "true");
    auto paused = send(kPause, {{"reason", "once"}}, "pause-1");
    Expect(200, "POST", kPause, paused);
    auto paused_again = send(kPause, {{"reason", "once"}}, "pause-1");
    Expect(200, "POST", kPause, paused_again);
    EXPECT_EQ(paused_again.headers["idempotent-replayed"], "true");
    EXPECT_EQ(paused_again.body, paused.body);

    // Keys belong to their user: another user's identical key is a new request.
    const TestUser other = Register();
    auto theirs = client().Request("POST", kPause, nlohmann::json{{"reason", "once"}}.dump(),
                                   {{"Authorization", "Bearer " + other.access_token}, {"Idempotency-Key", "pause-1"}});
    auto their_pause = Expect(200, "POST", kPause, theirs);
    EXPECT_EQ(theirs.headers.count("idempotent-replayed"), 0u);
    EXPECT_NE(their_pause.value("id", ""), nlohmann::json::parse(paused.body).value("id", ""));
}

TEST_F(OpenApiConformance, WrongContentTypeGets415) {
    const TestUser u = Register();
    const std::string account = SandboxAccount(u);
    const std::string post = DraftPost(u, account);
    const std::map<std::string, std::string> headers = {{"Content-Type", "text/plain"},
                                                        {"Authorization", "Bearer " + u.access_token}};
    const std::string body = nlohmann::json{{"text", "x"}, {"account_ids", {account}}}.dump();
    int checked = 0;
    for (const auto& r : kRoutes) {
        if (r.method != "POST" && r.method != "PATCH" && r.method != "PUT") continue;
        auto res = client().Request(r.method, Fill(r.pattern, post), body, headers);
        ExpectError(415, "unsupported_media_type", r.method, r.pattern, res);
        EXPECT_EQ(res.Json()["error"]["details"].value("rule", ""), "content_type");
        ++checked;
    }
    EXPECT_EQ(checked, 26);
}

TEST_F(OpenApiConformance, WrongMethodGets405) {
    const TestUser u = Register();
    struct Case {
        std::string method, pattern, allow;
    };
    const std::vector<Case> cases = {
        {"PUT", "/api/v1/posts", "GET, POST"},
        {"POST", "/api/v1/posts/{}", "GET, PATCH, DELETE"},
        {"DELETE", "/api/v1/me", "GET"},
        {"POST", "/healthz", "GET"},
        {"GET", "/api/v1/auth/login", "POST"},
        {"PATCH", "/api/v1/accounts/{}", "GET"},
        {"PUT", "/api/v1/tokens/{}", "DELETE"},
        {"GET", "/api/v1/posts/{}/deliveries/{}/retry", "POST"},
        {"DELETE", "/api/v1/posts/{}/deliveries/{}/mark-published", "POST"},
        {"PUT", "/api/v1/posts/bulk", "GET, PATCH, DELETE, POST"},
        {"GET", "/api/v1/posts/{}/cancel", "POST"},
        {"POST", "/api/v1/queue/jobs", "GET"},
        {"DELETE", "/api/v1/queue/jobs/{}", "GET"},
        {"GET", "/api/v1/queue/pause", "POST"},
        {"POST", "/metrics", "GET"},
    };
    for (const auto& c : cases) {
        ASSERT_FALSE(Spec().HasOperation(c.method, c.pattern)) << c.method << " " << c.pattern;
        const std::string target = Fill(c.pattern, kUnknownId);
        auto res = client().Request(c.method, target, "", {{"Authorization", "Bearer " + u.access_token}});
        EXPECT_EQ(res.status, 405) << c.method << " " << target << ": " << res.body;
        EXPECT_EQ(res.headers["allow"], c.allow) << c.method << " " << target;
        auto problems = Spec().CheckNamedResponse("MethodNotAllowed", BodyOf(res));
        EXPECT_TRUE(problems.empty()) << Join(problems);
    }
}

TEST_F(OpenApiConformance, EventStreamRejectionsConform) {
    const TestUser u = Register();
    const std::map<std::string, std::string> upgrade = {{"Connection", "Upgrade"},
                                                        {"Upgrade", "websocket"},
                                                        {"Sec-WebSocket-Version", "13"},
                                                        {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}};
    ExpectError(401, "unauthenticated", "GET", "/api/v1/events",
                client().Request("GET", "/api/v1/events", "", upgrade));
    ExpectError(401, "unauthenticated", "GET", "/api/v1/events",
                client().Request("GET", "/api/v1/events?access_token=not-a-token", "", upgrade));
    // Without the upgrade it is not an endpoint at all.
    ExpectError(404, "not_found", "GET", "/api/v1/events", client().Get("/api/v1/events", u.access_token));

    // Browsers authenticate with the query parameter instead of a header.
    WsClient ws;
    HttpResult upgraded;
    upgraded.status = ws.Connect(port(), "/api/v1/events?access_token=" + u.access_token);
    Expect(101, "GET", "/api/v1/events", upgraded);
}

class OpenApiBulkLimit : public OpenApiConformance {
  protected:
    void Configure(core::Config& config) override { config.bulk_max_body_bytes = 2 << 20; }
};

TEST_F(OpenApiBulkLimit, BulkBodiesHaveTheirOwnLimit) {
    const TestUser u = Register();
    const std::string account = SandboxAccount(u);
    const std::string& t = u.access_token;
    // Over max_body_bytes (1 MiB), within bulk_max_body_bytes: read, and refused only for its text.
    const nlohmann::json big = {{"text", std::string((1 << 20) + 1, 'x')}, {"account_ids", {account}}};
    auto body = Expect(400, "POST", kBulk, client().Post(kBulk, {{"posts", nlohmann::json::array({big})}}, t));
    ASSERT_EQ(body["errors"].size(), 1u);
    EXPECT_EQ(body["errors"][0]["details"].value("field", ""), "text");
    EXPECT_EQ(body["errors"][0]["details"].value("rule", ""), "max_length");
    // Over bulk_max_body_bytes.
    ExpectError(413, "payload_too_large", "POST", kBulk,
                client().Post(kBulk, {{"posts", nlohmann::json::array({big, big})}}, t));
    // The other endpoints keep the smaller limit.
    ExpectError(413, "payload_too_large", "POST", "/api/v1/posts", client().Post("/api/v1/posts", big, t));
}

class OpenApiNotReady : public OpenApiConformance {
  protected:
    // Any due-job age exceeds a negative allowance, so the server reports itself not ready.
    void Configure(core::Config& config) override { config.ready_max_lag_seconds = -1; }
};

TEST_F(OpenApiNotReady, ReadinessFailureConforms) {
    auto body = Expect(503, "GET", "/readyz", client().Get("/readyz"));
    EXPECT_EQ(body.value("status", ""), "not_ready");
    EXPECT_EQ(body.value("database", ""), "ok");
    Expect(200, "GET", "/healthz", client().Get("/healthz"));
}

}  // namespace
}  // namespace herald::testing
