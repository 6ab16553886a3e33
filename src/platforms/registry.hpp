#pragma once

#include <map>
#include <memory>
#include <string>

#include "app/ports.hpp"

namespace herald::platforms {

class Registry final : public app::PlatformRegistry {
  public:
    void Add(std::unique_ptr<app::PlatformAdapter> adapter);
    app::PlatformAdapter* Find(std::string_view name) const override;
    std::vector<std::string> Names() const override;

  private:
    std::map<std::string, std::unique_ptr<app::PlatformAdapter>, std::less<>> adapters_;
};

/// Every adapter this build has, wired to its dependencies.
std::unique_ptr<Registry> BuiltinRegistry(app::Store& store, const core::Clock& clock);

}  // namespace herald::platforms
