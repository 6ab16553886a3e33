// The streaming multipart reader: the same form fed whole, byte by byte and in every two-piece
// split must give the same parts; limits and malformed bodies fail with nothing left on disk.
// (It writes spool files, so it lives with the I/O tests rather than the unit tests.)

#include "net/multipart.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "server_fixture.hpp"

namespace herald::testing {
namespace {

using net::MultipartLimits;
using net::MultipartParser;

std::string Slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

size_t FilesIn(const std::filesystem::path& dir) {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
    return n;
}

// A boundary that also appears, almost, inside the file: "\r\n--XyZ" without the last letter.
const std::string kBoundary = "XyZb0undary";
const std::string kFileBytes = std::string("\x89PNG\r\n--XyZb0undar\r\n\0binary", 27) + std::string(3000, 'q');

std::string Form() {
    return "preamble to ignore\r\n"
           "--" +
           kBoundary +
           "\r\n"
           "Content-Disposition: form-data; name=\"alt_text\"\r\n\r\n"
           "A cat, \"asleep\"\r\n"
           "--" +
           kBoundary +
           "\r\n"
           "Content-Disposition: form-data; name=\"files\"; filename=\"../../etc/cat.png\"\r\n"
           "Content-Type: image/png\r\n\r\n" +
           kFileBytes + "\r\n--" + kBoundary + "--\r\nepilogue";
}

class MultipartTest : public ::testing::Test {
  protected:
    void SetUp() override { spool_ = MakeTempDir("herald-multipart"); }
    void TearDown() override { std::filesystem::remove_all(spool_); }
    std::filesystem::path spool_;
};

void ExpectForm(std::vector<net::UploadPart> parts) {
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].name, "alt_text");
    EXPECT_FALSE(parts[0].filename);
    EXPECT_EQ(parts[0].value, "A cat, \"asleep\"");
    EXPECT_EQ(parts[1].name, "files");
    ASSERT_TRUE(parts[1].filename);
    EXPECT_EQ(*parts[1].filename, "../../etc/cat.png");  // kept as sent; never used as a path
    EXPECT_EQ(parts[1].content_type, "image/png");
    EXPECT_EQ(parts[1].size, kFileBytes.size());
    EXPECT_EQ(Slurp(parts[1].path), kFileBytes);
}

TEST_F(MultipartTest, BoundaryFromContentType) {
    EXPECT_EQ(net::MultipartBoundary("multipart/form-data; boundary=abc"), "abc");
    EXPECT_EQ(net::MultipartBoundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\""), "a b");
    EXPECT_FALSE(net::MultipartBoundary("multipart/form-data"));
    EXPECT_FALSE(net::MultipartBoundary("application/json; boundary=abc"));
    EXPECT_FALSE(net::MultipartBoundary("multipart/form-data; boundary=" + std::string(71, 'a')));
}

TEST_F(MultipartTest, SameMeaningWholeByteByByteAndAtEverySplit) {
    const std::string form = Form();
    {
        MultipartParser p(kBoundary, spool_, {});
        ASSERT_TRUE(p.Feed(form));
        ASSERT_TRUE(p.Finish());
        ExpectForm(p.TakeParts());
    }
    {
        MultipartParser p(kBoundary, spool_, {});
        for (char c : form) ASSERT_TRUE(p.Feed(std::string_view(&c, 1)));
        ASSERT_TRUE(p.Finish());
        ExpectForm(p.TakeParts());
    }
    for (size_t cut = 1; cut < form.size(); cut += 7) {
        MultipartParser p(kBoundary, spool_, {});
        ASSERT_TRUE(p.Feed(std::string_view(form).substr(0, cut))) << cut;
        ASSERT_TRUE(p.Feed(std::string_view(form).substr(cut))) << cut;
        ASSERT_TRUE(p.Finish()) << cut;
        auto parts = p.TakeParts();
        ASSERT_EQ(parts.size(), 2u) << cut;
        ASSERT_EQ(Slurp(parts[1].path), kFileBytes) << cut;
        std::filesystem::remove(parts[1].path);
    }
}

