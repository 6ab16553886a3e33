#include "process.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <thread>

namespace herald::testing {

Child Spawn(const std::vector<std::string>& args, const std::string& stdin_text) {
    // Built before fork: a test may spawn while its other threads run, and the child must not
    // allocate between fork and exec.
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int out[2], in[2];
    EXPECT_EQ(pipe(out), 0);
    EXPECT_EQ(pipe(in), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(out[1], 2);
        close(out[0]);
        close(in[1]);
        execv(argv[0], argv.data());
        _exit(127);
    }
    close(out[1]);
    close(in[0]);
    if (!stdin_text.empty()) {
        EXPECT_EQ(write(in[1], stdin_text.data(), stdin_text.size()), static_cast<ssize_t>(stdin_text.size()));
    }
    close(in[1]);
    return Child{pid, out[0]};
}

std::string ReadAll(int fd) {
    std::string s;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
    close(fd);
    return s;
}

int Wait(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::optional<int> WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        int status = 0;
        const pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0 || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

RunResult RunHerald(const std::vector<std::string>& args, const std::string& stdin_text) {
    std::vector<std::string> full = {HERALD_BINARY};
    full.insert(full.end(), args.begin(), args.end());
    auto c = Spawn(full, stdin_text);
    std::string out = ReadAll(c.out_fd);
    return RunResult{Wait(c.pid), out};
}

uint16_t WaitForBanner(int fd, std::string& seen) {
    char buf[1024];
    std::smatch m;
    static const std::regex url(R"(Herald is running at http://127\.0\.0\.1:(\d+))");
    while (true) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) return 0;
        seen.append(buf, static_cast<size_t>(n));
        if (std::regex_search(seen, m, url)) return static_cast<uint16_t>(std::stoi(m[1]));
    }
}

}  // namespace herald::testing
