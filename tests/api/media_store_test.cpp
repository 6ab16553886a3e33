// The media store contract, on the local disk and on a real S3-compatible server (s3rver on
// loopback): put, read back, the same bytes stored once, remove; and what only the S3 store
// has: several nodes sharing one bucket, a read cache that stays within its size, and
// failures (no bucket, unknown key, no server) that say which setting is wrong.

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "media/local_store.hpp"
#include "media/s3_store.hpp"
#include "server_fixture.hpp"
#include "test_servers.hpp"

namespace herald::testing {
namespace {

namespace fs = std::filesystem;

void WriteFile(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary);
    out << bytes;
}

// A prefix of its own per test: the tests share one bucket.
std::string UniquePrefix() {
    std::random_device rd;
    return "t" + std::to_string(rd()) + std::to_string(rd()) + "/";
}

media::S3Options S3For(const fs::path& local_dir, const std::string& prefix) {
    media::S3Options o;
    o.endpoint = S3TestEndpoint();
    o.bucket = "herald-test";
    o.access_key_id = "S3RVER";
    o.secret_access_key = "S3RVER";
    o.prefix = prefix;
    o.local_dir = local_dir;
    return o;
}

class MediaStoreContract : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        dir_ = MakeTempDir("herald-store");
        if (GetParam() == "s3") {
            auto s3 = std::make_unique<media::S3MediaStore>(S3For(dir_, UniquePrefix()));
            ASSERT_TRUE(s3->Open().has_value());
            store_ = std::move(s3);
        } else {
            auto local = std::make_unique<media::LocalMediaStore>(dir_);
            ASSERT_TRUE(local->Open().has_value());
            store_ = std::move(local);
        }
    }
    void TearDown() override { fs::remove_all(dir_); }

    // A file in the spool, as an upload leaves it.
    fs::path Spooled(const std::string& bytes) {
        const fs::path p = store_->SpoolDir() / ("in-" + std::to_string(seq_++));
        WriteFile(p, bytes);
        return p;
    }

    fs::path dir_;
    std::unique_ptr<app::MediaStore> store_;
    int seq_ = 0;
};

TEST_P(MediaStoreContract, PutReadRemove) {
    const std::string key = "ws1/2026/11/abc.jpg";
    EXPECT_EQ(store_->Exists(key), false);
    auto missing = store_->ReadablePath(key);
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, core::ErrorCode::kNotFound);

    const auto in = Spooled("the bytes of a photo");
    ASSERT_TRUE(store_->Put(in, key).has_value());
    EXPECT_FALSE(fs::exists(in));  // taken in, not copied
    EXPECT_EQ(store_->Exists(key), true);
    auto path = store_->ReadablePath(key);
    ASSERT_TRUE(path.has_value()) << path.error().message;
    EXPECT_EQ(ReadBinaryFile(*path), "the bytes of a photo");

    // The same key again (the same content): the new file is dropped, the stored one stays.
    const auto again = Spooled("the bytes of a photo");
    ASSERT_TRUE(store_->Put(again, key).has_value());
    EXPECT_FALSE(fs::exists(again));
    EXPECT_EQ(ReadBinaryFile(*store_->ReadablePath(key)), "the bytes of a photo");

    ASSERT_TRUE(store_->Remove(key).has_value());
    EXPECT_EQ(store_->Exists(key), false);
    EXPECT_FALSE(store_->ReadablePath(key).has_value());
    EXPECT_TRUE(store_->Remove(key).has_value());  // removing nothing is not an error
}

TEST_P(MediaStoreContract, KeysThatLeaveTheirPlaceAreRefused) {
    const auto in = Spooled("x");
    for (const std::string key : {"../escape.jpg", "/abs.jpg", "a/../../b.jpg", "a//b.jpg", ".hidden", "a b.jpg"}) {
        auto put = store_->Put(in, key);
        ASSERT_FALSE(put.has_value()) << key;
        EXPECT_EQ(put.error().code, core::ErrorCode::kInternal);
        EXPECT_FALSE(store_->Exists(key).has_value()) << key;
        EXPECT_FALSE(store_->ReadablePath(key).has_value()) << key;
    }
    EXPECT_TRUE(fs::exists(in));
}

TEST_P(MediaStoreContract, BinaryContentAndNamesWithDotsSurvive) {
    std::string bytes(300 * 1024, '\0');
    std::mt19937 rng(7);
    for (auto& c : bytes) c = static_cast<char>(rng());
    const std::string key = "ws_2/2026/01/0f0e.thumb.jpg";
    ASSERT_TRUE(store_->Put(Spooled(bytes), key).has_value());
    EXPECT_EQ(ReadBinaryFile(*store_->ReadablePath(key)), bytes);
}

INSTANTIATE_TEST_SUITE_P(Stores, MediaStoreContract, ::testing::Values("local", "s3"),
                         [](const auto& info) { return info.param; });