TEST_F(MultipartTest, UntakenFilesAreDeletedWithTheParser) {
    {
        MultipartParser p(kBoundary, spool_, {});
        ASSERT_TRUE(p.Feed(Form()));
        EXPECT_EQ(FilesIn(spool_), 1u);
    }
    EXPECT_EQ(FilesIn(spool_), 0u);
}

TEST_F(MultipartTest, TruncatedFormFailsAndLeavesNothing) {
    const std::string form = Form();
    MultipartParser p(kBoundary, spool_, {});
    ASSERT_TRUE(p.Feed(std::string_view(form).substr(0, form.size() / 2)));
    auto end = p.Finish();
    ASSERT_FALSE(end);
    EXPECT_EQ(end.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_EQ(end.error().details.at("rule"), "truncated");
    EXPECT_EQ(FilesIn(spool_), 0u);
}

TEST_F(MultipartTest, FileOverTheLimitStopsAsSoonAsItPassesIt) {
    MultipartLimits limits;
    limits.max_file_bytes = 1000;
    MultipartParser p(kBoundary, spool_, limits);
    auto s = p.Feed(Form());
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, core::ErrorCode::kPayloadTooLarge);
    EXPECT_EQ(FilesIn(spool_), 0u);
    EXPECT_FALSE(p.Feed("more"));  // refused for good
}

TEST_F(MultipartTest, TooManyFilesIsRefused) {
    MultipartLimits limits;
    limits.max_files = 2;
    std::string form;
    for (int i = 0; i < 3; ++i) {
        form += "--" + kBoundary + "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a" + std::to_string(i) +
                ".jpg\"\r\n\r\nxx\r\n";
    }
    form += "--" + kBoundary + "--\r\n";
    MultipartParser p(kBoundary, spool_, limits);
    auto s = p.Feed(form);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, core::ErrorCode::kPayloadTooLarge);
    EXPECT_EQ(s.error().details.at("rule"), "max_files");
    EXPECT_EQ(FilesIn(spool_), 0u);
}

TEST_F(MultipartTest, MalformedPartsAreRefused) {
    const std::vector<std::string> bad = {
        // no name
        "--" + kBoundary + "\r\nContent-Disposition: form-data\r\n\r\nx\r\n--" + kBoundary + "--",
        // not form-data
        "--" + kBoundary + "\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--" + kBoundary + "--",
        // header line without a colon
        "--" + kBoundary + "\r\nnonsense\r\n\r\nx\r\n--" + kBoundary + "--",
        // garbage after the boundary
        "--" + kBoundary + "garbage\r\n\r\n",
        // headers that never end
        "--" + kBoundary + "\r\nX-Long: " + std::string(20000, 'h'),
    };
    for (const auto& form : bad) {
        MultipartParser p(kBoundary, spool_, {});
        auto s = p.Feed(form);
        if (s) s = p.Finish();
        ASSERT_FALSE(s) << form.substr(0, 80);
        EXPECT_EQ(s.error().code, core::ErrorCode::kInvalidArgument) << form.substr(0, 80);
        EXPECT_EQ(FilesIn(spool_), 0u);
    }
}

TEST_F(MultipartTest, Rfc5987FileNameIsDecoded) {
    const std::string form = "--" + kBoundary +
                             "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"fallback.jpg\"; "
                             "filename*=UTF-8''caf%C3%A9.jpg\r\n\r\nxx\r\n--" +
                             kBoundary + "--\r\n";
    MultipartParser p(kBoundary, spool_, {});
    ASSERT_TRUE(p.Feed(form));
    ASSERT_TRUE(p.Finish());
    auto parts = p.TakeParts();
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_EQ(*parts[0].filename, "caf\xC3\xA9.jpg");
    std::filesystem::remove(parts[0].path);
}

}  // namespace
}  // namespace herald::testing
