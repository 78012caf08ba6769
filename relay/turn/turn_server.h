#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "relay/stun/stream_framer.h"
#include "relay/turn/request_context.h"
#include "relay/turn/turn_core.h"

namespace turnpike::turn {

/// Entry point of the protocol layer for one worker: classifies each packet
/// (STUN or ChannelData, from a client or from a peer), authenticates TURN
/// requests and dispatches them through a table keyed by method.
class TurnServer {
 public:
  explicit TurnServer(TurnCore& core) : core_(core) {}

  /// A datagram received on a UDP listener.
  Outcome handleDatagram(std::span<const std::uint8_t> packet, const FiveTuple& five_tuple,
                         std::span<std::uint8_t> out);
  /// A frame received on a stream (TCP or TLS) connection.
  Outcome handleFrame(const stun::Frame& frame, const FiveTuple& five_tuple,
                      std::span<std::uint8_t> out);
  /// A datagram a peer sent to an allocation's relay socket, received
  /// kPeerHeadroom bytes into `frame` (the header room is overwritten).
  void handlePeerDatagram(RelaySocketId socket, const stun::TransportAddress& peer,
                          std::span<std::uint8_t> frame);
  /// RFC 6062, from the I/O layer: see turn_handlers.h.
  bool onPeerConnected(std::uint32_t id, int handle);
  bool onPeerConnectionAccepted(RelaySocketId socket, const stun::TransportAddress& peer,
                                int handle);
  /// Deletes every allocation whose lifetime ran out, and closes peer
  /// connections left unbound; call about once a second.
  void expireAllocations();
  /// Deletes the allocation of a five-tuple (its stream connection closed).
  void deleteAllocationOf(const FiveTuple& five_tuple);
  [[nodiscard]] bool hasAllocation(const FiveTuple& five_tuple) {
    return core_.allocations.find(five_tuple) != nullptr;
  }
  /// Deletes every allocation (shutdown).
  void deleteAllAllocations();
  /// Deletes the allocations `pick` says yes to (admin kick); how many.
  std::size_t deleteAllocationsWhere(const std::function<bool(const Allocation&)>& pick,
                                     DeletionReason reason = DeletionReason::Admin);
  /// Interim usage records for allocations whose interval is up; call about
  /// once a second.
  void reportUsage();
  /// Input that never reached the parser: a stream that cannot be framed, a
  /// datagram larger than any valid message.
  void countMalformed() { ++core_.counters.malformed; }
  void countSlowReader() { ++core_.counters.slow_reader; }
  void countTooBig() { ++core_.counters.too_big; }
  void countRefusedConnection() { ++core_.counters.connections_refused; }
  void countRefusedTcpPeer() { ++core_.counters.tcp_peers_refused; }
  void countTimedOutConnection() { ++core_.counters.connections_timed_out; }
  /// Bytes relayed over an RFC 6062 data connection, by direction.
  void countTcpRelayed(Transport client_transport, bool to_peer, std::size_t bytes) {
    auto& t = core_.counters.relayed[static_cast<std::size_t>(client_transport)];
    (to_peer ? t.bytes_to_peer : t.bytes_from_peer) += bytes;
    ++(to_peer ? t.packets_to_peer : t.packets_from_peer);  // one read's worth: a TCP segment run
  }

  [[nodiscard]] const ServerCounters& counters() const { return core_.counters; }
  template <typename F>
  void forEachAllocation(F&& f) const {
    core_.allocations.forEach(std::forward<F>(f));
  }
  [[nodiscard]] std::size_t allocationCount() const { return core_.allocations.size(); }

 private:
  Outcome handleStun(std::span<const std::uint8_t> bytes, const FiveTuple& five_tuple,
                     std::span<std::uint8_t> out);
  Outcome handleRequest(const RequestContext& ctx);
  Outcome handleIndication(const stun::MessageView& message, const FiveTuple& five_tuple);
  Outcome authenticated(const RequestContext& ctx,
                        Outcome (*handler)(const RequestContext&, const auth::AuthResult&,
                                           TurnCore&));
  bool unauthenticatedAnswerAllowed(const RequestContext& ctx);
  void countAuthFailure(auth::AuthFailure failure);
  Outcome counted(Outcome outcome, std::span<const std::uint8_t> out);

  TurnCore& core_;
};

}  // namespace turnpike::turn
