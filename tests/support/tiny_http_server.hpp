#pragma once

// A minimal HTTP server on loopback for tests that need a remote site: GET of a path in `files`
// answers its body, /go?to=URL redirects there (302), anything else is 404. One request per
// connection, answered on a thread of its own.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>

namespace herald::testing {

class TinyHttpServer {
  public:
    explicit TinyHttpServer(std::map<std::string, std::string> files) : files_(std::move(files)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        ::listen(fd_, 16);
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { Serve(); });
    }
    ~TinyHttpServer() {
        stop_ = true;
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
    }
    TinyHttpServer(const TinyHttpServer&) = delete;
    TinyHttpServer& operator=(const TinyHttpServer&) = delete;

    uint16_t port() const { return port_; }
    std::string Url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

  private:
    void Serve() {
        while (!stop_) {
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            std::string req;
            char buf[4096];
            while (req.find("\r\n\r\n") == std::string::npos) {
                const ssize_t n = ::recv(c, buf, sizeof buf, 0);
                if (n <= 0) break;
                req.append(buf, static_cast<size_t>(n));
            }
            const auto sp = req.find(' ');
            const std::string path = sp == std::string::npos ? "" : req.substr(sp + 1, req.find(' ', sp + 1) - sp - 1);
            std::string answer;
            if (auto it = files_.find(path); it != files_.end()) {
                answer = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(it->second.size()) +
                         "\r\nConnection: close\r\n\r\n" + it->second;
            } else if (path.rfind("/go?to=", 0) == 0) {
                answer = "HTTP/1.1 302 Found\r\nLocation: " + path.substr(7) +
                         "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            } else {
                answer = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            }
            ::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
            ::close(c);
        }
    }

    std::map<std::string, std::string> files_;
    int fd_ = -1;
    uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace herald::testing
