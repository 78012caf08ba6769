#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

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
///
/// Accepts also stop short of the limit: the last kReserve descriptors below
/// RLIMIT_NOFILE are kept for the process's own work once clients have taken
/// the rest (a reload reading its files, a store reconnecting, a relay socket
/// for an allocation already admitted, a sanitizer's probe in tests). A
/// connection accepted into them is closed at once and the listener pauses
/// as for EMFILE. The kernel hands out the lowest free descriptor, so an
/// accepted one numbered within kReserve of the limit means at most kReserve
/// are left.
class AcceptBackoff {
 public:
  AcceptBackoff(EventLoop& loop, evconnlistener* listener, const char* what);
  ~AcceptBackoff();
  AcceptBackoff(const AcceptBackoff&) = delete;
  AcceptBackoff& operator=(const AcceptBackoff&) = delete;

  /// accept() just failed with errno.
  void failed();
  /// accept() just returned fd. False when fd is within the reserve: it is
  /// closed and accepts pause. True ends an episode, if any.
  [[nodiscard]] bool admit(int fd);

  static constexpr std::chrono::milliseconds kFirstPause{10};
  static constexpr std::chrono::milliseconds kLongestPause{1000};
  static constexpr long kReserve = 16;

 private:
  /// Logs why accepts pause and starts an episode; called only outside one,
  /// so the reason is formatted once per episode, not per failed accept.
  void startEpisode(const std::string& why);
  /// Stops listening for pause_ and doubles it.
  void pause();

  EventLoop& loop_;
  evconnlistener* listener_;
  const char* what_;
  /// RLIMIT_NOFILE as last read; read again only when a descriptor nears it.
  long limit_;
  std::chrono::milliseconds pause_{kFirstPause};
  std::optional<TimerQueue::TimerId> timer_;
  bool in_episode_ = false;
};

}  // namespace turnpike::net
