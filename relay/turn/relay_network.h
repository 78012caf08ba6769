#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "relay/stun/transport_address.h"
#include "relay/turn/five_tuple.h"

namespace turnpike::turn {

using RelaySocketId = std::uint32_t;

/// Room the I/O layer leaves in front of every datagram it receives from a
/// peer, so the ChannelData header (RFC 8656 §12.6) is written in place and
/// the relayed bytes are never copied.
inline constexpr std::size_t kPeerHeadroom = 4;

/// What the protocol layer needs from the network. The I/O layer implements
/// it with real sockets; tests implement it with a recording fake.
class RelayNetwork {
 public:
  virtual ~RelayNetwork() = default;

  /// Opens a UDP socket bound to `address` for an allocation's relayed
  /// transport address; nullopt when the kernel refuses the bind.
  virtual std::optional<RelaySocketId> openRelaySocket(const stun::TransportAddress& address,
                                                       bool dont_fragment) = 0;
  virtual void closeRelaySocket(RelaySocketId socket) = 0;
  virtual void sendToPeer(RelaySocketId socket, const stun::TransportAddress& peer,
                          std::span<const std::uint8_t> bytes) = 0;
  virtual void sendToClient(const FiveTuple& five_tuple, std::span<const std::uint8_t> bytes) = 0;
};

}  // namespace turnpike::turn
