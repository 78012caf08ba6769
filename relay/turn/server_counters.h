#pragma once

#include <array>
#include <cstdint>

#include "relay/turn/transport.h"

namespace turnpike::turn {

/// Bytes and packets relayed, each way (payload bytes, headers excluded).
struct TrafficCounters {
  std::uint64_t bytes_to_peer = 0;
  std::uint64_t packets_to_peer = 0;
  std::uint64_t bytes_from_peer = 0;
  std::uint64_t packets_from_peer = 0;
  TrafficCounters& operator+=(const TrafficCounters& o);
  TrafficCounters& operator-=(const TrafficCounters& o);
};

/// Allocation lifetimes, in fixed buckets (seconds; the last is +Inf).
struct DurationHistogram {
  static constexpr std::array<double, 7> kBounds = {10, 60, 300, 600, 1800, 3600, 7200};
  std::array<std::uint64_t, kBounds.size() + 1> counts{};
  double sum_seconds = 0;
  void observe(double seconds);
  DurationHistogram& operator+=(const DurationHistogram& o);
};

/// What one worker's TurnServer has seen. Plain counters owned by the worker
/// thread; other threads read copies the worker publishes (Worker::snapshot)
/// or the counters themselves after the worker stopped.
struct ServerCounters {
  std::uint64_t requests = 0;
  std::uint64_t indications = 0;
  std::uint64_t success_responses = 0;
  std::uint64_t error_responses = 0;
  // Drops, by reason.
  std::uint64_t malformed = 0;            ///< not STUN/ChannelData, or failed to parse
  std::uint64_t unexpected = 0;           ///< responses, indications we cannot use
  std::uint64_t no_allocation = 0;        ///< relayed data with no allocation behind it
  std::uint64_t no_permission = 0;        ///< peer data or Send without a permission
  std::uint64_t denied_peer = 0;          ///< peer refused by policy
  std::uint64_t rate_limited = 0;         ///< unauthenticated responses not sent
  std::uint64_t bandwidth_limit = 0;      ///< over the allocation's bandwidth cap
  std::uint64_t slow_reader = 0;          ///< a stream client's output queue was full
  std::uint64_t too_big = 0;              ///< a peer datagram over what we relay (4 KB)
  std::uint64_t connections_refused = 0;  ///< over the per-source or total cap
  std::uint64_t tcp_peers_refused = 0;    ///< incoming peer connections over a cap
  /// Closed by the server: idle, output unread, a frame left incomplete, a
  /// TLS handshake not done, a close that never flushed.
  std::uint64_t connections_timed_out = 0;
  // Authentication failures, by reason.
  std::uint64_t auth_bad_integrity = 0;
  std::uint64_t auth_stale_nonce = 0;
  std::uint64_t auth_expired_username = 0;
  std::uint64_t auth_call_ended = 0;
  std::uint64_t auth_unknown_user = 0;
  std::uint64_t auth_quota = 0;
  // Allocations and relayed traffic.
  std::uint64_t allocations_created = 0;
  std::uint64_t allocations_deleted = 0;
  /// Relay sockets kept from ended allocations (RelaySocketReserve): given
  /// to a new one, or closed because a peer still sent to them.
  std::uint64_t relay_sockets_reused = 0;
  std::uint64_t relay_sockets_spoilt = 0;
  std::array<TrafficCounters, 3> relayed{};  ///< by client transport (Transport index)
  /// The kernel data path's part of `relayed`, and its flows (KernelRelay).
  TrafficCounters kernel_relayed;
  std::uint64_t kernel_flows_installed = 0;
  std::uint64_t kernel_flows_refused = 0;  ///< eligible, but the kernel path said no
  DurationHistogram allocation_durations;
  /// Requests by method (kMethods order) and client transport, and error
  /// responses by method and code (kErrorCodes order, the last is "other").
  static constexpr std::array<std::uint16_t, 8> kMethods = {0x001, 0x003, 0x004, 0x008,
                                                            0x009, 0x00A, 0x00B, 0};
  static constexpr std::array<std::uint16_t, 16> kErrorCodes = {
      300, 400, 401, 403, 420, 437, 438, 440, 441, 442, 443, 446, 447, 486, 508, 0};
  std::array<std::array<std::uint64_t, 3>, kMethods.size()> requests_by_method{};
  std::array<std::array<std::uint64_t, kErrorCodes.size()>, kMethods.size()> errors_by_code{};
  static std::size_t methodIndex(std::uint16_t method);
  static std::size_t errorIndex(std::uint16_t code);

  [[nodiscard]] TrafficCounters relayedTotal() const {
    TrafficCounters t;
    for (const auto& r : relayed) {
      t += r;
    }
    return t;
  }

  ServerCounters& operator+=(const ServerCounters& o);
};

}  // namespace turnpike::turn
