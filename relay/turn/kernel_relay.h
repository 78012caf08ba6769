#pragma once

#include <cstdint>
#include <optional>

#include "relay/base/clock.h"
#include "relay/stun/transport_address.h"
#include "relay/turn/server_counters.h"

namespace turnpike::turn {

/// One UDP channel binding a kernel data path may relay without us:
/// ChannelData from `client` to `server` on `channel` goes out from
/// `relayed` to `peer`, and the peer's datagrams to `relayed` come back as
/// ChannelData, until `expires_at` (the earlier of the channel's and the
/// permission's expiry).
struct KernelChannel {
  stun::TransportAddress client;
  stun::TransportAddress server;
  stun::TransportAddress relayed;  ///< where the relay socket is bound
  stun::TransportAddress peer;
  std::uint16_t channel = 0;
  Clock::TimePoint expires_at;
};

/// A kernel data path as the protocol layer sees it (relay/fastpath
/// implements it). User space stays the authority: a channel relays in the
/// kernel only between install() and remove(), and nothing is lost when
/// install() says no, since the user-space path handles every packet the
/// kernel leaves alone. Shared by the workers: implementations are
/// thread-safe.
class KernelRelay {
 public:
  virtual ~KernelRelay() = default;
  /// The flow's id, or nothing: the channel then stays in user space.
  virtual std::optional<std::uint32_t> install(const KernelChannel& channel) = 0;
  /// A refreshed channel or permission: the flow lives until `expires_at`.
  virtual void extend(std::uint32_t id, Clock::TimePoint expires_at) = 0;
  /// Stops the kernel path for the flow at once.
  virtual void remove(std::uint32_t id) = 0;
  /// What the kernel relayed for the flow since install(), in the same
  /// units as the user-space counters (payload bytes, one packet each).
  [[nodiscard]] virtual TrafficCounters relayed(std::uint32_t id) const = 0;
};

}  // namespace turnpike::turn
