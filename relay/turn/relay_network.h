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
  /// True when a relay socket may outlive its allocation, kept open for the
  /// next one (RelaySocketReserve). A network without reuseRelaySocket
  /// keeps this default, and every socket is closed with its allocation.
  [[nodiscard]] virtual bool keepsRelaySockets() const { return false; }
  /// Readies a kept relay socket for a new allocation, setting
  /// DONT-FRAGMENT as given (left as it is when nullopt). False when a
  /// datagram was waiting in it: the caller then closes it.
  virtual bool reuseRelaySocket(RelaySocketId /*socket*/, std::optional<bool> /*dont_fragment*/) {
    return false;
  }
  virtual void sendToPeer(RelaySocketId socket, const stun::TransportAddress& peer,
                          std::span<const std::uint8_t> bytes) = 0;
  virtual void sendToClient(const FiveTuple& five_tuple, std::span<const std::uint8_t> bytes) = 0;

  // RFC 6062 TCP relays. Peer sockets travel as plain handles (file
  // descriptors) between the I/O layer and the registry of PeerConnections.
  // Only called when TurnCore::peer_connections is set; a network without
  // TCP relays keeps these defaults.

  /// A listening TCP socket on `address` (the relayed transport address of a
  /// TCP allocation); nullopt when the kernel refuses the bind. Closed with
  /// closeRelaySocket. Peers that connect come back as
  /// TurnServer::onPeerConnectionAccepted.
  virtual std::optional<RelaySocketId> openTcpRelay(const stun::TransportAddress& /*address*/) {
    return std::nullopt;
  }
  /// Starts a TCP connection from `local` to `peer`; the I/O layer answers
  /// with TurnServer::onPeerConnected(id, handle or -1), within its timeout.
  virtual void connectPeer(const stun::TransportAddress& /*local*/,
                           const stun::TransportAddress& /*peer*/, std::uint32_t /*id*/) {}
  /// Closes peer connection `id` wherever it is (pending, or bound to a data
  /// connection on any worker) and forgets it.
  virtual void closePeerConnection(std::uint32_t /*id*/) {}
  /// Once the ConnectionBind success response on `data_connection` is
  /// written, that connection carries raw bytes to and from peer socket `handle`.
  virtual void bindDataConnection(const FiveTuple& /*data_connection*/, std::uint32_t /*id*/,
                                  int /*handle*/) {}
};

}  // namespace turnpike::turn
