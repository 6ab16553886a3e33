#pragma once

#include <chrono>
#include <set>
#include <string>

#include "app/ports.hpp"

namespace herald::media {

/// libcurl, http and https only, no proxy from the environment. Every connection curl opens,
/// redirects included, is checked at the moment of connecting, after DNS resolution: a name
/// that resolves (or re-resolves) to a blocked address is refused, and so is a redirect to one.
class CurlFetcher final : public app::MediaFetcher {
  public:
    /// `allowed`: "ip:port" pairs let through although blocked (an intranet server, tests).
    CurlFetcher(std::set<std::string> allowed, std::chrono::seconds timeout);
    core::Result<app::FetchedFile> Fetch(const std::string& url, const std::filesystem::path& dest,
                                         uint64_t max_bytes) override;

  private:
    std::set<std::string> allowed_;
    std::chrono::seconds timeout_;
};

}  // namespace herald::media
