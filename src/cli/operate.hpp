#pragma once

// `herald jobs …`, `herald queue …` and `herald import`: the operator's view of the queue,
// straight on the store (the embedded database may be in use by a running server: SQLite lets
// both work; the server notices due work made here within its idle interval, 5 s).

#include <optional>
#include <string>
#include <vector>

#include "app/ports.hpp"

namespace herald::cli {

struct JobsListOptions {
    app::JobFilter filter;
    bool json = false;
};
int JobsList(app::Store& store, const JobsListOptions& options);
int JobsShow(app::Store& store, const std::string& id, bool json);
/// Requeues the named dead jobs, or with `all_dead` every dead job of the filter's workspace.
int JobsRequeue(app::Store& store, const std::vector<std::string>& ids, bool all_dead,
                const std::optional<std::string>& workspace_id);
int JobsCancel(app::Store& store, const std::vector<std::string>& ids);

int QueuePause(app::Store& store, const app::PauseScope& scope, const std::optional<std::string>& reason);
int QueueResume(app::Store& store, const app::PauseScope& scope);
int QueuePauses(app::Store& store, bool json);
int QueueStats(app::Store& store, const std::optional<std::string>& workspace_id, bool json);

struct ImportOptions {
    std::string file;                         ///< .csv or .json
    std::string as_email;                     ///< whose posts they are (their role applies)
    std::optional<std::string> workspace_id;  ///< default: the user's first workspace
    bool dry_run = false;                     ///< check everything, write nothing
};
/// Reads every post of the file, checks all of them, and writes them in one transaction: all
/// or nothing. Progress on stderr; errors per row.
int Import(app::Store& store, const app::PlatformRegistry& platforms, const ImportOptions& options);

}  // namespace herald::cli
