#include "cli/operate.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include "app/json_views.hpp"
#include "app/post_service.hpp"
#include "core/clock.hpp"
#include "domain/time.hpp"

namespace herald::cli {
namespace {

int Fail(const core::Error& e) {
    std::cerr << "herald: " << e.message << "\n";
    return 1;
}

std::string Or(const std::optional<std::string>& s, const char* dash = "-") { return s ? *s : dash; }

void PrintJobLine(const app::JobView& j) {
    std::cout << j.id << "  " << j.kind << "  " << (j.outcome ? *j.outcome : j.state) << "  due "
              << domain::FormatRfc3339(j.due_at) << "  attempts " << j.attempts << "/" << j.max_attempts << "  "
              << Or(j.platform) << " " << Or(j.account_id) << (j.last_error ? "  " + *j.last_error : "") << "\n";
}

// Applies `act` to each job, reporting each; exit code 1 if any failed.
int EachJob(const std::vector<std::string>& ids, const char* done, const char* suffix,
            const std::function<core::Result<app::JobView>(const std::string&, core::TimePoint)>& act) {
    core::SystemClock clock;
    int failed = 0;
    for (const auto& id : ids) {
        auto job = act(id, clock.Now());
        if (!job) {
            std::cerr << "herald: " << id << ": " << job.error().message << "\n";
            ++failed;
            continue;
        }
        std::cout << done << " " << id << suffix << "\n";
    }
    return failed == 0 ? 0 : 1;
}

class NoEvents final : public app::EventSink {
  public:
    void Publish(const app::Event&) override {}
};

// ---- import files ---------------------------------------------------------------------------

// RFC 4180: fields separated by commas, quoted with "…" when they hold commas, quotes or line
// breaks, a quote inside doubled. Returns rows of fields; an error names the line.
core::Result<std::vector<std::vector<std::string>>> ParseCsv(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false, was_quoted = false;
    int line = 1;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"') {
                if (i + 1 < text.size() && text[i + 1] == '"') {
                    field += '"';
                    ++i;
                } else {
                    quoted = false;
                }
            } else {
                if (c == '\n') ++line;
                field += c;
            }
            continue;
        }
        if (c == '"') {
            if (!field.empty()) {
                return core::Fail(core::ErrorCode::kInvalidArgument,
                                  "line " + std::to_string(line) + ": a quote in the middle of an unquoted field");
            }
            quoted = was_quoted = true;
        } else if (c == ',') {
            row.push_back(std::move(field));
            field.clear();
            was_quoted = false;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            row.push_back(std::move(field));
            field.clear();
            was_quoted = false;
            if (!(row.size() == 1 && row[0].empty())) rows.push_back(std::move(row));
            row.clear();
            ++line;
        } else {
            if (was_quoted) {
                return core::Fail(core::ErrorCode::kInvalidArgument,
                                  "line " + std::to_string(line) + ": text after a closing quote");
            }
            field += c;
        }
    }
    if (quoted) return core::Fail(core::ErrorCode::kInvalidArgument, "the file ends inside a quoted field");
    if (!field.empty() || !row.empty()) {
        row.push_back(std::move(field));
        rows.push_back(std::move(row));
    }
    return rows;
}

