#include <gtest/gtest.h>

#include "domain/media.hpp"

namespace herald::domain {
namespace {

MediaItem Image(uint64_t bytes = 1000, uint32_t w = 1200, uint32_t h = 800, MediaFormat f = MediaFormat::kJpeg) {
    MediaItem m;
    m.kind = MediaKind::kImage;
    m.format = f;
    m.bytes = bytes;
    m.width = w;
    m.height = h;
    m.original_name = "photo.jpg";
    return m;
}

MediaItem Video(int64_t ms = 30'000, uint32_t w = 1080, uint32_t h = 1920) {
    MediaItem m;
    m.kind = MediaKind::kVideo;
    m.format = MediaFormat::kMp4;
    m.bytes = 5'000'000;
    m.width = w;
    m.height = h;
    m.duration_ms = ms;
    m.original_name = "clip.mp4";
    return m;
}

MediaRules BlueskyLike() {
    MediaRules r;
    r.max_images = 4;
    r.max_videos = 1;
    r.max_image_bytes = 1'000'000;
    r.max_video_ms = 180'000;
    return r;
}

std::string RuleOf(const core::Status& s) { return s ? "" : s.error().details.at("rule"); }

TEST(DomainMedia, CountsPerKindAndMixing) {
    const auto rules = BlueskyLike();
    EXPECT_TRUE(ValidateMedia({}, rules, "bluesky"));
    EXPECT_TRUE(ValidateMedia({Image(), Image(), Image(), Image()}, rules, "bluesky"));
    auto five = ValidateMedia({Image(), Image(), Image(), Image(), Image()}, rules, "bluesky");
    EXPECT_EQ(RuleOf(five), "max_images");
    EXPECT_EQ(five.error().message, "bluesky takes at most 4 images in a post; this one has 5");
    EXPECT_EQ(five.error().details.at("platform"), "bluesky");
    EXPECT_EQ(five.error().details.at("field"), "media_ids");
    EXPECT_EQ(RuleOf(ValidateMedia({Video(), Video()}, rules, "bluesky")), "max_videos");
    EXPECT_EQ(RuleOf(ValidateMedia({Image(), Video()}, rules, "bluesky")), "mixed_media");
    auto mixing = rules;
    mixing.mix_images_and_videos = true;
    EXPECT_TRUE(ValidateMedia({Image(), Video()}, mixing, "instagram"));
    EXPECT_EQ(RuleOf(ValidateMedia({Image()}, MediaRules{}, "textonly")), "no_media");
}

TEST(DomainMedia, RequiredMedia) {
    MediaRules r = BlueskyLike();
    r.requires_media = true;
    auto none = ValidateMedia({}, r, "Instagram");
    EXPECT_EQ(RuleOf(none), "required");
    EXPECT_EQ(none.error().message, "Instagram requires at least one image or video");
}

TEST(DomainMedia, SizeDurationAspectAndFormatNameTheItem) {
    auto rules = BlueskyLike();
    auto big = ValidateMedia({Image(), Image(1'500'000)}, rules, "bluesky");
    EXPECT_EQ(RuleOf(big), "max_bytes");
    EXPECT_EQ(big.error().details.at("field"), "media_ids[1]");
    EXPECT_EQ(big.error().message, "'photo.jpg' is 1.5 MB; bluesky takes images up to 1.0 MB");
    EXPECT_EQ(RuleOf(ValidateMedia({Video(181'000)}, rules, "bluesky")), "max_duration");
    rules.min_video_ms = 3000;
    EXPECT_EQ(RuleOf(ValidateMedia({Video(1000)}, rules, "bluesky")), "min_duration");
    rules.min_aspect_ratio = 0.8;
    rules.max_aspect_ratio = 1.91;
    EXPECT_TRUE(ValidateMedia({Image(1000, 1080, 1350)}, rules, "instagram"));  // 4:5 exactly
    EXPECT_EQ(RuleOf(ValidateMedia({Image(1000, 1080, 1920)}, rules, "instagram")), "aspect_ratio");
    EXPECT_EQ(RuleOf(ValidateMedia({Image(1000, 3000, 1000)}, rules, "instagram")), "aspect_ratio");
    rules.formats = {MediaFormat::kJpeg, MediaFormat::kPng};
    EXPECT_EQ(RuleOf(ValidateMedia({Image(1000, 1080, 1080, MediaFormat::kGif)}, rules, "instagram")), "format");
}

TEST(DomainMedia, PlatformsThatPullNeedAPublicLink) {
    MediaRules r = BlueskyLike();
    r.pulls_from_url = true;
    EXPECT_TRUE(ValidateMedia({Image()}, r, "instagram", true));
    auto no_link = ValidateMedia({Image()}, r, "instagram", false);
    EXPECT_EQ(RuleOf(no_link), "public_url");
    EXPECT_NE(no_link.error().message.find("public_base_url"), std::string::npos);
    EXPECT_TRUE(ValidateMedia({}, r, "instagram", false));  // nothing to download
}

TEST(DomainMedia, FileNamesAreCleanedToShow) {
    EXPECT_EQ(CleanFileName("../../etc/passwd"), "passwd");
    EXPECT_EQ(CleanFileName("C:\\Users\\me\\Holiday photo.jpg"), "Holiday photo.jpg");
    EXPECT_EQ(CleanFileName("..hidden"), "hidden");
    EXPECT_EQ(CleanFileName("a\"b'c`d\n\x01.png"), "abcd.png");
    EXPECT_EQ(CleanFileName(std::string(300, 'x')).size(), 200u);
    EXPECT_EQ(CleanFileName("\xff\xfe.jpg"), "");  // not UTF-8: nothing to show
    EXPECT_EQ(CleanFileName("caf\xC3\xA9.jpg"), "caf\xC3\xA9.jpg");
}

TEST(DomainMedia, FormatsAndTheirNames) {
    EXPECT_EQ(FormatFromMime("image/webp"), MediaFormat::kWebp);
    EXPECT_EQ(FormatFromMime("video/quicktime"), MediaFormat::kQuickTime);
    EXPECT_FALSE(FormatFromMime("image/bmp"));
    EXPECT_FALSE(FormatFromMime("video/x-matroska"));
    EXPECT_EQ(KindOf(MediaFormat::kWebm), MediaKind::kVideo);
    EXPECT_EQ(Extension(MediaFormat::kJpeg), "jpg");
    EXPECT_EQ(MimeType(MediaFormat::kMpeg), "video/mpeg");
}

}  // namespace
}  // namespace herald::domain
