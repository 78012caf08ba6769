#include "relay/app/wall_time.h"

#include <cstdio>
#include <ctime>

namespace turnpike::app {

std::string isoTime(std::chrono::system_clock::time_point t) {
  const auto since_epoch = t.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  const std::time_t whole = seconds.count();
  std::tm tm{};
  gmtime_r(&whole, &tm);
  char stamp[40];
  const std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(millis));
  return stamp;
}

std::chrono::system_clock::time_point wallTime(const Clock& clock, Clock::TimePoint at) {
  const auto ago = clock.now() - at;
  return std::chrono::system_clock::now() -
         std::chrono::duration_cast<std::chrono::system_clock::duration>(ago);
}

}  // namespace turnpike::app
