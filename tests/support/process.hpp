#pragma once

// Runs the herald binary as a child process, the way a user or an init system does.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace herald::testing {

struct Child {
    pid_t pid = -1;
    int out_fd = -1;  ///< stdout and stderr, merged
};

/// Starts `args[0]` with the rest as arguments; `stdin_text` is written to its standard input.
Child Spawn(const std::vector<std::string>& args, const std::string& stdin_text = "");
/// Reads until end of file, then closes `fd`.
std::string ReadAll(int fd);
/// Waits for the child; its exit code, or 128 + the signal that ended it.
int Wait(pid_t pid);
/// Like Wait, but gives up after `timeout`: nullopt while the child is still running.
std::optional<int> WaitFor(pid_t pid, std::chrono::milliseconds timeout);

struct RunResult {
    int code;
    std::string output;
};
/// Runs herald (HERALD_BINARY) to completion.
RunResult RunHerald(const std::vector<std::string>& args, const std::string& stdin_text = "");

/// Reads the child's output until the serve banner names the URL; returns the port (0 if the
/// child ended first). Everything read is appended to `seen`.
uint16_t WaitForBanner(int fd, std::string& seen);

}  // namespace herald::testing
