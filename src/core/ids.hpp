#pragma once

#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace herald::core {

/// A 26-character, time-ordered, lowercase hex id: 12 digits of milliseconds then 14 random.
/// Sorting ids sorts by creation time, which cursor pagination relies on. Not a secret.
std::string NewId(TimePoint now);

/// Whether `s` has the shape of an id NewId makes.
bool IsId(std::string_view s);

}  // namespace herald::core
