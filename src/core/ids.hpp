#pragma once

#include <string>

#include "core/clock.hpp"

namespace herald::core {

/// A 26-character, time-ordered, lowercase hex id: 12 digits of milliseconds then 14 random.
/// Sorting ids sorts by creation time, which cursor pagination relies on. Not a secret.
std::string NewId(TimePoint now);

}  // namespace herald::core
