#include "net/static_files.hpp"

#include <filesystem>
#include <map>
#include <regex>

namespace herald::net {

const char* const kDashboardCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

namespace {

namespace fs = std::filesystem;

std::string TypeOf(const fs::path& file) {
    static const std::map<std::string, std::string> kTypes = {{".html", "text/html; charset=utf-8"},
                                                              {".js", "text/javascript; charset=utf-8"},
                                                              {".mjs", "text/javascript; charset=utf-8"},
                                                              {".css", "text/css; charset=utf-8"},
                                                              {".json", "application/json"},
                                                              {".map", "application/json"},
                                                              {".svg", "image/svg+xml"},
                                                              {".png", "image/png"},
                                                              {".ico", "image/x-icon"},
                                                              {".webp", "image/webp"},
                                                              {".woff2", "font/woff2"},
                                                              {".txt", "text/plain; charset=utf-8"},
                                                              {".webmanifest", "application/manifest+json"}};
    auto it = kTypes.find(file.extension().string());
    return it == kTypes.end() ? "application/octet-stream" : it->second;
}

Response NotFound(const std::string& path) {
    return Response{404,
                    "application/json",
                    R"({"error":{"code":"not_found","message":"no such file: )" + path + R"(","details":{}}})",
                    {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}},
                    {}};
}

// A build's hashed file name: app-3f9a2b1c.js, index.B7xK2q9Z.css.
bool Hashed(const std::string& name) {
    static const std::regex kHash(R"(.*[.-][A-Za-z0-9_]{8,}\.[a-z0-9]+$)");
    return std::regex_match(name, kHash);
}

}  // namespace

std::optional<Response> ServeStatic(const std::string& root, const std::string& path) {
    if (path.rfind("/api/", 0) == 0 || path == "/api" || path == "/healthz" || path == "/readyz" ||
        path == "/metrics") {
        return std::nullopt;
    }
    auto decoded = PercentDecode(path);
    // Only plain names: no way out of the folder, no hidden files, nothing odd.
    if (!decoded || decoded->find("..") != std::string::npos || decoded->find('\\') != std::string::npos ||
        decoded->find('\0') != std::string::npos || decoded->find("/.") != std::string::npos) {
        return NotFound(path);
    }
    const fs::path base(root);
    const fs::path relative = fs::path(*decoded).relative_path();
    const fs::path file = base / relative;
    std::error_code ec;
    const bool is_file = !relative.empty() && fs::is_regular_file(file, ec);
    Response r;
    r.headers = {{"X-Content-Type-Options", "nosniff"}, {"Referrer-Policy", "no-referrer"}};
    if (is_file && relative.filename() != "index.html") {
        r.content_type = TypeOf(file);
        r.file = file.string();
        r.headers.emplace_back(
            "Cache-Control", Hashed(relative.filename().string()) ? "public, max-age=31536000, immutable" : "no-cache");
        return r;
    }
    // A file that is not there: a missing asset is a 404, a dashboard route is the page.
    if (relative.has_extension()) return NotFound(path);
    const fs::path index = base / "index.html";
    if (!fs::is_regular_file(index, ec)) return NotFound(path);
    r.content_type = "text/html; charset=utf-8";
    r.file = index.string();
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.headers.emplace_back("Content-Security-Policy", kDashboardCsp);
    r.headers.emplace_back("X-Frame-Options", "DENY");
    return r;
}

}  // namespace herald::net
