#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include "app/ports.hpp"
#include "platforms/oauth.hpp"

namespace herald::platforms {

class Registry final : public app::PlatformRegistry {
  public:
    void Add(std::unique_ptr<app::PlatformAdapter> adapter);
    app::PlatformAdapter* Find(std::string_view name) const override;
    std::vector<std::string> Names() const override;

  private:
    std::map<std::string, std::unique_ptr<app::PlatformAdapter>, std::less<>> adapters_;
};

/// What the adapters share from the operator's configuration.
struct PlatformOptions {
    /// "ip:port" pairs that servers an account names itself (a Bluesky PDS, a Mastodon
    /// instance) may be on although private: a PDS on the office network, the tests' servers.
    std::set<std::string> allowed_addresses;
    /// Where a platform's API is, by platform name, where it is not the platform's own address
    /// (a proxy, a regional endpoint, the tests' fakes): "telegram" → https://api.telegram.org.
    std::map<std::string, std::string> base_urls;
    /// API versions by platform name, where not in the base URL: "linkedin" → "202605".
    std::map<std::string, std::string> api_versions;
    /// The OAuth clients the operator registered with the platforms, by platform name; a
    /// platform without one cannot have accounts connected.
    std::map<std::string, OAuthClient> oauth_clients;
};

/// Every adapter this build has, wired to its dependencies.
std::unique_ptr<Registry> BuiltinRegistry(app::Store& store, const core::Clock& clock,
                                          const PlatformOptions& options = {});

}  // namespace herald::platforms
