// RFC 6062: TCP relays. Connect (§5.2), inbound peer connections and
// ConnectionAttempt (§5.3), ConnectionBind (§5.4), and the 30 s timers.

#include <algorithm>
#include <cstring>

#include "relay/stun/address_attribute.h"
#include "relay/stun/error_code_attribute.h"
#include "relay/stun/turn_attributes.h"
#include "relay/turn/response.h"
#include "relay/turn/turn_handlers.h"

namespace turnpike::turn {
namespace {

using stun::AttributeType;
namespace ec = stun::error_codes;

/// §5.2, §5.3: a connection has this long to be claimed by a ConnectionBind.
constexpr auto kBindTimeout = std::chrono::seconds{30};

TcpPeer* tcpPeer(Allocation& a, std::uint32_t id) {
  const auto it = std::find_if(a.tcp_peers.begin(), a.tcp_peers.end(),
                               [id](const TcpPeer& p) { return p.id == id; });
  return it == a.tcp_peers.end() ? nullptr : &*it;
}

void forget(Allocation& a, std::uint32_t id) {
  a.foldPeerTraffic();
  std::erase_if(a.tcp_peers, [id](const TcpPeer& p) { return p.id == id; });
}

// The Connect response, sent once the outcome of our connection is known.
void answerConnect(Allocation& a, const TcpPeer& p, std::uint16_t error, TurnCore& core) {
  stun::MessageBuilder b(core.scratch,
                         {stun::Method::Connect, error == 0 ? stun::MessageClass::SuccessResponse
                                                            : stun::MessageClass::ErrorResponse},
                         p.connect_transaction);
  if (error == 0) {
    b.addU32(AttributeType::ConnectionId, p.id);
  } else {
    b.addErrorCode(error, stun::defaultReason(error));
  }
  if (!core.settings.software.empty()) {
    b.addText(AttributeType::Software, core.settings.software);
  }
  const std::vector<std::uint8_t>& key = p.connect_key.empty() ? a.key : p.connect_key;
  if (p.connect_sha256) {
    b.addMessageIntegritySha256(key);
  } else {
    b.addMessageIntegrity(key);
  }
  if (p.connect_fingerprint) {
    b.addFingerprint();
  }
  if (!b.overflowed()) {
    core.network.sendToClient(a.five_tuple, b.bytes());
    ++(error == 0 ? core.counters.success_responses : core.counters.error_responses);
  }
}

void awaitBind(Allocation& a, std::uint32_t id, int handle, TurnCore& core) {
  const auto deadline = core.clock.now() + kBindTimeout;
  core.peer_connections->setPending(id, handle, deadline);
  core.pending_binds.push_back({deadline, id, a.five_tuple});
}

}  // namespace

Outcome handleConnect(const RequestContext& ctx, const auth::AuthResult& auth, TurnCore& core) {
  Outcome error;
  Allocation* a = allocationFor(ctx, auth, core, error);
  if (a == nullptr) {
    return error;
  }
  if (!a->tcp) {
    return errorResponse(ctx, core.settings.software, ec::kBadRequest, &auth);
  }
  const auto attr = ctx.request.find(AttributeType::XorPeerAddress);
  if (!attr) {
    return errorResponse(ctx, core.settings.software, ec::kBadRequest, &auth);
  }
  const PeerCheck checked = checkPeer(*attr, ctx.request, *a, core);
  if (!checked.peer) {
    return errorResponse(ctx, core.settings.software, checked.error, &auth);
  }
  // Connections that ended on their own are gone from the registry.
  a->foldPeerTraffic();
  std::erase_if(a->tcp_peers,
                [&](const TcpPeer& p) { return !core.peer_connections->contains(p.id); });
  const bool exists = std::any_of(a->tcp_peers.begin(), a->tcp_peers.end(),
                                  [&](const TcpPeer& p) { return p.peer == *checked.peer; });
  if (exists) {
    return errorResponse(ctx, core.settings.software, ec::kConnectionAlreadyExists, &auth);
  }
  const auto now = core.clock.now();
  a->prune(now);
  if (!a->hasPermission(*checked.peer, now) &&
      a->permissions.size() >= core.settings.permissions_per_allocation) {
    return errorResponse(ctx, core.settings.software, ec::kInsufficientCapacity, &auth);
  }
  // Peer connections cost file descriptors: capped per allocation and per user.
  const auto id = a->tcp_peers.size() < core.settings.tcp_peers_per_allocation
                      ? core.peer_connections->reserve(a->username, a->user_id,
                                                       core.settings.tcp_peers_per_user)
                      : std::nullopt;
  if (!id) {
    return errorResponse(ctx, core.settings.software, ec::kInsufficientCapacity, &auth);
  }
  TcpPeer p;
  p.id = *id;
  p.traffic = core.peer_connections->traffic(*id);
  if (p.traffic) {
    p.traffic->budget = a->pipe_bandwidth;
  }
  p.peer = *checked.peer;
  p.connecting = true;
  p.connect_transaction = ctx.request.transactionId();
  p.connect_sha256 = auth.sha256_integrity;
  p.connect_fingerprint = ctx.request.has(AttributeType::Fingerprint);
  p.connect_key = auth.credential.key;
  a->tcp_peers.push_back(p);
  // Decided: a Connect also installs (or refreshes) the permission for the
  // peer, so the client need not send CreatePermission first.
  a->installPermission(p.peer, now);
  core.connecting[p.id] = a->five_tuple;
  core.network.connectPeer(a->relay_bind, p.peer, p.id);
  return Outcome::ignore();  // answered by onPeerConnected
}

bool onPeerConnected(std::uint32_t id, int handle, TurnCore& core) {
  const auto it = core.connecting.find(id);
  Allocation* owner = it != core.connecting.end() ? core.allocations.find(it->second) : nullptr;
  if (it != core.connecting.end()) {
    core.connecting.erase(it);
  }
  TcpPeer* p = owner != nullptr ? tcpPeer(*owner, id) : nullptr;
  if (p == nullptr) {
    core.peer_connections->release(id);
    return false;  // the allocation went away meanwhile: the caller closes the socket
  }
  p->connecting = false;
  if (handle < 0) {
    answerConnect(*owner, *p, ec::kConnectionTimeoutOrFailure, core);
    core.peer_connections->release(id);
    forget(*owner, id);
    return false;
  }
  awaitBind(*owner, id, handle, core);
  answerConnect(*owner, *p, 0, core);
  return true;
}

bool onPeerConnectionAccepted(RelaySocketId socket, const stun::TransportAddress& peer, int handle,
                              TurnCore& core) {
  Allocation* a = core.allocations.findBySocket(socket);
  // §5.3: only peers with a permission may connect.
  if (a == nullptr || !a->tcp || !a->hasPermission(peer, core.clock.now())) {
    ++core.counters.no_permission;
    return false;
  }
  const auto id = a->tcp_peers.size() < core.settings.tcp_peers_per_allocation
                      ? core.peer_connections->reserve(a->username, a->user_id,
                                                       core.settings.tcp_peers_per_user)
                      : std::nullopt;
  if (!id) {
    ++core.counters.tcp_peers_refused;
    return false;  // the caller closes the peer's socket
  }
  TcpPeer p;
  p.id = *id;
  p.traffic = core.peer_connections->traffic(*id);
  if (p.traffic) {
    p.traffic->budget = a->pipe_bandwidth;
  }
  p.peer = peer;
  a->tcp_peers.push_back(p);
  awaitBind(*a, p.id, handle, core);
  stun::TransactionId tid{};
  const std::uint64_t n = ++core.indication_counter;
  std::memcpy(tid.data() + 4, &n, sizeof n);
  stun::MessageBuilder b(core.scratch,
                         {stun::Method::ConnectionAttempt, stun::MessageClass::Indication}, tid);
  b.addXorAddress(AttributeType::XorPeerAddress, peer);
  b.addU32(AttributeType::ConnectionId, p.id);
  if (!b.overflowed()) {
    core.network.sendToClient(a->five_tuple, b.bytes());
  }
  return true;
}

Outcome handleConnectionBind(const RequestContext& ctx, const auth::AuthResult& auth,
                             TurnCore& core) {
  const auto& software = core.settings.software;
  // §5.4: on a new TCP/TLS connection that carries nothing else.
  if (core.peer_connections == nullptr || ctx.five_tuple.transport == Transport::Udp ||
      core.allocations.find(ctx.five_tuple) != nullptr) {
    return errorResponse(ctx, software, ec::kBadRequest, &auth);
  }
  const auto attr = ctx.request.find(AttributeType::ConnectionId);
  const auto id = attr ? stun::decodeU32(attr->value)
                       : Result<std::uint32_t, stun::AttributeError>(stun::AttributeError{});
  if (!id) {
    return errorResponse(ctx, software, ec::kBadRequest, &auth);
  }
  // Unknown, already bound, or another user's: 400 as §5.4 says.
  const auto handle = core.peer_connections->claim(id.value(), auth.credential.username);
  if (!handle) {
    return errorResponse(ctx, software, ec::kBadRequest, &auth);
  }
  core.network.bindDataConnection(ctx.five_tuple, id.value(), *handle);
  auto b = successBuilder(ctx);
  return seal(b, ctx, software, &auth);
}

void expirePeerConnections(TurnCore& core) {
  const auto now = core.clock.now();
  std::erase_if(core.pending_binds, [&](const TurnCore::PendingBind& p) {
    if (p.deadline > now) {
      return false;
    }
    if (core.peer_connections->overdue(p.id, now)) {
      core.network.closePeerConnection(p.id);  // no ConnectionBind in 30 s
      if (Allocation* a = core.allocations.find(p.allocation)) {
        forget(*a, p.id);
      }
    }
    return true;
  });
}

void closeTcpPeers(Allocation& allocation, TurnCore& core) {
  allocation.foldPeerTraffic();
  for (const TcpPeer& p : allocation.tcp_peers) {
    core.connecting.erase(p.id);  // a Connect in flight answers nobody now
    core.network.closePeerConnection(p.id);
  }
  allocation.tcp_peers.clear();
}

}  // namespace turnpike::turn
