#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "relay/base/clock.h"

namespace turnpike::turn {

/// RFC 6062 CONNECTION-ID.
using ConnectionId = std::uint32_t;

/// Peer TCP connections of TCP allocations (RFC 6062), shared by all workers:
/// the ConnectionBind that claims one arrives on a new client connection,
/// which the kernel may hand to any worker. Touched on connection setup and
/// teardown only, never per byte.
class PeerConnections {
 public:
  /// What the I/O layer keeps for a peer connection: its socket while it
  /// waits for a ConnectionBind, and how to close it once it is bound.
  struct Entry {
    std::string username;  ///< the allocation's credential (§5.4: same one binds)
    int handle = -1;       ///< the peer socket, while pending
    bool pending = true;   ///< connected, waiting for ConnectionBind
    Clock::TimePoint bind_deadline;
    std::function<void()> close_bound;  ///< set when bound: closes the pipe (any thread)
  };

  /// A fresh non-zero id, unique among open connections.
  ConnectionId reserve(const std::string& username);
  /// The peer socket is connected: it may be claimed until `deadline`.
  void setPending(ConnectionId id, int handle, Clock::TimePoint deadline);
  /// §5.4: takes a pending connection for a ConnectionBind by `username`;
  /// the socket, or nullopt when the id is unknown, bound or not this user's.
  std::optional<int> claim(ConnectionId id, const std::string& username);
  /// How to close the pipe of a claimed connection from any thread; false
  /// when the connection was released meanwhile (the caller closes it then).
  bool setCloser(ConnectionId id, std::function<void()> close_bound);
  [[nodiscard]] bool contains(ConnectionId id) const;
  /// Forgets a connection; returns what was there so the caller can close it.
  std::optional<Entry> release(ConnectionId id);
  /// Whether `id` still waits and its deadline passed.
  [[nodiscard]] bool overdue(ConnectionId id, Clock::TimePoint now) const;
  [[nodiscard]] std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<ConnectionId, Entry> entries_;  // guarded by mutex_
  std::uint32_t counter_ = 0;                        // guarded by mutex_
};

}  // namespace turnpike::turn
