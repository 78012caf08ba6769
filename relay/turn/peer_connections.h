#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "relay/base/clock.h"
#include "relay/turn/server_counters.h"
#include "relay/turn/token_bucket.h"

namespace turnpike::turn {

/// RFC 6062 CONNECTION-ID.
using ConnectionId = std::uint32_t;

/// An allocation's bandwidth budget shared by its RFC 6062 data connections,
/// which may run on several workers.
class SharedTokenBucket {
 public:
  SharedTokenBucket(std::uint64_t rate_per_second, Clock::TimePoint now)
      : bucket_(rate_per_second, rate_per_second, now) {}
  std::uint64_t takeUpTo(std::uint64_t amount, Clock::TimePoint now) {
    std::lock_guard lock(mutex_);
    return bucket_.takeUpTo(amount, now);
  }

 private:
  std::mutex mutex_;
  TokenBucket bucket_;  // guarded by mutex_
};

/// Bytes a bound peer connection carried. Written by the worker that has
/// the data connection, read by the worker that has the allocation (usage
/// records, the admin API), which may be another: hence atomics.
struct PipeTraffic {
  std::atomic<std::uint64_t> bytes_to_peer{0};
  std::atomic<std::uint64_t> reads_to_peer{0};
  std::atomic<std::uint64_t> bytes_from_peer{0};
  std::atomic<std::uint64_t> reads_from_peer{0};

  /// The allocation's limits.allocation_bytes_per_second; null: none. Set
  /// before the connection is claimed, read by the worker that pipes it.
  std::shared_ptr<SharedTokenBucket> budget;

  /// The counts so far, as an allocation's traffic counts them.
  [[nodiscard]] TrafficCounters totals() const {
    TrafficCounters t;
    t.bytes_to_peer = bytes_to_peer.load(std::memory_order_relaxed);
    t.packets_to_peer = reads_to_peer.load(std::memory_order_relaxed);
    t.bytes_from_peer = bytes_from_peer.load(std::memory_order_relaxed);
    t.packets_from_peer = reads_from_peer.load(std::memory_order_relaxed);
    return t;
  }

  void add(bool to_peer, std::size_t bytes) {
    (to_peer ? bytes_to_peer : bytes_from_peer).fetch_add(bytes, std::memory_order_relaxed);
    (to_peer ? reads_to_peer : reads_from_peer).fetch_add(1, std::memory_order_relaxed);
  }
};

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
    std::string user_id;   ///< whose connection it counts as
    int handle = -1;       ///< the peer socket, while pending
    bool pending = true;   ///< connected, waiting for ConnectionBind
    Clock::TimePoint bind_deadline;
    std::function<void()> close_bound;  ///< set when bound: closes the pipe (any thread)
    std::shared_ptr<PipeTraffic> traffic = std::make_shared<PipeTraffic>();
  };

  /// A fresh non-zero id, unique among open connections; nullopt when
  /// `user_id` already holds `per_user` connections.
  std::optional<ConnectionId> reserve(const std::string& username, const std::string& user_id,
                                      std::uint32_t per_user);
  /// The peer socket is connected: it may be claimed until `deadline`.
  void setPending(ConnectionId id, int handle, Clock::TimePoint deadline);
  /// §5.4: takes a pending connection for a ConnectionBind by `username`;
  /// the socket, or nullopt when the id is unknown, bound or not this user's.
  std::optional<int> claim(ConnectionId id, const std::string& username);
  /// How to close the pipe of a claimed connection from any thread; false
  /// when the connection was released meanwhile (the caller closes it then).
  bool setCloser(ConnectionId id, std::function<void()> close_bound);
  [[nodiscard]] bool contains(ConnectionId id) const;
  /// What the connection carries is counted here; null when unknown.
  [[nodiscard]] std::shared_ptr<PipeTraffic> traffic(ConnectionId id) const;
  /// Forgets a connection; returns what was there so the caller can close it.
  std::optional<Entry> release(ConnectionId id);
  /// Whether `id` still waits and its deadline passed.
  [[nodiscard]] bool overdue(ConnectionId id, Clock::TimePoint now) const;
  [[nodiscard]] std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<ConnectionId, Entry> entries_;          // guarded by mutex_
  std::unordered_map<std::string, std::uint32_t> per_user_;  // guarded by mutex_
  std::uint32_t counter_ = 0;                                // guarded by mutex_
};

}  // namespace turnpike::turn
