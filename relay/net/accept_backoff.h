#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "relay/net/event_loop.h"

struct evconnlistener;

namespace turnpike::net {

/// What a listening socket does when accept() fails: out of file
/// descriptors (EMFILE, ENFILE) or memory, the pending connection stays in
/// the kernel's queue and the socket stays readable, so a level-triggered
/// listener would spin at 100% CPU logging a line per pass. Instead it stops
/// listening for a while, doubling the pause up to a second while failures
/// go on, and logs once per episode. The listener's error callback calls
/// failed(); it lives as long as the listener.
class AcceptBackoff {
 public:
  AcceptBackoff(EventLoop& loop, evconnlistener* listener, const char* what);
  ~AcceptBackoff();
  AcceptBackoff(const AcceptBackoff&) = delete;
  AcceptBackoff& operator=(const AcceptBackoff&) = delete;

  /// accept() just failed with errno.
  void failed();
  /// accept() just succeeded: the episode, if any, is over.
  void succeeded();

  static constexpr std::chrono::milliseconds kFirstPause{10};
  static constexpr std::chrono::milliseconds kLongestPause{1000};

 private:
  EventLoop& loop_;
  evconnlistener* listener_;
  const char* what_;
  std::chrono::milliseconds pause_{kFirstPause};
  std::optional<TimerQueue::TimerId> timer_;
  bool in_episode_ = false;
};

}  // namespace turnpike::net
