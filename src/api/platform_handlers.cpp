#include "api/api.hpp"

namespace herald::api {

// GET /api/v1/platforms: what each platform accepts, as the server checks it, so that a client
// (the dashboard's counters and media pickers) applies the same rules before sending.
net::Response Api::ListPlatforms(const net::Request&, const app::Principal&, const Params&) {
    nlohmann::json items = nlohmann::json::array();
    if (deps_.platforms != nullptr) {
        for (const auto& name : deps_.platforms->Names()) {
            const app::PlatformAdapter* adapter = deps_.platforms->Find(name);
            if (adapter == nullptr) continue;
            const auto l = adapter->Limits();
            const auto& m = l.media;
            nlohmann::json formats = nlohmann::json::array();
            for (auto f : m.formats) formats.push_back(domain::MimeType(f));
            auto opt = [](auto v) { return v > 0 ? nlohmann::json(v) : nlohmann::json(nullptr); };
            items.push_back({{"name", name},
                             {"auth",
                              {{"method", app::ToString(adapter->Auth())},
                               // OAuth platforms: whether this server can connect accounts now.
                               {"oauth_ready", adapter->OAuthReady()}}},
                             {"text",
                              {{"max_length", l.max_text_chars},
                               {"counted_in", domain::ToString(l.counting)},
                               {"max_bytes", opt(l.max_text_bytes)}}},
                             {"max_thread_replies", l.max_thread_items},
                             {"first_comment", l.first_comment},
                             {"media",
                              {{"max_images", m.max_images},
                               {"max_videos", m.max_videos},
                               {"mix_images_and_videos", m.mix_images_and_videos},
                               {"requires_media", m.requires_media},
                               {"max_image_bytes", opt(m.max_image_bytes)},
                               {"max_video_bytes", opt(m.max_video_bytes)},
                               {"min_video_ms", opt(m.min_video_ms)},
                               {"max_video_ms", opt(m.max_video_ms)},
                               {"min_aspect_ratio", opt(m.min_aspect_ratio)},
                               {"max_aspect_ratio", opt(m.max_aspect_ratio)},
                               {"formats", formats},
                               {"pulls_from_url", m.pulls_from_url}}}});
        }
    }
    nlohmann::json uploads = nullptr;
    if (deps_.media != nullptr) {
        const auto& lim = deps_.media->Limits();
        uploads = {{"max_image_bytes", lim.max_image_bytes},
                   {"max_video_bytes", lim.max_video_bytes},
                   {"max_files_per_request", lim.max_files_per_request},
                   {"max_alt_text_bytes", lim.max_alt_text},
                   {"public_links", deps_.media->PublicLinksOn()}};
    }
    return JsonResponse(200, {{"items", items}, {"uploads", uploads}});
}

}  // namespace herald::api
