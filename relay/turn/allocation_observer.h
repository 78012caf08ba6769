#pragma once

#include <cstdint>
#include <string_view>

#include "relay/turn/allocation.h"

namespace turnpike::turn {

enum class DeletionReason : std::uint8_t {
  Refresh,
  Expired,
  ConnectionClosed,
  Shutdown,
  Admin,
  CallEnded,  ///< its call ended: the control plane revoked the credentials
};

constexpr std::string_view deletionReasonName(DeletionReason r) {
  switch (r) {
    case DeletionReason::Refresh: return "refresh";
    case DeletionReason::Expired: return "expired";
    case DeletionReason::ConnectionClosed: return "connection_closed";
    case DeletionReason::Shutdown: return "shutdown";
    case DeletionReason::Admin: return "admin";
    case DeletionReason::CallEnded: return "call_ended";
  }
  return "unknown";
}

/// Allocation lifecycle events for metrics, usage records and the control
/// plane. Called on the owning worker's thread; implementations must not block.
class AllocationObserver {
 public:
  virtual ~AllocationObserver() = default;
  virtual void onAllocationCreated(const Allocation& /*allocation*/) {}
  virtual void onAllocationRefreshed(const Allocation& /*allocation*/) {}
  /// Every TurnSettings::usage_interval while it lives: `traffic` so far.
  virtual void onAllocationUsage(const Allocation& /*allocation*/) {}
  /// `allocation.traffic` holds the final byte and packet counts.
  virtual void onAllocationDeleted(const Allocation& /*allocation*/, DeletionReason /*reason*/) {}
  virtual void onPermissionInstalled(const Allocation& /*allocation*/,
                                     const stun::TransportAddress& /*peer*/) {}
  virtual void onChannelBound(const Allocation& /*allocation*/, std::uint16_t /*channel*/,
                              const stun::TransportAddress& /*peer*/) {}
};

}  // namespace turnpike::turn
