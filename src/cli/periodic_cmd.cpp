#include "cli/periodic_cmd.hpp"

#include <cstdio>
#include <iostream>

#include "domain/time.hpp"
#include "storage/store.hpp"

namespace herald::cli {
namespace {

std::string When(const std::optional<core::TimePoint>& t) { return t ? domain::FormatRfc3339(*t) : "-"; }

void Print(const domain::PeriodicSchedule& s) {
    std::printf("%-16s %-14s %-16s %-18s %-8s %-22s %s\n", s.name.c_str(),
                std::string(domain::ToString(s.kind)).c_str(), s.cron.c_str(), s.time_zone.c_str(),
                s.enabled ? "enabled" : "disabled", When(s.next_run_at).c_str(), When(s.last_run_at).c_str());
}

void Header() {
    std::printf("%-16s %-14s %-16s %-18s %-8s %-22s %s\n", "NAME", "KIND", "CRON", "TIMEZONE", "STATE", "NEXT RUN",
                "LAST RUN");
}

}  // namespace

int PeriodicList(const std::string& database_url) {
    auto store = storage::OpenStore(database_url, {});
    if (!store) {
        std::cerr << "herald: " << store.error().message << "\n";
        return 1;
    }
    auto all = (*store)->ListPeriodic();
    if (!all) {
        std::cerr << "herald: " << all.error().message << "\n";
        return 1;
    }
    if (all->empty()) {
        std::cout << "no periodic jobs yet: `herald serve` registers the built-in ones when it starts\n";
        return 0;
    }
    Header();
    for (const auto& s : *all) Print(s);
    return 0;
}

int PeriodicSet(const std::string& database_url, const PeriodicSetOptions& o) {
    if (!o.cron && !o.time_zone && !o.enabled) {
        std::cerr << "herald: nothing to change; give --cron, --timezone, --enable or --disable\n";
        return 1;
    }
    auto store = storage::OpenStore(database_url, {});
    if (!store) {
        std::cerr << "herald: " << store.error().message << "\n";
        return 1;
    }
    core::SystemClock clock;
    auto changed = (*store)->UpdatePeriodic(app::PeriodicUpdate{o.name, o.cron, o.time_zone, o.enabled}, clock.Now());
    if (!changed) {
        std::cerr << "herald: " << changed.error().message << "\n";
        return 1;
    }
    Header();
    Print(*changed);
    std::cout << "the next run is planned from the new schedule by the server within 5 seconds\n";
    return 0;
}

}  // namespace herald::cli