std::vector<std::string> SplitIds(const std::string& s) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == ' ' || c == ';' || c == '|' || c == '\t') {
            if (!cur.empty()) out.push_back(std::move(cur));
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

// CSV columns (header row required): text, account_ids (separated by spaces or ;),
// scheduled_at | local_time + timezone, and variant:<platform> for per-platform texts.
core::Result<std::vector<app::CreatePostInput>> ReadCsv(const std::string& text) {
    auto rows = ParseCsv(text);
    if (!rows) return tl::unexpected(rows.error());
    if (rows->empty()) return core::Fail(core::ErrorCode::kInvalidArgument, "the file is empty");
    const auto header = rows->front();
    for (const auto& h : header) {
        if (h != "text" && h != "account_ids" && h != "scheduled_at" && h != "local_time" && h != "timezone" &&
            h.rfind("variant:", 0) != 0) {
            return core::Fail(
                core::ErrorCode::kInvalidArgument,
                "unknown column '" + h +
                    "' (known: text, account_ids, scheduled_at, local_time, timezone, variant:<platform>)");
        }
    }
    std::vector<app::CreatePostInput> out;
    for (size_t r = 1; r < rows->size(); ++r) {
        const auto& row = (*rows)[r];
        if (row.size() != header.size()) {
            return core::Fail(core::ErrorCode::kInvalidArgument,
                              "row " + std::to_string(r) + " has " + std::to_string(row.size()) +
                                  " fields, the header " + std::to_string(header.size()));
        }
        app::CreatePostInput in;
        for (size_t c = 0; c < header.size(); ++c) {
            const auto& h = header[c];
            const auto& v = row[c];
            if (h == "text") in.text = v;
            if (h == "account_ids") in.account_ids = SplitIds(v);
            if (h == "scheduled_at" && !v.empty()) in.schedule.scheduled_at = v;
            if (h == "local_time" && !v.empty()) in.schedule.local_time = v;
            if (h == "timezone" && !v.empty()) in.schedule.timezone = v;
            if (h.rfind("variant:", 0) == 0 && !v.empty()) in.variants[h.substr(8)] = v;
        }
        out.push_back(std::move(in));
    }
    return out;
}

// JSON: an array of posts, or {"posts": [...]}, each as in POST /api/v1/posts.
core::Result<std::vector<app::CreatePostInput>> ReadJson(const std::string& text) {
    auto doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_discarded()) return core::Fail(core::ErrorCode::kInvalidArgument, "the file is not valid JSON");
    if (doc.is_object() && doc.contains("posts")) doc = doc["posts"];
    if (!doc.is_array()) {
        return core::Fail(core::ErrorCode::kInvalidArgument,
                          "the file must hold an array of posts, or {\"posts\": [...]}");
    }
    std::vector<app::CreatePostInput> out;
    for (size_t i = 0; i < doc.size(); ++i) {
        const auto& item = doc[i];
        const std::string where = "post " + std::to_string(i);
        if (!item.is_object()) return core::Fail(core::ErrorCode::kInvalidArgument, where + " is not an object");
        app::CreatePostInput in;
        try {
            for (const auto& [key, value] : item.items()) {
                if (value.is_null()) continue;
                if (key == "text") {
                    in.text = value.get<std::string>();
                } else if (key == "account_ids") {
                    in.account_ids = value.get<std::vector<std::string>>();
                } else if (key == "variants") {
                    in.variants = value.get<std::map<std::string, std::string>>();
                } else if (key == "scheduled_at") {
                    in.schedule.scheduled_at = value.get<std::string>();
                } else if (key == "local_time") {
                    in.schedule.local_time = value.get<std::string>();
                } else if (key == "timezone") {
                    in.schedule.timezone = value.get<std::string>();
                } else {
                    return core::Fail(core::ErrorCode::kInvalidArgument, where + ": unknown field '" + key + "'");
                }
            }
        } catch (const nlohmann::json::type_error&) {
            return core::Fail(core::ErrorCode::kInvalidArgument, where + ": a field has the wrong type");
        }
        out.push_back(std::move(in));
    }
    return out;
}

// A bar on a terminal, a line every 10% otherwise.
class Progress {
  public:
    explicit Progress(std::string label) : label_(std::move(label)), tty_(isatty(STDERR_FILENO) != 0) {}
    void operator()(size_t done, size_t total) {
        const int pct = total == 0 ? 100 : static_cast<int>(done * 100 / total);
        if (tty_) {
            const int width = 30, filled = pct * width / 100;
            std::cerr << "\r" << label_ << " [" << std::string(static_cast<size_t>(filled), '#')
                      << std::string(static_cast<size_t>(width - filled), ' ') << "] " << done << "/" << total
                      << (done == total ? "\n" : "") << std::flush;
        } else if (pct / 10 != last_ / 10 || done == total) {
            std::cerr << label_ << " " << done << "/" << total << " (" << pct << "%)\n";
        }
        last_ = pct;
    }

  private:
    std::string label_;
    bool tty_;
    int last_ = -1;
};

}  // namespace

int JobsList(app::Store& store, const JobsListOptions& o) {
    auto jobs = store.ListJobs(o.filter);
    if (!jobs) return Fail(jobs.error());
    if (o.json) {
        nlohmann::json items = nlohmann::json::array();
        for (const auto& j : *jobs) items.push_back(app::ToJson(j));
        std::cout << items.dump() << "\n";
        return 0;
    }
    for (const auto& j : *jobs) PrintJobLine(j);
    if (jobs->empty()) std::cerr << "no jobs match\n";
    return 0;
}

int JobsShow(app::Store& store, const std::string& id, bool json) {
    auto job = store.GetJob(std::nullopt, id);
    if (!job) return Fail(job.error());
    std::cout << app::ToJson(*job).dump(json ? -1 : 2) << "\n";
    return 0;
}

int JobsRequeue(app::Store& store, const std::vector<std::string>& ids, bool all_dead,
                const std::optional<std::string>& workspace_id) {
    std::vector<std::string> targets = ids;
    if (all_dead) {
        app::JobFilter f;
        f.workspace_id = workspace_id;
        f.state = "dead";
        f.limit = 1000000;
        auto jobs = store.ListJobs(f);
        if (!jobs) return Fail(jobs.error());
        for (const auto& j : *jobs) targets.push_back(j.id);
    }
    if (targets.empty()) {
        std::cerr << "herald: no dead jobs to requeue\n";
        return 0;
    }
    return EachJob(targets, "requeued", " (due now)",
                   [&](const std::string& id, core::TimePoint now) { return store.RequeueJob(std::nullopt, id, now); });
}

int JobsCancel(app::Store& store, const std::vector<std::string>& ids) {
    return EachJob(ids, "cancelled", "",
                   [&](const std::string& id, core::TimePoint now) { return store.CancelJob(std::nullopt, id, now); });
}

