#pragma once

#include <chrono>

namespace turnpike {

/// Time as an interface: protocol state asks a Clock, never the system, so
/// tests advance a fake clock instead of sleeping.
class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

  virtual ~Clock() = default;
  /// Monotonic time, for expiries and timers.
  [[nodiscard]] virtual TimePoint now() const = 0;
  /// Wall-clock seconds since the Unix epoch, for credentials that carry one.
  [[nodiscard]] virtual std::chrono::seconds unixTime() const = 0;
  /// Wall-clock milliseconds since the Unix epoch, for times people read.
  [[nodiscard]] virtual std::chrono::milliseconds unixMillis() const { return unixTime(); }
};

/// The real clock: std::chrono::steady_clock and system_clock.
class SteadyClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const override;
  [[nodiscard]] std::chrono::seconds unixTime() const override;
  [[nodiscard]] std::chrono::milliseconds unixMillis() const override;
};

}  // namespace turnpike
