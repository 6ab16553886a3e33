#pragma once

// The dashboard's built files (web/, issue 8), served from a folder: the page itself for every
// dashboard route (a single-page app), assets whose names carry a content hash cached for a
// year, and a strict Content-Security-Policy on the page.

#include <optional>
#include <string>

#include "net/http.hpp"

namespace herald::net {

/// The Content-Security-Policy the dashboard's page is served with: only this origin's scripts,
/// styles, images and connections (and its WebSocket), no framing, no inline script.
extern const char* const kDashboardCsp;

/// Answers GET `path` from `root`, or nullopt when the path is not the dashboard's (the API's
/// own paths, /healthz, /readyz, /metrics). A path that names no file and has no extension is
/// a dashboard route: index.html. A missing asset, or a path that tries to leave `root`, is a 404.
std::optional<Response> ServeStatic(const std::string& root, const std::string& path);

}  // namespace herald::net