int QueuePause(app::Store& store, const app::PauseScope& scope, const std::optional<std::string>& reason) {
    core::SystemClock clock;
    auto pause = store.Pause(scope, reason, std::string("cli"), clock.Now());
    if (!pause) return Fail(pause.error());
    const auto j = app::ToJson(*pause);
    std::cout << "paused (" << j["scope"].get<std::string>() << "): " << pause->jobs_paused
              << " jobs held; resume with: herald queue resume"
              << (scope.workspace_id ? " --workspace " + *scope.workspace_id : "")
              << (scope.account_id ? " --account " + *scope.account_id : "")
              << (scope.platform ? " --platform " + *scope.platform : "") << "\n";
    return 0;
}

int QueueResume(app::Store& store, const app::PauseScope& scope) {
    core::SystemClock clock;
    auto n = store.Resume(scope, clock.Now());
    if (!n) return Fail(n.error());
    std::cout << "resumed: " << *n << " jobs back in the queue (a running server picks them up within 5 s)\n";
    return 0;
}

int QueuePauses(app::Store& store, bool json) {
    auto pauses = store.ListPauses(std::nullopt);
    if (!pauses) return Fail(pauses.error());
    nlohmann::json items = nlohmann::json::array();
    for (const auto& p : *pauses) {
        auto j = app::ToJson(p);
        j["workspace_id"] = p.scope.workspace_id ? nlohmann::json(*p.scope.workspace_id) : nlohmann::json(nullptr);
        items.push_back(std::move(j));
    }
    if (json) {
        std::cout << items.dump() << "\n";
        return 0;
    }
    for (const auto& p : *pauses) {
        std::cout << p.id << "  workspace " << Or(p.scope.workspace_id, "*") << "  account "
                  << Or(p.scope.account_id, "*") << "  platform " << Or(p.scope.platform, "*") << "  since "
                  << domain::FormatRfc3339(p.created_at) << (p.reason ? "  " + *p.reason : "") << "\n";
    }
    if (pauses->empty()) std::cerr << "nothing is paused\n";
    return 0;
}

int QueueStats(app::Store& store, const std::optional<std::string>& workspace_id, bool json) {
    core::SystemClock clock;
    auto stats = store.GetQueueStats(workspace_id, clock.Now());
    if (!stats) return Fail(stats.error());
    std::cout << app::ToJson(*stats).dump(json ? -1 : 2) << "\n";
    return 0;
}

int Import(app::Store& store, const app::PlatformRegistry& platforms, const ImportOptions& o) {
    std::ifstream in(o.file, std::ios::binary);
    if (!in) return Fail(core::Error{core::ErrorCode::kInvalidArgument, "cannot read " + o.file, {}});
    std::stringstream buf;
    buf << in.rdbuf();
    const bool csv = o.file.size() >= 4 && o.file.substr(o.file.size() - 4) == ".csv";
    const bool json = o.file.size() >= 5 && o.file.substr(o.file.size() - 5) == ".json";
    if (!csv && !json) {
        return Fail(core::Error{core::ErrorCode::kInvalidArgument, "the file must end in .csv or .json", {}});
    }
    auto inputs = csv ? ReadCsv(buf.str()) : ReadJson(buf.str());
    if (!inputs) return Fail(inputs.error());

    auto user = store.FindUserByEmail(o.as_email);
    if (!user) return Fail(core::Error{core::ErrorCode::kNotFound, "no user with email " + o.as_email, {}});
    auto membership =
        o.workspace_id ? store.GetMembership(user->user.id, *o.workspace_id) : store.PrimaryMembership(user->user.id);
    if (!membership) {
        return Fail(core::Error{core::ErrorCode::kNotFound, o.as_email + " is not a member of that workspace", {}});
    }
    app::Principal who{user->user.id, membership->workspace.id, membership->role};

    core::SystemClock clock;
    NoEvents events;
    app::PostService posts(store, clock, platforms, events);
    app::BulkOptions options;
    options.max_posts = 1000000;
    options.dry_run = o.dry_run;
    Progress progress("checking");
    options.progress = [&progress](size_t done, size_t total) { progress(done, total); };
    auto result = posts.CreateMany(who, *inputs, options);
    if (!result) return Fail(result.error());
    if (!result->errors.empty()) {
        const size_t shown = std::min<size_t>(result->errors.size(), 20);
        for (size_t i = 0; i < shown; ++i) {
            const auto& [index, e] = result->errors[i];
            // Rows count from 1 after the CSV header; JSON items from 0, as in the API.
            std::cerr << (csv ? "row " + std::to_string(index + 1) : "post " + std::to_string(index)) << ": "
                      << e.message << "\n";
        }
        if (result->errors.size() > shown) std::cerr << "… and " << result->errors.size() - shown << " more\n";
        std::cerr << "herald: " << result->errors.size() << " of " << inputs->size()
                  << " posts are invalid; nothing was imported\n";
        return 1;
    }
    if (o.dry_run) {
        std::cout << inputs->size() << " posts are valid; nothing was written (--dry-run)\n";
        return 0;
    }
    std::cout << "imported " << result->posts.size() << " posts into workspace " << who.workspace_id
              << " (a running server picks up those due now within 5 s)\n";
    return 0;
}

}  // namespace herald::cli
