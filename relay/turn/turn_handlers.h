#pragma once

#include <span>

#include "auth/authenticator.h"
#include "relay/turn/request_context.h"
#include "relay/turn/turn_core.h"

namespace turnpike::turn {

// Authenticated TURN requests (RFC 8656). Each takes the request, the
// credential it authenticated with (responses are signed with it) and the
// worker's TURN state.
Outcome handleAllocate(const RequestContext& ctx, const auth::AuthResult& auth, TurnCore& core);
Outcome handleRefresh(const RequestContext& ctx, const auth::AuthResult& auth, TurnCore& core);
Outcome handleCreatePermission(const RequestContext& ctx, const auth::AuthResult& auth,
                               TurnCore& core);
Outcome handleChannelBind(const RequestContext& ctx, const auth::AuthResult& auth, TurnCore& core);

// RFC 6062 TCP relays.
Outcome handleConnect(const RequestContext& ctx, const auth::AuthResult& auth, TurnCore& core);
Outcome handleConnectionBind(const RequestContext& ctx, const auth::AuthResult& auth,
                             TurnCore& core);
/// Our Connect reached the peer (`handle` >= 0) or failed (-1). False: the
/// caller closes `handle`, nobody wants it any more.
bool onPeerConnected(std::uint32_t id, int handle, TurnCore& core);
/// A peer connected to a TCP allocation's relayed address. False: refused
/// (no permission, §5.3); the caller closes `handle`.
bool onPeerConnectionAccepted(RelaySocketId socket, const stun::TransportAddress& peer, int handle,
                              TurnCore& core);
/// Closes peer connections nobody bound within 30 s (§5.2, §5.3).
void expirePeerConnections(TurnCore& core);
/// Closes every peer connection of an allocation being deleted.
void closeTcpPeers(Allocation& allocation, TurnCore& core);

// The kernel data path (kernel_channels.cc).
/// Installs, extends or removes the allocation's channels in the kernel so
/// that exactly its live UDP channels with a live permission relay there.
void syncKernelChannels(Allocation& allocation, TurnCore& core, Clock::TimePoint now);
/// Adds what the kernel relayed since the last fold to the allocation's
/// traffic and the worker's counters.
void foldKernelTraffic(Allocation& allocation, TurnCore& core);
/// Once a second, for allocations with channels in the kernel: fold, then
/// take out what expired.
void sweepKernelChannels(Allocation& allocation, TurnCore& core, Clock::TimePoint now);
/// Folds, then takes all of the allocation's channels out of the kernel.
void dropKernelChannels(Allocation& allocation, TurnCore& core);

// Data from the client (Send indications, ChannelData) and from peers.
Outcome handleSendIndication(const stun::MessageView& indication, const FiveTuple& five_tuple,
                             TurnCore& core);
Outcome handleClientChannelData(std::span<const std::uint8_t> bytes, const FiveTuple& five_tuple,
                                TurnCore& core);
/// `frame` is kPeerHeadroom spare bytes followed by the peer's datagram.
void handlePeerData(RelaySocketId socket, const stun::TransportAddress& peer,
                    std::span<std::uint8_t> frame, TurnCore& core);

/// The allocation a request refers to, after the checks every request on an
/// existing allocation shares: 437 when there is none, 441 when another
/// credential created it. Returns nullptr and fills `error` otherwise.
Allocation* allocationFor(const RequestContext& ctx, const auth::AuthResult& auth, TurnCore& core,
                          Outcome& error);

/// A peer address from XOR-PEER-ADDRESS, checked against the allocation's
/// family (443) and the peer policy (403).
struct PeerCheck {
  std::optional<stun::TransportAddress> peer;
  std::uint16_t error = 0;
};
PeerCheck checkPeer(const stun::RawAttribute& attr, const stun::MessageView& request,
                    const Allocation& allocation, TurnCore& core);

}  // namespace turnpike::turn
