#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <unordered_set>
#include <vector>

#include "relay/base/clock.h"
#include "relay/stun/transport_address.h"
#include "relay/turn/relay_network.h"

namespace turnpike::turn {

/// The UDP relay sockets of allocations that ended, kept open (and bound)
/// for the next Allocate on the same relay address of this worker: a
/// socket, a bind, a close and two epoll changes fewer per allocation.
///
/// A socket is handed out again only once it has been quiet for kQuiet
/// since its allocation ended, oldest first. One that a datagram reached
/// meanwhile (a peer still sending to the old allocation) is never handed
/// out: it is closed, so that stream cannot reach the next allocation's
/// client even if it permits the same peer. Protocol state only: the
/// caller opens and closes sockets and returns ports.
class RelaySocketReserve {
 public:
  /// Long enough to see a media stream still flowing (audio sends every
  /// 20 ms), short enough that a busy worker reuses sockets.
  static constexpr auto kQuiet = std::chrono::milliseconds{100};
  /// At most this many sockets per worker and relay address, and at most
  /// a sixteenth of the address's ports.
  static constexpr std::size_t kMaxCapacity = 1024;

  struct Parked {
    RelaySocketId socket = 0;
    stun::TransportAddress bound;  ///< the relay address and port
    bool dont_fragment = false;    ///< as the socket is set
  };

  explicit RelaySocketReserve(std::size_t port_count);

  /// Keeps `socket`; when full, the oldest parked socket comes back, for
  /// the caller to close.
  std::optional<Parked> park(const Parked& socket, Clock::TimePoint now);
  /// A datagram reached `socket`: if it is parked, it will not be handed
  /// out again. False when it is not parked here.
  bool touched(RelaySocketId socket);
  /// The oldest clean socket quiet since `now - kQuiet` (any clean one
  /// with `any_age`, for when the address has no free port left). Sockets
  /// touched meanwhile that stood in the way go to `to_close`.
  std::optional<Parked> take(Clock::TimePoint now, bool any_age, std::vector<Parked>& to_close);

  [[nodiscard]] std::size_t size() const { return fifo_.size(); }
  [[nodiscard]] std::size_t capacity() const { return capacity_; }

 private:
  struct Entry {
    Parked parked;
    Clock::TimePoint since;
    bool touched = false;
  };
  std::size_t capacity_;
  std::deque<Entry> fifo_;                     ///< oldest first
  std::unordered_set<RelaySocketId> members_;  ///< the sockets in fifo_
};

}  // namespace turnpike::turn
