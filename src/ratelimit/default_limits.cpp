// The platforms' default posting limits, shipped as data. An operator reads them with
// `herald limits` (to come) and may replace them; a workspace may only lower them. Sources:
// the issue's figures and ../shared/reference/platforms.md, where each one is cited.
#include <string_view>

namespace herald::ratelimit {

extern const std::string_view kDefaultLimitsJson;
const std::string_view kDefaultLimitsJson = R"JSON({
  "tiktok":    {"post": {"per_hour": 3, "per_day": 10}},
  "instagram": {"note": "media_publish: 50 per 24 h by Meta's reference; Herald ships a safer default",
                "post": {"per_hour": 5, "per_day": 15}},
  "youtube":   {"post": {"per_hour": 5, "per_day": 20}},
  "x":         {"post": {"per_hour": 10, "per_day": 50}},
  "reddit":    {"post": {"per_hour": 2, "per_day": 10}},
  "threads":   {"note": "250 posts and 1,000 replies per 24 h",
                "post": {"per_day": 250}, "reply": {"per_day": 1000}},
  "bluesky":   {"note": "5,000 points an hour, 35,000 a day; creating a record costs 3",
                "post": {"per_hour": 1666, "per_day": 11666}, "reply": {"per_hour": 1666, "per_day": 11666}},
  "mastodon":  {"note": "300 requests per 5 minutes per account; media 30 per 30 minutes",
                "post": {"per_hour": 300}, "media_upload": {"per_hour": 60}},
  "telegram":  {"note": "about one message a second per chat",
                "post": {"min_gap_seconds": 1}},
  "discord":   {"note": "per-route limits reported by the API (429 retry_after)",
                "post": {"min_gap_seconds": 1}}
})JSON";

}  // namespace herald::ratelimit
