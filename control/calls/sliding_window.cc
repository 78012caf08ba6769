#include "control/calls/sliding_window.h"

namespace turnpike::control {

std::optional<UnixMillis> SlidingWindow::admit(const std::string& key, UnixMillis now) {
  auto& times = events_[key];
  while (!times.empty() && times.front() + window_ <= now) {
    times.pop_front();
  }
  if (times.size() >= limit_) {
    return std::max(UnixMillis{1}, times.front() + window_ - now);
  }
  times.push_back(now);
  return std::nullopt;
}

void SlidingWindow::sweep(UnixMillis now) {
  std::erase_if(events_, [&](const auto& entry) {
    return entry.second.empty() || entry.second.back() + window_ <= now;
  });
}

}  // namespace turnpike::control