class S3MediaStoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        a_dir_ = MakeTempDir("herald-s3-a");
        b_dir_ = MakeTempDir("herald-s3-b");
        prefix_ = UniquePrefix();
    }
    void TearDown() override {
        fs::remove_all(a_dir_);
        fs::remove_all(b_dir_);
    }
    fs::path Spooled(media::S3MediaStore& s, const std::string& name, const std::string& bytes) {
        const fs::path p = s.SpoolDir() / name;
        WriteFile(p, bytes);
        return p;
    }
    fs::path a_dir_, b_dir_;
    std::string prefix_;
};

TEST_F(S3MediaStoreTest, TwoNodesShareOneBucket) {
    media::S3MediaStore a(S3For(a_dir_, prefix_)), b(S3For(b_dir_, prefix_));
    ASSERT_TRUE(a.Open().has_value());
    ASSERT_TRUE(b.Open().has_value());
    const std::string key = "ws/2026/11/feed.mp4";
    ASSERT_TRUE(a.Put(Spooled(a, "up", "video bytes"), key).has_value());
    // Node b has never seen the file: it fetches it into its own cache.
    EXPECT_EQ(b.CacheBytes(), 0u);
    auto path = b.ReadablePath(key);
    ASSERT_TRUE(path.has_value()) << path.error().message;
    EXPECT_EQ(ReadBinaryFile(*path), "video bytes");
    EXPECT_EQ(path->parent_path().parent_path().parent_path().parent_path(), b.CacheDir());
    EXPECT_EQ(b.CacheBytes(), 11u);
    // Removed through node a, it is gone for node b too.
    ASSERT_TRUE(a.Remove(key).has_value());
    EXPECT_EQ(b.Exists(key), false);
    EXPECT_EQ(a.CacheBytes(), 0u);
    // Nothing left in either spool.
    EXPECT_TRUE(fs::is_empty(a.SpoolDir()));
    EXPECT_TRUE(fs::is_empty(b.SpoolDir()));
}

TEST_F(S3MediaStoreTest, TheReadCacheStaysWithinItsSize) {
    auto o = S3For(a_dir_, prefix_);
    o.cache_max_bytes = 250 * 1024;
    o.cache_min_age = std::chrono::seconds(0);
    media::S3MediaStore s(o);
    ASSERT_TRUE(s.Open().has_value());
    for (int i = 0; i < 5; ++i) {
        const std::string key = "ws/2026/11/f" + std::to_string(i) + ".png";
        ASSERT_TRUE(s.Put(Spooled(s, "f" + std::to_string(i), std::string(100 * 1024, char('a' + i))), key));
        EXPECT_LE(s.CacheBytes(), o.cache_max_bytes) << i;
    }
    // Trimmed files come back from the bucket when asked for.
    for (int i = 0; i < 5; ++i) {
        auto path = s.ReadablePath("ws/2026/11/f" + std::to_string(i) + ".png");
        ASSERT_TRUE(path.has_value()) << path.error().message;
        EXPECT_EQ(ReadBinaryFile(*path), std::string(100 * 1024, char('a' + i)));
        EXPECT_LE(s.CacheBytes(), o.cache_max_bytes);
    }
}

TEST_F(S3MediaStoreTest, WrongSettingsSayWhichOne) {
    auto no_bucket = S3For(a_dir_, prefix_);
    no_bucket.bucket = "no-such-bucket";
    auto r = media::S3MediaStore(no_bucket).Open();
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("no bucket named 'no-such-bucket'"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().details["field"], "media_s3_bucket");

    auto bad_key = S3For(a_dir_, prefix_);
    bad_key.access_key_id = "NOT-A-KEY";
    bad_key.secret_access_key = "very-secret-value";
    r = media::S3MediaStore(bad_key).Open();
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("refused access key 'NOT-A-KEY'"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find("very-secret-value"), std::string::npos);

    auto nobody = S3For(a_dir_, prefix_);
    nobody.endpoint = "http://127.0.0.1:1";
    r = media::S3MediaStore(nobody).Open();
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);
    EXPECT_NE(r.error().message.find("cannot be reached"), std::string::npos) << r.error().message;

    auto with_path = S3For(a_dir_, prefix_);
    with_path.endpoint += "/some/path";
    r = media::S3MediaStore(with_path).Open();
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().details["field"], "media_s3_endpoint");
}

TEST_F(S3MediaStoreTest, AnUnreachableStoreIsAnErrorNotAMissingFile) {
    media::S3MediaStore s(S3For(a_dir_, prefix_));
    ASSERT_TRUE(s.Open().has_value());
    auto gone = S3For(a_dir_, prefix_);
    gone.endpoint = "http://127.0.0.1:1";
    media::S3MediaStore down(gone);  // not opened: as if the server went away after start
    auto exists = down.Exists("ws/2026/11/x.jpg");
    ASSERT_FALSE(exists.has_value());
    EXPECT_EQ(exists.error().code, core::ErrorCode::kUnavailable);
    auto read = down.ReadablePath("ws/2026/11/x.jpg");
    ASSERT_FALSE(read.has_value());
    EXPECT_EQ(read.error().code, core::ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace herald::testing
