#pragma once

#include <cstdint>

namespace turnpike::turn {

/// What one worker's TurnServer has seen. Plain counters owned by the worker
/// thread; read by other threads only after the worker stops (live metrics
/// will fold them at scrape time).
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
  std::uint64_t connections_refused = 0;  ///< over the per-source or total cap
  // Authentication failures, by reason.
  std::uint64_t auth_bad_integrity = 0;
  std::uint64_t auth_stale_nonce = 0;
  std::uint64_t auth_expired_username = 0;
  std::uint64_t auth_unknown_user = 0;
  std::uint64_t auth_quota = 0;
  // Allocations and relayed traffic.
  std::uint64_t allocations_created = 0;
  std::uint64_t allocations_deleted = 0;
  std::uint64_t bytes_to_peer = 0;
  std::uint64_t packets_to_peer = 0;
  std::uint64_t bytes_from_peer = 0;
  std::uint64_t packets_from_peer = 0;

  ServerCounters& operator+=(const ServerCounters& o);
};

}  // namespace turnpike::turn
