#include "platforms/registry.hpp"

#include "platforms/bluesky.hpp"
#include "platforms/discord.hpp"
#include "platforms/facebook.hpp"
#include "platforms/instagram.hpp"
#include "platforms/linkedin.hpp"
#include "platforms/mastodon.hpp"
#include "platforms/nostr.hpp"
#include "platforms/pinterest.hpp"
#include "platforms/reddit.hpp"
#include "platforms/sandbox.hpp"
#include "platforms/telegram.hpp"
#include "platforms/threads.hpp"
#include "platforms/tiktok.hpp"
#include "platforms/x.hpp"
#include "platforms/youtube.hpp"

namespace herald::platforms {

void Registry::Add(std::unique_ptr<app::PlatformAdapter> adapter) {
    std::string name(adapter->Name());
    adapters_[name] = std::move(adapter);
}

app::PlatformAdapter* Registry::Find(std::string_view name) const {
    auto it = adapters_.find(name);
    return it == adapters_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Registry::Names() const {
    std::vector<std::string> out;
    for (const auto& [name, _] : adapters_) out.push_back(name);
    return out;
}

std::unique_ptr<Registry> BuiltinRegistry(app::Store& store, const core::Clock& clock, const PlatformOptions& options) {
    auto r = std::make_unique<Registry>();
    r->Add(std::make_unique<SandboxAdapter>(store, clock));
    HttpOptions account_servers;
    account_servers.guard_private = true;
    account_servers.allowed = options.allowed_addresses;
    r->Add(std::make_unique<BlueskyAdapter>(clock, account_servers));
    r->Add(std::make_unique<NostrAdapter>(clock, account_servers));
    r->Add(std::make_unique<MastodonAdapter>(clock, account_servers));
    // The platforms' own APIs: the operator may point them elsewhere (a proxy), but they are
    // not account-given addresses; an override on a private address must be allowed too.
    auto base = [&](const std::string& name, const std::string& fallback) {
        auto it = options.base_urls.find(name);
        return it == options.base_urls.end() ? fallback : it->second;
    };
    r->Add(std::make_unique<TelegramAdapter>(clock, account_servers, base("telegram", "https://api.telegram.org")));
    r->Add(std::make_unique<DiscordAdapter>(clock, account_servers, base("discord", "https://discord.com")));
    auto client = [&](const std::string& name) -> std::optional<OAuthClient> {
        auto it = options.oauth_clients.find(name);
        if (it == options.oauth_clients.end()) return std::nullopt;
        return it->second;
    };
    r->Add(std::make_unique<XAdapter>(clock, account_servers, base("x", "https://api.x.com"), client("x")));
    // Meta's APIs carry their version in the base URL: an operator moves to a newer one there.
    r->Add(std::make_unique<ThreadsAdapter>(clock, account_servers, base("threads", "https://graph.threads.net/v1.0"),
                                            client("threads")));
    r->Add(std::make_unique<InstagramAdapter>(
        clock, account_servers, base("instagram", "https://graph.instagram.com/v23.0"),
        base("instagram_oauth", "https://api.instagram.com"), client("instagram")));
    auto version = [&](const std::string& name, const std::string& fallback) {
        auto it = options.api_versions.find(name);
        return it == options.api_versions.end() ? fallback : it->second;
    };
    r->Add(std::make_unique<FacebookAdapter>(clock, account_servers,
                                             base("facebook", "https://graph.facebook.com/v23.0"), client("facebook")));
    r->Add(std::make_unique<LinkedInAdapter>(clock, account_servers, base("linkedin", "https://api.linkedin.com"),
                                             base("linkedin_oauth", "https://www.linkedin.com"),
                                             version("linkedin", "202605"), client("linkedin")));
    r->Add(std::make_unique<YouTubeAdapter>(clock, account_servers, base("youtube", "https://www.googleapis.com"),
                                            base("youtube_token", "https://oauth2.googleapis.com/token"),
                                            client("youtube")));
    r->Add(std::make_unique<TikTokAdapter>(clock, account_servers, base("tiktok", "https://open.tiktokapis.com"),
                                           client("tiktok")));
    r->Add(std::make_unique<RedditAdapter>(clock, account_servers, base("reddit", "https://oauth.reddit.com"),
                                           base("reddit_www", "https://www.reddit.com"), client("reddit")));
    r->Add(std::make_unique<PinterestAdapter>(clock, account_servers, base("pinterest", "https://api.pinterest.com"),
                                              client("pinterest")));
    return r;
}

}  // namespace herald::platforms
