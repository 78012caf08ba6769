#include "relay/base/clock.h"

namespace turnpike {

Clock::TimePoint SteadyClock::now() const {
  return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
}

std::chrono::seconds SteadyClock::unixTime() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
}

std::chrono::milliseconds SteadyClock::unixMillis() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch());
}

}  // namespace turnpike
