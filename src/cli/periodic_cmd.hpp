#pragma once

#include <optional>
#include <string>

namespace herald::cli {

/// `herald periodic set NAME …`: what to change; unset fields stay as they are.
struct PeriodicSetOptions {
    std::string name;
    std::optional<std::string> cron;
    std::optional<std::string> time_zone;
    std::optional<bool> enabled;
};

/// `herald periodic list`: every periodic schedule of the store at `database_url`, one a line.
int PeriodicList(const std::string& database_url);

/// `herald periodic set`: an operator's change to a schedule. The next run is planned afresh
/// from the new cron by the running server within its idle interval (30 s), or at its next start.
int PeriodicSet(const std::string& database_url, const PeriodicSetOptions& options);

}  // namespace herald::cli
