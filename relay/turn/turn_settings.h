#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "relay/stun/transport_address.h"

namespace turnpike::turn {

class RelayPortPool;

/// One address relays are bound on, with what XOR-RELAYED-ADDRESS says.
struct RelayEndpoint {
  stun::TransportAddress bind;        ///< port unused
  stun::TransportAddress advertised;  ///< the external address, or `bind`
  RelayPortPool* ports = nullptr;     ///< shared by all workers
};

/// Protocol settings, taken from the validated config.
struct TurnSettings {
  std::string software;  ///< SOFTWARE attribute; empty = not sent
  std::chrono::seconds default_lifetime{600};
  std::chrono::seconds max_lifetime{3600};
  std::uint64_t allocation_bandwidth = 0;          ///< bytes/s per allocation, 0 = unlimited
  std::uint32_t unauthenticated_rate = 10;         ///< error responses per second per source IP
  std::uint32_t permissions_per_allocation = 100;  ///< peers with a permission, 508 beyond
  /// RFC 6062 peer connections (outgoing and incoming), 508 beyond.
  std::uint32_t tcp_peers_per_allocation = 32;
  std::uint32_t tcp_peers_per_user = 128;
  /// Accept ChannelBind for 0x5000..0x7FFF too, as RFC 5766 did.
  bool rfc5766_channel_numbers = true;
  /// An interim usage record per allocation this often; 0 = only at the end.
  std::chrono::seconds usage_interval{0};
  /// While draining, new Allocates are sent here (300 Try Alternate).
  std::vector<stun::TransportAddress> alternate_servers;
};

}  // namespace turnpike::turn
