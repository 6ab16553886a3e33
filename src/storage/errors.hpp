#pragma once

#include <stdexcept>

namespace herald::storage {

/// A failure a caller cannot handle (broken infrastructure, a row the code cannot read, a
/// bug). Each backend's error derives from it; the stores turn it into kUnavailable.
struct StoreError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace herald::storage
