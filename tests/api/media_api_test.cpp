// The media library over real HTTP: uploads of every accepted format with their metadata and
// thumbnails, one stored file per content, and bad input (wrong extension, truncated, empty,
// decompression bombs, oversized, unsupported, path traversal, slow loris) answered with a
// clear 4xx that leaves nothing on disk or in the database.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "auth/secret_key.hpp"
#include "auth/url_signer.hpp"
#include "core/addresses.hpp"
#include "domain/time.hpp"
#include "media/fetch.hpp"
#include "media/s3_store.hpp"
#include "server_fixture.hpp"
#include "test_servers.hpp"
#include "tiny_http_server.hpp"

namespace herald::testing {
namespace {

const std::filesystem::path kData = std::filesystem::path(HERALD_SOURCE_DIR) / "tests/data/media";

std::string ReadFile(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    EXPECT_TRUE(in) << p;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

struct FilePart {
    std::string name;
    std::string bytes;
    std::string content_type = "application/octet-stream";
};

const std::string kBoundary = "herald-test-boundary-7f3a";

std::string Form(const std::vector<FilePart>& files, const std::vector<std::string>& alts = {}) {
    std::string body;
    for (const auto& f : files) {
        body += "--" + kBoundary + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"" + f.name +
                "\"\r\nContent-Type: " + f.content_type + "\r\n\r\n" + f.bytes + "\r\n";
    }
    for (const auto& a : alts) {
        body += "--" + kBoundary + "\r\nContent-Disposition: form-data; name=\"alt_text\"\r\n\r\n" + a + "\r\n";
    }
    return body + "--" + kBoundary + "--\r\n";
}

// Uint32 big-endian.
void Be32(std::string& s, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xff));
}

uint32_t Crc32(std::string_view data) {
    uint32_t crc = 0xffffffffu;
    for (unsigned char c : data) {
        crc ^= c;
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

// A PNG whose header declares `w` × `h` pixels, with almost no pixel data: what a
// decompression bomb looks like to the code that reads the header.
std::string PngDeclaring(uint32_t w, uint32_t h) {
    std::string png("\x89PNG\r\n\x1a\n", 8);
    std::string ihdr = "IHDR";
    Be32(ihdr, w);
    Be32(ihdr, h);
    ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB
    Be32(png, 13);
    png += ihdr;
    Be32(png, Crc32(ihdr));
    const std::string idat = std::string("IDAT") + std::string("\x78\x9c\x03\x00\x00\x00\x00\x01", 8);
    Be32(png, 8);
    png += idat;
    Be32(png, Crc32(idat));
    Be32(png, 0);
    png += "IEND";
    Be32(png, Crc32("IEND"));
    return png;
}

class MediaApiTest : public ServerFixture {
  protected:
    void SetUp() override {
        ServerFixture::SetUp();
        user_ = Register();
    }

    HttpResult Upload(const std::vector<FilePart>& files, const std::vector<std::string>& alts = {},
                      const std::string& token = "") {
        return client().Request("POST", "/api/v1/media", Form(files, alts),
                                {{"Content-Type", "multipart/form-data; boundary=" + kBoundary},
                                 {"Authorization", "Bearer " + (token.empty() ? user_.access_token : token)}});
    }

    std::filesystem::path MediaDir() const { return data_dir_ / "media"; }

    // Stored files (the spool excluded) and spool files.
    std::pair<size_t, size_t> FilesOnDisk() const {
        size_t stored = 0, spooled = 0;
        for (const auto& e : std::filesystem::recursive_directory_iterator(MediaDir())) {
            if (!e.is_regular_file()) continue;
            (e.path().parent_path().filename() == ".spool" ? spooled : stored) += 1;
        }
        return {stored, spooled};
    }

    size_t ItemsListed() {
        auto r = client().Get("/api/v1/media?limit=200", user_.access_token);
        EXPECT_EQ(r.status, 200) << r.body;
        return r.Json()["items"].size();
    }

    // A refusal: the status, the error code, and nothing kept anywhere.
    void ExpectRefusedLeavingNothing(const HttpResult& r, int status, const std::string& rule = "") {
        EXPECT_EQ(r.status, status) << r.body;
        if (r.status >= 400 && !r.body.empty()) {
            auto j = r.Json();
            EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
            if (!rule.empty()) {
                EXPECT_EQ(j["error"]["details"].value("rule", ""), rule) << r.body;
            }
        }
        EXPECT_EQ(FilesOnDisk(), (std::pair<size_t, size_t>{0, 0}));
        EXPECT_EQ(ItemsListed(), 0u);
    }

    TestUser user_;
};

TEST_F(MediaApiTest, EveryAcceptedFormatIsSniffedMeasuredAndThumbnailed) {
    struct Case {
        std::string file, mime, kind;
    };
    const std::vector<Case> cases = {
        {"small.jpg", "image/jpeg", "image"},     {"small.png", "image/png", "image"},
        {"small.gif", "image/gif", "image"},      {"small.webp", "image/webp", "image"},
        {"clip.mp4", "video/mp4", "video"},       {"clip.webm", "video/webm", "video"},
        {"clip.mov", "video/quicktime", "video"}, {"clip.mpg", "video/mpeg", "video"},
    };
    for (const auto& c : cases) {
        // The client's Content-Type lies on purpose: only the bytes count.
        auto r = Upload({{c.file, ReadFile(kData / c.file), "text/plain"}}, {"alt for " + c.file});
        ASSERT_EQ(r.status, 201) << c.file << ": " << r.body;
        const auto item = r.Json()["items"][0];
        EXPECT_EQ(item["mime_type"], c.mime) << c.file;
        EXPECT_EQ(item["kind"], c.kind) << c.file;
        EXPECT_EQ(item["name"], c.file);
        EXPECT_EQ(item["alt_text"], "alt for " + c.file);
        EXPECT_EQ(item["width"], 64) << c.file;
        EXPECT_EQ(item["height"], 48) << c.file;
        EXPECT_NEAR(item["aspect_ratio"].get<double>(), 64.0 / 48.0, 0.001);
        EXPECT_EQ(item["sha256"].get<std::string>().size(), 64u);
        if (c.kind == "video") {
            EXPECT_NEAR(item["duration_ms"].get<double>(), 1000, 150) << c.file;
            EXPECT_NEAR(item["frame_rate"].get<double>(), 25, 0.01) << c.file;
            EXPECT_FALSE(item["video_codec"].get<std::string>().empty());
        } else {
            EXPECT_TRUE(item["duration_ms"].is_null());
        }
        ASSERT_TRUE(item["thumbnail_url"].is_string()) << c.file;
        auto thumb = client().Get(item["thumbnail_url"].get<std::string>(), user_.access_token);
        EXPECT_EQ(thumb.status, 200);
        EXPECT_EQ(thumb.headers["content-type"], "image/jpeg");
        ASSERT_GE(thumb.body.size(), 3u);
        EXPECT_EQ(thumb.body.substr(0, 3), std::string("\xFF\xD8\xFF"));  // a JPEG

        auto got = client().Get("/api/v1/media/" + item["id"].get<std::string>(), user_.access_token);
        EXPECT_EQ(got.status, 200);
        EXPECT_EQ(got.Json()["sha256"], item["sha256"]);
    }
    EXPECT_EQ(ItemsListed(), cases.size());
    auto videos = client().Get("/api/v1/media?kind=video", user_.access_token);
    EXPECT_EQ(videos.Json()["items"].size(), 4u);
    EXPECT_EQ(FilesOnDisk().second, 0u);  // nothing left in the spool
}

// small.jpg with an EXIF segment saying "turned a quarter" (orientation 6), as phones write
// portrait photos.
std::string RotatedJpeg() {
    const std::string jpg = ReadFile(kData / "small.jpg");
    std::string tiff("MM\0*\0\0\0\x08", 8);                         // big-endian TIFF, first IFD at 8
    tiff += std::string("\0\x01", 2);                               // one entry
    tiff += std::string("\x01\x12\0\x03\0\0\0\x01\0\x06\0\0", 12);  // Orientation, SHORT, 1, value 6
    tiff += std::string("\0\0\0\0", 4);                             // no next IFD
    const std::string payload = std::string("Exif\0\0", 6) + tiff;
    const size_t length = payload.size() + 2;
    std::string app1 = "\xFF\xE1";
    app1.push_back(static_cast<char>(length >> 8));
    app1.push_back(static_cast<char>(length & 0xff));
    return jpg.substr(0, 2) + app1 + payload + jpg.substr(2);
}

TEST_F(MediaApiTest, ExifOrientationGivesTheUprightSize) {
    auto r = Upload({{"portrait.jpg", RotatedJpeg()}});
    ASSERT_EQ(r.status, 201) << r.body;
    const auto item = r.Json()["items"][0];
    EXPECT_EQ(item["width"], 48);
    EXPECT_EQ(item["height"], 64);
    EXPECT_NEAR(item["aspect_ratio"].get<double>(), 0.75, 0.001);
}

TEST_F(MediaApiTest, SeveralFilesInOneRequestAndPaging) {
    auto r = Upload({{"a.jpg", ReadFile(kData / "small.jpg")},
                     {"b.png", ReadFile(kData / "small.png")},
                     {"c.gif", ReadFile(kData / "small.gif")}},
                    {"first", "second"});
    ASSERT_EQ(r.status, 201) << r.body;
    const auto items = r.Json()["items"];
    ASSERT_EQ(items.size(), 3u);
    EXPECT_EQ(items[0]["alt_text"], "first");
    EXPECT_EQ(items[1]["alt_text"], "second");
    EXPECT_EQ(items[2]["alt_text"], "");
    auto page = client().Get("/api/v1/media?limit=2", user_.access_token).Json();
    ASSERT_EQ(page["items"].size(), 2u);
    ASSERT_TRUE(page["next_cursor"].is_string());
    auto rest = client()
                    .Get("/api/v1/media?limit=2&cursor=" + page["next_cursor"].get<std::string>(), user_.access_token)
                    .Json();
    EXPECT_EQ(rest["items"].size(), 1u);
    EXPECT_TRUE(rest["next_cursor"].is_null());
}

TEST_F(MediaApiTest, TheSameFileTwiceIsStoredOnceAndGoesWithItsLastItem) {
    const auto bytes = ReadFile(kData / "small.jpg");
    auto a = Upload({{"one.jpg", bytes}}, {"first"});
    auto b = Upload({{"two.jpg", bytes}}, {"second"});
    ASSERT_EQ(a.status, 201);
    ASSERT_EQ(b.status, 201);
    const auto ida = a.Json()["items"][0]["id"].get<std::string>();
    const auto idb = b.Json()["items"][0]["id"].get<std::string>();
    EXPECT_NE(ida, idb);
    EXPECT_EQ(a.Json()["items"][0]["sha256"], b.Json()["items"][0]["sha256"]);
    EXPECT_EQ(FilesOnDisk().first, 2u);  // the image and its thumbnail, once
    EXPECT_EQ(client().Delete("/api/v1/media/" + ida, user_.access_token).status, 204);
    EXPECT_EQ(FilesOnDisk().first, 2u);  // still used by the second item
    EXPECT_EQ(client().Get(b.Json()["items"][0]["thumbnail_url"].get<std::string>(), user_.access_token).status, 200);
    EXPECT_EQ(client().Delete("/api/v1/media/" + idb, user_.access_token).status, 204);
    EXPECT_EQ(FilesOnDisk().first, 0u);
    EXPECT_EQ(client().Get("/api/v1/media/" + idb, user_.access_token).status, 404);
}

TEST_F(MediaApiTest, AltTextCanBeChangedAndIsChecked) {
    auto r = Upload({{"a.jpg", ReadFile(kData / "small.jpg")}});
    const auto id = r.Json()["items"][0]["id"].get<std::string>();
    auto p = client().Patch("/api/v1/media/" + id, {{"alt_text", "A red square"}}, user_.access_token);
    EXPECT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(p.Json()["alt_text"], "A red square");
    auto bad = client().Patch("/api/v1/media/" + id, {{"alt_text", std::string(2000, 'a')}}, user_.access_token);
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(bad.Json()["error"]["details"]["field"], "alt_text");
}

TEST_F(MediaApiTest, AnotherWorkspaceSeesNothing) {
    auto r = Upload({{"a.jpg", ReadFile(kData / "small.jpg")}});
    const auto item = r.Json()["items"][0];
    const auto other = Register("Other");
    EXPECT_EQ(client().Get("/api/v1/media/" + item["id"].get<std::string>(), other.access_token).status, 404);
    EXPECT_EQ(client().Get(item["thumbnail_url"].get<std::string>(), other.access_token).status, 404);
    EXPECT_EQ(client().Delete("/api/v1/media/" + item["id"].get<std::string>(), other.access_token).status, 404);
    EXPECT_EQ(client().Get("/api/v1/media", other.access_token).Json()["items"].size(), 0u);
}

TEST_F(MediaApiTest, ContentDecidesNotTheExtension) {
    // PNG bytes named .jpg: stored as what they are.
    auto r = Upload({{"photo.jpg", ReadFile(kData / "small.png"), "image/jpeg"}});
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.Json()["items"][0]["mime_type"], "image/png");
}

TEST_F(MediaApiTest, TextNamedJpgIsUnsupported) {
    auto r = Upload({{"photo.jpg", "this is not an image at all, just words\n", "image/jpeg"}});
    ExpectRefusedLeavingNothing(r, 415, "format");
    EXPECT_NE(r.Json()["error"]["message"].get<std::string>().find("photo.jpg"), std::string::npos);
}

TEST_F(MediaApiTest, UnsupportedFormatsAreRefused) {
    // A BMP and a PDF: real formats Herald does not take.
    std::string bmp = "BM";
    bmp += std::string(52, '\0');
    auto r = Upload({{"x.bmp", bmp}});
    EXPECT_TRUE(r.status == 415 || r.status == 400) << r.body;
    ExpectRefusedLeavingNothing(Upload({{"doc.pdf", "%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"}}), 415,
                                "format");
}

TEST_F(MediaApiTest, EmptyFileIsRefused) { ExpectRefusedLeavingNothing(Upload({{"empty.jpg", ""}}), 400, "empty"); }

TEST_F(MediaApiTest, TruncatedFilesAreRefused) {
    for (const std::string name : {"small.jpg", "small.png", "small.webp", "clip.mp4", "clip.webm"}) {
        const auto bytes = ReadFile(kData / name);
        auto r = Upload({{name, bytes.substr(0, bytes.size() * 2 / 3)}});
        EXPECT_EQ(r.status, 400) << name << ": " << r.body;
        const auto rule = r.Json()["error"]["details"].value("rule", "");
        EXPECT_TRUE(rule == "corrupt" || rule == "truncated") << name << ": " << r.body;
        EXPECT_EQ(FilesOnDisk(), (std::pair<size_t, size_t>{0, 0})) << name;
    }
    EXPECT_EQ(ItemsListed(), 0u);
}

TEST_F(MediaApiTest, DecompressionBombsAreRefusedFromTheHeader) {
    ExpectRefusedLeavingNothing(Upload({{"bomb.png", PngDeclaring(100000, 100000)}}), 400, "max_dimension");
    ExpectRefusedLeavingNothing(Upload({{"wide.png", PngDeclaring(15000, 15000)}}), 400, "max_pixels");
}

TEST_F(MediaApiTest, PathTraversalInTheNameStaysAName) {
    auto r = Upload({{"../../../../etc/evil\\..\\x.jpg", ReadFile(kData / "small.jpg")}});
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.Json()["items"][0]["name"], "x.jpg");
    // Every file written is under the media folder, named by its content.
    for (const auto& e : std::filesystem::recursive_directory_iterator(data_dir_)) {
        if (!e.is_regular_file()) continue;
        const auto name = e.path().filename().string();
        EXPECT_EQ(name.find("evil"), std::string::npos) << e.path();
        EXPECT_EQ(name.find("x.jpg"), std::string::npos) << e.path();
    }
}

TEST_F(MediaApiTest, OneBadFileRefusesTheWholeRequest) {
    auto r = Upload({{"good.jpg", ReadFile(kData / "small.jpg")}, {"bad.png", "not a png"}});
    ExpectRefusedLeavingNothing(r, 415, "format");
    EXPECT_EQ(r.Json()["error"]["details"]["file"], "bad.png");
}

TEST_F(MediaApiTest, MoreAltTextsThanFilesOrUnknownFieldsAreRefused) {
    ExpectRefusedLeavingNothing(Upload({{"a.jpg", ReadFile(kData / "small.jpg")}}, {"one", "two"}), 400, "count");
}

TEST_F(MediaApiTest, WhoMayUpload) {
    auto anonymous = client().Request("POST", "/api/v1/media", Form({{"a.jpg", ReadFile(kData / "small.jpg")}}),
                                      {{"Content-Type", "multipart/form-data; boundary=" + kBoundary}});
    ExpectRefusedLeavingNothing(anonymous, 401);
    auto json = client().Post("/api/v1/media", {{"url", "x"}}, user_.access_token);
    ExpectRefusedLeavingNothing(json, 415, "content_type");
}

TEST_F(MediaApiTest, PostsCarryMediaCheckedAgainstEachPlatform) {
    const std::string account = SandboxAccount(user_);
    std::vector<std::string> images;
    for (int i = 0; i < 5; ++i) {
        // Five different images (the same bytes would be fine too: items are separate).
        auto r = Upload({{"img" + std::to_string(i) + ".png", ReadFile(kData / "small.png")}});
        ASSERT_EQ(r.status, 201) << r.body;
        images.push_back(r.Json()["items"][0]["id"]);
    }
    auto v = Upload({{"clip.mp4", ReadFile(kData / "clip.mp4")}});
    const std::string video = v.Json()["items"][0]["id"];
    const std::string later = "2030-01-01T10:00:00Z";
    auto post = [&](const nlohmann::json& media) {
        return client().Post(
            "/api/v1/posts",
            {{"text", "with media"}, {"account_ids", {account}}, {"scheduled_at", later}, {"media_ids", media}},
            user_.access_token);
    };
    auto ok = post({images[0], images[1]});
    ASSERT_EQ(ok.status, 201) << ok.body;
    EXPECT_EQ(ok.Json()["media_ids"], nlohmann::json({images[0], images[1]}));
    const std::string post_id = ok.Json()["id"];
    EXPECT_EQ(client().Get("/api/v1/posts/" + post_id, user_.access_token).Json()["media_ids"].size(), 2u);

    // The sandbox's rules are Bluesky's: four images or one video, not both.
    auto five = post(images);
    EXPECT_EQ(five.status, 400);
    EXPECT_EQ(five.Json()["error"]["details"]["rule"], "max_images") << five.body;
    EXPECT_EQ(five.Json()["error"]["details"]["platform"], "sandbox");
    EXPECT_EQ(five.Json()["error"]["message"], "sandbox takes at most 4 images in a post; this one has 5");
    auto mixed = post({images[0], video});
    EXPECT_EQ(mixed.Json()["error"]["details"]["rule"], "mixed_media") << mixed.body;
    auto unknown = post({"0123456789abcdef0123456789"});
    EXPECT_EQ(unknown.Json()["error"]["details"]["rule"], "existing_media") << unknown.body;
    EXPECT_EQ(unknown.Json()["error"]["details"]["field"], "media_ids[0]");
    auto twice = post({images[0], images[0]});
    EXPECT_EQ(twice.Json()["error"]["details"]["rule"], "unique") << twice.body;
    EXPECT_EQ(post({video}).status, 201);
    // Another workspace's media is not found.
    const auto other = Register("Other");
    const std::string theirs = SandboxAccount(other);
    auto foreign =
        client().Post("/api/v1/posts",
                      {{"text", "x"}, {"account_ids", {theirs}}, {"scheduled_at", later}, {"media_ids", {images[0]}}},
                      other.access_token);
    EXPECT_EQ(foreign.Json()["error"]["details"]["rule"], "existing_media") << foreign.body;

    // A media item a waiting post uses cannot go; once the post drops it, it can.
    auto in_use = client().Delete("/api/v1/media/" + images[1], user_.access_token);
    EXPECT_EQ(in_use.status, 409) << in_use.body;
    EXPECT_EQ(in_use.Json()["error"]["details"]["post_id"], post_id);
    auto edited = client().Patch("/api/v1/posts/" + post_id, {{"media_ids", {images[0]}}}, user_.access_token);
    ASSERT_EQ(edited.status, 200) << edited.body;
    EXPECT_EQ(edited.Json()["media_ids"], nlohmann::json({images[0]}));
    EXPECT_EQ(client().Delete("/api/v1/media/" + images[1], user_.access_token).status, 204);
    auto too_many = client().Patch("/api/v1/posts/" + post_id, {{"media_ids", images}}, user_.access_token);
    EXPECT_EQ(too_many.status, 400);
}

// The queue hands a post's media to the adapter: the sandbox reads every file it is given,
// so a post publishes with its media, and one whose file vanished from the store fails saying
// which item, in words, without a retry.
TEST_F(MediaApiTest, MediaReachesTheAdapterAndAMissingFileFailsPlainly) {
    const std::string account = SandboxAccount(user_);
    auto a = Upload({{"a.png", ReadFile(kData / "small.png")}});
    auto b = Upload({{"b.jpg", ReadFile(kData / "small.jpg")}});
    ASSERT_EQ(a.status, 201);
    ASSERT_EQ(b.status, 201);
    const std::string a_id = a.Json()["items"][0]["id"], b_id = b.Json()["items"][0]["id"];
    const std::string now = domain::FormatRfc3339(core::SystemClock().Now());
    auto post = [&](const std::string& media_id) {
        auto r = client().Post("/api/v1/posts",
                               {{"text", "with " + media_id},
                                {"account_ids", {account}},
                                {"scheduled_at", now},
                                {"media_ids", {media_id}}},
                               user_.access_token);
        EXPECT_EQ(r.status, 201) << r.body;
        return r.Json().value("id", "");
    };
    auto published = WaitForPostStatus(user_, post(a_id), "published", std::chrono::seconds(10));
    EXPECT_EQ(published["status"], "published") << published.dump();

    // b's file disappears behind Herald's back (a disk restored without it).
    for (const auto& e : std::filesystem::recursive_directory_iterator(MediaDir())) {
        if (e.is_regular_file() && e.path().extension() == ".jpg" &&
            e.path().filename().string().find(".thumb.") == std::string::npos) {
            std::filesystem::remove(e.path());
        }
    }
    auto failed = WaitForPostStatus(user_, post(b_id), "failed", std::chrono::seconds(10));
    ASSERT_EQ(failed["status"], "failed") << failed.dump();
    EXPECT_EQ(failed["deliveries"][0]["error"], "the file of media item " + b_id + " is missing from storage");
    EXPECT_EQ(failed["deliveries"][0]["attempts"], 1);
}

TEST_F(MediaApiTest, AnImageTooLargeForAPlatformCanBeConvertedOnRequest) {
    const std::string account = SandboxAccount(user_);
    auto up = Upload({{"noise.png", ReadFile(kData / "noise.png")}}, {"static"});
    ASSERT_EQ(up.status, 201) << up.body;
    const auto original = up.Json()["items"][0];
    const std::string id = original["id"];
    ASSERT_GT(original["bytes"].get<uint64_t>(), 1'000'000u);
    auto post = [&](const std::string& media_id) {
        return client().Post("/api/v1/posts",
                             {{"text", "noise"},
                              {"account_ids", {account}},
                              {"scheduled_at", "2030-01-01T10:00:00Z"},
                              {"media_ids", {media_id}}},
                             user_.access_token);
    };
    auto refused = post(id);
    EXPECT_EQ(refused.status, 400);
    EXPECT_EQ(refused.Json()["error"]["details"]["rule"], "max_bytes") << refused.body;
    EXPECT_EQ(refused.Json()["error"]["details"]["fix"], "convert");

    auto converted = client().Post("/api/v1/media/" + id + "/convert", {{"platform", "sandbox"}}, user_.access_token);
    ASSERT_EQ(converted.status, 201) << converted.body;
    const auto made = converted.Json()["items"][0];
    EXPECT_NE(made["id"], id);
    EXPECT_EQ(made["mime_type"], "image/jpeg");
    EXPECT_LE(made["bytes"].get<uint64_t>(), 1'000'000u);
    EXPECT_EQ(made["alt_text"], "static");
    EXPECT_EQ(made["name"], "noise-sandbox.jpg");
    EXPECT_GT(made["width"].get<int>(), 0);
    // The original is untouched, and the new item goes where the original could not.
    auto again = client().Get("/api/v1/media/" + id, user_.access_token).Json();
    EXPECT_EQ(again["sha256"], original["sha256"]);
    EXPECT_EQ(again["bytes"], original["bytes"]);
    EXPECT_EQ(post(made["id"]).status, 201);

    auto not_needed = client().Post("/api/v1/media/" + made["id"].get<std::string>() + "/convert",
                                    {{"platform", "sandbox"}}, user_.access_token);
    EXPECT_EQ(not_needed.status, 409);
    EXPECT_EQ(not_needed.Json()["error"]["details"]["rule"], "not_needed");
    auto unknown = client().Post("/api/v1/media/" + id + "/convert", {{"platform", "myspace"}}, user_.access_token);
    EXPECT_EQ(unknown.status, 400);
}

class PublicLinksMediaTest : public MediaApiTest {
  protected:
    static constexpr const char* kKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    void Configure(core::Config& c) override {
        c.public_base_url = "https://media.example.test/";  // the trailing slash is dropped
        c.secret_key = kKey;
    }
    // The path and query of a link, to fetch it from this server.
    static std::string Local(const std::string& link) {
        return link.substr(std::string("https://media.example.test").size());
    }
};

TEST_F(PublicLinksMediaTest, SignedLinksServeTheFileUntilTheyExpire) {
    const auto bytes = ReadFile(kData / "clip.mp4");
    auto r = Upload({{"clip.mp4", bytes}});
    ASSERT_EQ(r.status, 201) << r.body;
    const auto item = r.Json()["items"][0];
    const std::string link = item["public_url"];
    ASSERT_EQ(
        link.rfind("https://media.example.test/api/v1/public/media/" + item["id"].get<std::string>() + ".mp4?", 0), 0u)
        << link;
    // No token needed; the bytes as uploaded, with their real type.
    auto got = client().Get(Local(link));
    EXPECT_EQ(got.status, 200);
    EXPECT_EQ(got.headers["content-type"], "video/mp4");
    EXPECT_EQ(got.body, bytes);
    // Any change to the link breaks it.
    const std::string other_ws = Register("Other").workspace_id;
    std::string moved = Local(link);
    moved.replace(moved.find("w=") + 2, other_ws.size(), other_ws);
    EXPECT_EQ(client().Get(moved).status, 403);
    std::string later = Local(link);
    const auto e = later.find("e=") + 2;
    later[e] = later[e] == '9' ? '8' : static_cast<char>(later[e] + 1);
    EXPECT_EQ(client().Get(later).status, 403);
    // A correctly signed link whose time has passed is refused too.
    auth::SecretKey master;
    auto parsed = auth::ParseSecretKey(kKey);
    ASSERT_TRUE(parsed.has_value());
    master = *parsed;
    const auth::UrlSigner signer(auth::DeriveKey(master, auth::kUrlSubkey, auth::kKdfContext));
    const std::string id = item["id"], ws = user_.workspace_id, past = "1700000000";
    const std::string expired = "/api/v1/public/media/" + id + ".mp4?w=" + ws + "&e=" + past +
                                "&s=" + signer.Sign("media\n" + ws + "\n" + id + "\n" + past);
    auto old = client().Get(expired);
    EXPECT_EQ(old.status, 403) << old.body;
    EXPECT_EQ(old.Json()["error"]["message"], "this media link is not valid or has expired");
    // Once the item is deleted, its link finds nothing.
    ASSERT_EQ(client().Delete("/api/v1/media/" + id, user_.access_token).status, 204);
    EXPECT_EQ(client().Get(Local(link)).status, 404);
}

// media_store s3: the same API over a bucket on a real S3-compatible server. Nothing but the
// spool and the read cache is on this node's disk.
class S3MediaApiTest : public PublicLinksMediaTest {
  protected:
    void Configure(core::Config& c) override {
        PublicLinksMediaTest::Configure(c);
        c.media_store = "s3";
        c.media_s3_endpoint = S3TestEndpoint();
        c.media_s3_bucket = "herald-test";
        c.media_s3_access_key_id = "S3RVER";
        c.media_s3_secret_access_key = "S3RVER";
        c.media_s3_prefix = prefix_;
    }
    // The bucket as another node sees it (its own empty cache).
    std::unique_ptr<media::S3MediaStore> Bucket() {
        media::S3Options o;
        o.endpoint = S3TestEndpoint();
        o.bucket = "herald-test";
        o.access_key_id = o.secret_access_key = "S3RVER";
        o.prefix = prefix_;
        o.local_dir = data_dir_ / "other-node";
        auto s = std::make_unique<media::S3MediaStore>(o);
        EXPECT_TRUE(s->Open().has_value());
        return s;
    }
    static std::string KeyOf(const nlohmann::json& item, const std::string& ws, const std::string& ext) {
        const std::string created = item["created_at"];  // 2026-11-24T…
        return ws + "/" + created.substr(0, 4) + "/" + created.substr(5, 2) + "/" + item["sha256"].get<std::string>() +
               "." + ext;
    }
    std::string prefix_ = "api" + std::to_string(std::random_device{}()) + "/";
};

TEST_F(S3MediaApiTest, UploadsLiveInTheBucketAndAreServedFromIt) {
    const auto video = ReadFile(kData / "clip.mp4");
    auto r = Upload({{"clip.mp4", video}, {"a.jpg", ReadFile(kData / "small.jpg")}});
    ASSERT_EQ(r.status, 201) << r.body;
    const auto clip = r.Json()["items"][0];
    auto bucket = Bucket();
    const std::string key = KeyOf(clip, user_.workspace_id, "mp4");
    EXPECT_EQ(bucket->Exists(key), true) << key;
    auto copy = bucket->ReadablePath(key);
    ASSERT_TRUE(copy.has_value()) << copy.error().message;
    EXPECT_EQ(ReadFile(*copy), video);
    EXPECT_EQ(bucket->Exists(KeyOf(clip, user_.workspace_id, "thumb.jpg")), true);
    // Nothing of the upload stays in the spool.
    EXPECT_TRUE(std::filesystem::is_empty(MediaDir() / ".spool"));

    // Served to the dashboard and to platforms, also once this node's cache has lost them.
    std::filesystem::remove_all(MediaDir() / ".cache");
    auto thumb = client().Get(clip["thumbnail_url"].get<std::string>(), user_.access_token);
    EXPECT_EQ(thumb.status, 200);
    EXPECT_EQ(thumb.headers["content-type"], "image/jpeg");
    auto pulled = client().Get(Local(clip["public_url"]));
    EXPECT_EQ(pulled.status, 200);
    EXPECT_EQ(pulled.body, video);

    // The same bytes again: one object. Deleting the last item that uses it removes it.
    auto again = Upload({{"again.mp4", video}});
    ASSERT_EQ(again.status, 201) << again.body;
    EXPECT_EQ(client().Delete("/api/v1/media/" + clip["id"].get<std::string>(), user_.access_token).status, 204);
    EXPECT_EQ(bucket->Exists(key), true);
    const std::string again_id = again.Json()["items"][0]["id"];
    EXPECT_EQ(client().Delete("/api/v1/media/" + again_id, user_.access_token).status, 204);
    EXPECT_EQ(bucket->Exists(key), false);
    EXPECT_EQ(bucket->Exists(KeyOf(clip, user_.workspace_id, "thumb.jpg")), false);
}

TEST(S3MediaConfig, MissingSettingsStopTheServerWithTheirName) {
    core::Config c;
    c.data_dir = MakeTempDir("herald-s3-config").string();
    c.listen_port = 0;
    c.media_store = "s3";
    c.media_s3_endpoint = "http://127.0.0.1:1";
    c.media_s3_bucket = "b";
    auto host = api::Host::Start(c);
    ASSERT_FALSE(host.has_value());
    EXPECT_EQ(host.error().message, "media_store s3 needs config media_s3_access_key_id to be set");
    std::filesystem::remove_all(c.data_dir);
}

TEST_F(MediaApiTest, WithoutAPublicBaseUrlThereAreNoLinks) {
    auto r = Upload({{"a.png", ReadFile(kData / "small.png")}});
    EXPECT_TRUE(r.Json()["items"][0]["public_url"].is_null());
}

class FromUrlMediaTest : public MediaApiTest {
  protected:
    void Configure(core::Config& c) override {
        tiny_ = std::make_unique<TinyHttpServer>(std::map<std::string, std::string>{
            {"/small.png", ReadFile(kData / "small.png")}, {"/big", std::string(102400, 'b')}});
        // The test server is on loopback, which is blocked like any private address: let this
        // one address through, as an operator would for an intranet media server.
        c.media_fetch_allowed_addresses = "10.9.9.9:80, 127.0.0.1:" + std::to_string(tiny_->port());
        c.media_max_image_bytes = 20000;
        c.media_max_video_bytes = 50000;
    }
    HttpResult FromUrl(const std::string& url) {
        return client().Post("/api/v1/media/from-url", {{"url", url}, {"alt_text", "fetched"}}, user_.access_token);
    }
    std::unique_ptr<TinyHttpServer> tiny_;
};

TEST_F(FromUrlMediaTest, DownloadsAndChecksLikeAnUpload) {
    auto r = FromUrl(tiny_->Url("/small.png"));
    ASSERT_EQ(r.status, 201) << r.body;
    const auto item = r.Json()["items"][0];
    EXPECT_EQ(item["mime_type"], "image/png");
    EXPECT_EQ(item["name"], "small.png");
    EXPECT_EQ(item["alt_text"], "fetched");
    EXPECT_EQ(item["width"], 64);
    EXPECT_EQ(FilesOnDisk().second, 0u);
}

TEST_F(FromUrlMediaTest, PrivateAddressesAreRefusedDirectlyByNameAndThroughRedirects) {
    const std::string herald = "http://127.0.0.1:" + std::to_string(port()) + "/healthz";
    for (const std::string& url :
         {herald, std::string("http://localhost:") + std::to_string(port()) + "/healthz",
          std::string("http://169.254.169.254/latest/meta-data/"), std::string("http://10.0.0.1/a.jpg"),
          std::string("http://[::1]:1/a.jpg"), std::string("http://[::ffff:127.0.0.1]:1/a.jpg"),
          std::string("http://0.0.0.0:1/"), tiny_->Url("/go?to=" + herald)}) {
        auto r = FromUrl(url);
        EXPECT_EQ(r.status, 400) << url << ": " << r.body;
        EXPECT_EQ(r.Json()["error"]["details"].value("rule", ""), "blocked_address") << url << ": " << r.body;
    }
    ExpectRefusedLeavingNothing(FromUrl(herald), 400, "blocked_address");
}

TEST_F(FromUrlMediaTest, OtherFailuresSaySo) {
    ExpectRefusedLeavingNothing(FromUrl("file:///etc/passwd"), 400, "url");
    ExpectRefusedLeavingNothing(FromUrl("ftp://example.com/a.jpg"), 400, "url");
    ExpectRefusedLeavingNothing(FromUrl(tiny_->Url("/missing.jpg")), 400, "download_failed");
    ExpectRefusedLeavingNothing(FromUrl(tiny_->Url("/big")), 413, "max_bytes");
    // A redirect to another allowed URL is followed.
    auto r = FromUrl(tiny_->Url("/go?to=" + tiny_->Url("/small.png")));
    EXPECT_EQ(r.status, 201) << r.body;
}

TEST(MediaFetch, BlockedAddresses) {
    for (const char* a : {"127.0.0.1",
                          "10.1.2.3",
                          "172.16.0.1",
                          "172.31.255.255",
                          "192.168.1.1",
                          "169.254.169.254",
                          "100.64.0.1",
                          "0.0.0.0",
                          "224.0.0.1",
                          "255.255.255.255",
                          "::1",
                          "::",
                          "fe80::1",
                          "fc00::1",
                          "fd12:3456::1",
                          "::ffff:10.0.0.1",
                          "::ffff:127.0.0.1",
                          "64:ff9b::a9fe:a9fe",
                          "ff02::1",
                          "2001:db8::1",
                          "not an address"}) {
        EXPECT_TRUE(core::IsBlockedAddress(a)) << a;
    }
    for (const char* a :
         {"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"}) {
        EXPECT_FALSE(core::IsBlockedAddress(a)) << a;
    }
}

class SmallLimitsMediaTest : public MediaApiTest {
  protected:
    void Configure(core::Config& c) override {
        c.media_max_image_bytes = 2048;
        c.media_max_video_bytes = 4096;
    }
};

TEST_F(SmallLimitsMediaTest, ImageOverItsLimitIsTooLarge) {
    // Within the request's limits (the largest file a request may carry is a video's, 4096
    // bytes here), over the image limit (2048) once sniffed.
    const auto png = ReadFile(kData / "small.png");
    ASSERT_LT(png.size(), 1000u) << "the fixture grew; pick a smaller one";
    auto r = Upload({{"photo.png", png + std::string(2500 - png.size(), '\0')}});
    ExpectRefusedLeavingNothing(r, 413, "max_bytes");
}

TEST_F(SmallLimitsMediaTest, BodyOverTheLargestFileStopsEarly) {
    auto r = Upload({{"huge.mp4", std::string(64 * 1024, 'v')}});
    ExpectRefusedLeavingNothing(r, 413, "max_bytes");
}

class SlowUploadTest : public MediaApiTest {
  protected:
    void Configure(core::Config& c) override {
        c.upload_min_bytes_per_second = 100000;
        c.upload_rate_grace_seconds = 1;
    }
};

// A plain TCP connection to the server, for what an HTTP client library would not do.
int RawConnect(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

TEST_F(MediaApiTest, ExpectContinueIsAnsweredBeforeTheBody) {
    // curl asks with any body over 1 MB and waits a second before sending it anyway.
    const std::string form = Form({{"a.png", ReadFile(kData / "small.png")}});
    const int fd = RawConnect(port());
    const std::string head = "POST /api/v1/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + user_.access_token +
                             "\r\nContent-Type: multipart/form-data; boundary=" + kBoundary +
                             "\r\nExpect: 100-continue\r\nContent-Length: " + std::to_string(form.size()) + "\r\n\r\n";
    ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    EXPECT_EQ(std::string(buf, static_cast<size_t>(n)).substr(0, 25), "HTTP/1.1 100 Continue\r\n\r\n");
    ASSERT_EQ(::send(fd, form.data(), form.size(), MSG_NOSIGNAL), static_cast<ssize_t>(form.size()));
    std::string answer;
    while (answer.find("\"items\"") == std::string::npos && (n = ::recv(fd, buf, sizeof buf, 0)) > 0) {
        answer.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    EXPECT_NE(answer.find("HTTP/1.1 201"), std::string::npos) << answer;
}

TEST_F(SlowUploadTest, TricklingClientIsCutOffAndLeavesNothing) {
    const int fd = RawConnect(port());
    const std::string head =
        "--" + kBoundary + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"slow.jpg\"\r\n\r\n";
    const std::string req = "POST /api/v1/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + user_.access_token +
                            "\r\nContent-Type: multipart/form-data; boundary=" + kBoundary +
                            "\r\nContent-Length: 1000000\r\n\r\n" + head;
    ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
    std::string answer;
    const auto started = std::chrono::steady_clock::now();
    timeval tv{0, 100000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);  // a tenth of a second per round
    // 20 bytes every 100 ms: 200 bytes/s, far under the 100,000 required after 1 s.
    while (std::chrono::steady_clock::now() - started < std::chrono::seconds(20)) {
        if (::send(fd, "xxxxxxxxxxxxxxxxxxxx", 20, MSG_NOSIGNAL) < 0) break;
        char buf[4096];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) answer.append(buf, static_cast<size_t>(n));
        if (n == 0 || answer.find("\r\n\r\n") != std::string::npos) break;
    }
    ::close(fd);
    EXPECT_NE(answer.find("HTTP/1.1 408"), std::string::npos) << answer;
    EXPECT_NE(answer.find("too slow"), std::string::npos) << answer;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
    EXPECT_EQ(FilesOnDisk(), (std::pair<size_t, size_t>{0, 0}));
}

}  // namespace
}  // namespace herald::testing
