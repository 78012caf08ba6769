#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <string>

#include "control/calls/call.h"

namespace turnpike::control {

/// At most `limit` events per `window` per key, counted over a sliding
/// window (seed §7.4). Keys whose window is empty are forgotten.
class SlidingWindow {
 public:
  SlidingWindow(std::size_t limit, UnixMillis window) : limit_(limit), window_(window) {}

  /// Records an event at `now` when allowed; otherwise how long until the
  /// oldest one leaves the window (never zero).
  [[nodiscard]] std::optional<UnixMillis> admit(const std::string& key, UnixMillis now);
  /// Drops keys with no event in the window (bounded memory).
  void sweep(UnixMillis now);

 private:
  std::size_t limit_;
  UnixMillis window_;
  std::map<std::string, std::deque<UnixMillis>> events_;
};

}  // namespace turnpike::control
