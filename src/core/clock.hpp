#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace herald::core {

using TimePoint = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;
using Millis = std::chrono::milliseconds;

inline int64_t ToUnixMillis(TimePoint t) { return t.time_since_epoch().count(); }
inline TimePoint FromUnixMillis(int64_t ms) { return TimePoint(Millis(ms)); }

/// The only source of "now". Production uses SystemClock; tests use FakeClock and move time
/// by hand instead of sleeping.
class Clock {
  public:
    virtual ~Clock() = default;
    virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
  public:
    TimePoint Now() const override { return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now()); }
};

class FakeClock final : public Clock {
  public:
    explicit FakeClock(TimePoint start) : now_(start) {}
    TimePoint Now() const override {
        std::lock_guard lock(mu_);
        return now_;
    }
    void Advance(Millis by) {
        std::lock_guard lock(mu_);
        now_ += by;
    }
    void Set(TimePoint t) {
        std::lock_guard lock(mu_);
        now_ = t;
    }

  private:
    mutable std::mutex mu_;
    TimePoint now_;
};

}  // namespace herald::core
