#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>

#include "relay/base/clock.h"

namespace turnpike {

/// One worker's timers. Pure data: the worker's event loop asks for the next
/// deadline, sleeps until then, and calls runDue() with the clock's time. Tests
/// drive it with a fake clock. Not thread-safe: each worker owns its own.
class TimerQueue {
 public:
  using TimerId = std::uint64_t;
  using Callback = std::function<void()>;

  /// Runs `callback` once, at or after `deadline`.
  TimerId schedule(Clock::TimePoint deadline, Callback callback);
  /// Cancels a pending timer; false when it already ran or never existed.
  bool cancel(TimerId id);
  /// Runs every timer whose deadline is <= now, in deadline order, including
  /// timers that those callbacks schedule for a time <= now. Returns how many ran.
  std::size_t runDue(Clock::TimePoint now);
  [[nodiscard]] std::optional<Clock::TimePoint> nextDeadline() const;
  [[nodiscard]] std::size_t size() const { return by_deadline_.size(); }

 private:
  using Key = std::pair<Clock::TimePoint, TimerId>;
  std::map<Key, Callback> by_deadline_;
  std::map<TimerId, Clock::TimePoint> deadline_of_;
  TimerId next_id_ = 1;
};

}  // namespace turnpike
