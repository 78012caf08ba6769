// RFC 8656 §7: Allocate.

#include <array>

#include "relay/stun/address_attribute.h"
#include "relay/stun/error_code_attribute.h"
#include "relay/stun/turn_attributes.h"
#include "relay/turn/relay_port_pool.h"
#include "relay/turn/response.h"
#include "relay/turn/turn_handlers.h"

namespace turnpike::turn {
namespace {

using stun::AttributeType;
namespace ec = stun::error_codes;

// §7.2: min(requested, maximum), but never below the default.
std::chrono::seconds lifetimeFor(const stun::MessageView& request, const TurnSettings& s) {
  const auto attr = request.find(AttributeType::Lifetime);
  const auto value =
      attr ? stun::decodeU32(attr->value) : Result<std::uint32_t, stun::AttributeError>(0U);
  if (!attr || !value) {
    return s.default_lifetime;
  }
  const std::chrono::seconds requested{value.value()};
  return std::max(s.default_lifetime, std::min(requested, s.max_lifetime));
}

Outcome successFor(const RequestContext& ctx, const auth::AuthResult& auth, const Allocation& a,
                   TurnCore& core) {
  const auto remaining =
      std::chrono::duration_cast<std::chrono::seconds>(a.expires_at - core.clock.now());
  auto b = successBuilder(ctx);
  b.addXorAddress(AttributeType::XorRelayedAddress, a.relayed);
  if (a.additional) {
    b.addXorAddress(AttributeType::XorRelayedAddress, a.additional->relayed);
  }
  b.addU32(AttributeType::Lifetime,
           static_cast<std::uint32_t>(std::max<std::int64_t>(0, remaining.count())));
  if (a.reservation_token) {
    b.add(AttributeType::ReservationToken, stun::encodeReservationToken(*a.reservation_token));
  }
  b.addXorAddress(AttributeType::XorMappedAddress, ctx.source());
  if (a.additional_error != 0) {
    // §7.2: a dual allocation whose IPv6 half failed reports it here.
    const auto prefix =
        stun::encodeAddressErrorCodePrefix(stun::AddressFamily::IPv6, a.additional_error);
    std::array<std::uint8_t, 64> value{};
    const auto reason = stun::defaultReason(a.additional_error);
    std::copy(prefix.begin(), prefix.end(), value.begin());
    std::copy(reason.begin(), reason.end(), value.begin() + 4);
    b.add(AttributeType::AddressErrorCode, std::span(value).first(4 + reason.size()));
  }
  return seal(b, ctx, core.settings.software, &auth);
}

struct Request {
  bool dont_fragment = false;
  bool even_port = false;
  bool reserve_next = false;
  std::optional<std::uint64_t> reservation_token;
  bool tcp = false;                                        ///< REQUESTED-TRANSPORT TCP (RFC 6062)
  stun::AddressFamily family = stun::AddressFamily::IPv4;  ///< REQUESTED-ADDRESS-FAMILY
  bool dual = false;  ///< ADDITIONAL-ADDRESS-FAMILY IPv6 (§7.2)
};

// Validates the attributes; returns 0 or the error code.
std::uint16_t parseRequest(const RequestContext& ctx, const TurnCore& core, Request& r) {
  const stun::MessageView& m = ctx.request;
  const auto transport = m.find(AttributeType::RequestedTransport);
  if (!transport || !stun::decodeRequestedTransport(transport->value)) {
    return ec::kBadRequest;
  }
  const std::uint8_t protocol = stun::decodeRequestedTransport(transport->value).value();
  if (protocol == stun::kProtocolTcp && core.peer_connections != nullptr) {
    // RFC 6062 §5.1: only over a TCP or TLS client connection, and without
    // the UDP-only port reservation attributes.
    if (ctx.five_tuple.transport == Transport::Udp || m.has(AttributeType::EvenPort) ||
        m.has(AttributeType::ReservationToken) || m.has(AttributeType::AdditionalAddressFamily)) {
      return ec::kBadRequest;
    }
    r.tcp = true;
  } else if (protocol != stun::kProtocolUdp) {
    return ec::kUnsupportedTransportProtocol;
  }
  r.dont_fragment = m.has(AttributeType::DontFragment);
  const auto even = m.find(AttributeType::EvenPort);
  const auto token = m.find(AttributeType::ReservationToken);
  const auto family = m.find(AttributeType::RequestedAddressFamily);
  const auto additional = m.find(AttributeType::AdditionalAddressFamily);
  // §7.2: RESERVATION-TOKEN excludes EVEN-PORT and REQUESTED-ADDRESS-FAMILY.
  if (token && (even || family)) {
    return ec::kBadRequest;
  }
  if (even) {
    const auto reserve = stun::decodeEvenPort(even->value);
    if (!reserve) {
      return ec::kBadRequest;
    }
    r.even_port = true;
    r.reserve_next = reserve.value();
  }
  if (token) {
    const auto t = stun::decodeReservationToken(token->value);
    if (!t) {
      return ec::kBadRequest;
    }
    r.reservation_token = t.value();
  }
  if (family) {
    if (additional) {
      return ec::kBadRequest;
    }
    const auto f = stun::decodeAddressFamily(family->value);
    if (!f) {
      return ec::kBadRequest;
    }
    r.family = f.value();
  }
  if (additional) {
    const auto f = stun::decodeAddressFamily(additional->value);
    // §7.2: ADDITIONAL-ADDRESS-FAMILY may only ask for IPv6.
    if (!f || f.value() != stun::AddressFamily::IPv6) {
      return ec::kBadRequest;
    }
    r.dual = true;
  }
  return 0;
}

// Takes a port and opens the relay socket on it; retries when another
// process already holds a port.
std::optional<std::pair<std::uint16_t, RelaySocketId>> openRelay(const Request& r,
                                                                 const RelayEndpoint& relay,
                                                                 TurnCore& core,
                                                                 std::uint64_t* token) {
  if (r.reservation_token) {
    const auto port = relay.ports->claim(*r.reservation_token);
    if (!port) {
      return std::nullopt;
    }
    stun::TransportAddress bind = relay.bind;
    bind.port = *port;
    const auto socket = core.network.openRelaySocket(bind, r.dont_fragment);
    if (!socket) {
      relay.ports->release(*port);
      return std::nullopt;
    }
    return std::make_pair(*port, *socket);
  }
  // A plain UDP allocation takes a kept socket first (one quiet long
  // enough), or any kept one when the address has no port left.
  const bool plain = !r.tcp && !r.even_port && !r.reserve_next;
  if (plain) {
    if (auto kept = core.reuseRelaySocket(relay, r.dont_fragment, false)) {
      return kept;
    }
  }
  // Ports the kernel refused stay held until we give up, so no attempt picks
  // the same one twice.
  std::array<std::uint16_t, 8> refused{};
  std::size_t n_refused = 0;
  std::optional<std::pair<std::uint16_t, RelaySocketId>> opened;
  while (!opened && n_refused < refused.size()) {
    const auto port = relay.ports->acquire(r.even_port, r.reserve_next, token);
    if (!port) {
      break;
    }
    stun::TransportAddress bind = relay.bind;
    bind.port = *port;
    const auto socket = r.tcp ? core.network.openTcpRelay(bind)
                              : core.network.openRelaySocket(bind, r.dont_fragment);
    if (socket) {
      opened = std::make_pair(*port, *socket);
      break;
    }
    refused[n_refused++] = *port;
    if (r.reserve_next && token != nullptr) {
      if (const auto held = relay.ports->claim(*token)) {
        relay.ports->release(*held);
      }
    }
  }
  for (std::size_t i = 0; i < n_refused; ++i) {
    relay.ports->release(refused[i]);
  }
  if (!opened && plain) {
    opened = core.reuseRelaySocket(relay, r.dont_fragment, true);
  }
  return opened;
}

// Draining: RFC 8489 §10 300 Try Alternate with ALTERNATE-SERVER (one of the
// client's family when there is one), or 403 when no alternate is configured.
Outcome turnAway(const RequestContext& ctx, const auth::AuthResult& auth, TurnCore& core) {
  const auto& alternates = core.settings.alternate_servers;
  if (alternates.empty()) {
    return errorResponse(ctx, core.settings.software, ec::kForbidden, &auth);
  }
  const auto same_family = std::find_if(alternates.begin(), alternates.end(), [&](const auto& a) {
    return a.family == ctx.source().family;
  });
  stun::MessageBuilder b(ctx.response_buffer,
                         {ctx.request.method(), stun::MessageClass::ErrorResponse},
                         ctx.request.transactionId(), ctx.request.magicCookie());
  b.addErrorCode(ec::kTryAlternate, stun::defaultReason(ec::kTryAlternate));
  b.addAddress(AttributeType::AlternateServer,
               same_family != alternates.end() ? *same_family : alternates.front());
  return seal(b, ctx, core.settings.software, &auth);
}

}  // namespace

Outcome handleAllocate(const RequestContext& ctx, const auth::AuthResult& auth, TurnCore& core) {
  const auto& software = core.settings.software;
  if (Allocation* existing = core.allocations.find(ctx.five_tuple)) {
    // §7.2: a retransmitted Allocate gets the same success response.
    if (existing->allocate_transaction == ctx.request.transactionId() &&
        existing->username == auth.credential.username) {
      return successFor(ctx, auth, *existing, core);
    }
    return errorResponse(ctx, software, ec::kAllocationMismatch, &auth);
  }
  if (core.draining != nullptr && core.draining->load(std::memory_order_relaxed)) {
    return turnAway(ctx, auth, core);
  }
  Request r;
  if (const std::uint16_t error = parseRequest(ctx, core, r); error != 0) {
    return errorResponse(ctx, software, error, &auth);
  }
  const auto relayOf = [&core](stun::AddressFamily family) {
    const auto it = std::find_if(core.relays.begin(), core.relays.end(),
                                 [family](const auto& e) { return e.bind.family == family; });
    return it == core.relays.end() ? nullptr : &*it;
  };
  // A call-bound credential past its expiry may keep its allocation
  // refreshing, never make a new one (control-plane.md "Bound to the call").
  if (!auth.credential.call_id.empty() && auth.credential.expires_at &&
      *auth.credential.expires_at <= core.clock.unixTime()) {
    ++core.counters.auth_expired_username;
    return errorResponse(ctx, software, ec::kUnauthenticated, nullptr);
  }
  const RelayEndpoint* relay = relayOf(r.family);
  if (relay == nullptr) {
    // §7.2: no relay address of the family asked for (IPv4 is the default).
    return errorResponse(ctx, software, ec::kAddressFamilyNotSupported, &auth);
  }
  switch (core.quotas.acquire(auth.credential.user_id)) {
    case QuotaLedger::Decision::Granted: break;
    case QuotaLedger::Decision::UserQuotaReached:
      ++core.counters.auth_quota;
      return errorResponse(ctx, software, ec::kAllocationQuotaReached, &auth);
    case QuotaLedger::Decision::TotalReached:
      return errorResponse(ctx, software, ec::kInsufficientCapacity, &auth);
  }
  std::uint64_t token = 0;
  const auto opened = openRelay(r, *relay, core, r.reserve_next ? &token : nullptr);
  if (!opened) {
    core.quotas.release(auth.credential.user_id);
    return errorResponse(ctx, software, ec::kInsufficientCapacity, &auth);
  }
  const auto now = core.clock.now();
  auto a = std::make_unique<Allocation>();
  a->id = core.next_allocation_id++;
  a->five_tuple = ctx.five_tuple;
  a->relay_bind = relay->bind;
  a->relay_bind.port = opened->first;
  a->relayed = relay->advertised;
  a->relayed.port = opened->first;
  a->socket = opened->second;
  a->dont_fragment = r.dont_fragment;
  a->username = auth.credential.username;
  a->user_id = auth.credential.user_id;
  a->realm = core.authenticator->realm();
  a->key = auth.credential.key;
  a->credential_expires_at = auth.credential.expires_at;
  a->call_id = auth.credential.call_id;
  a->algorithm = auth.algorithm;
  a->allocate_transaction = ctx.request.transactionId();
  a->tcp = r.tcp;
  if (r.reserve_next) {
    a->reservation_token = token;
  }
  if (r.dual) {
    // §7.2: the IPv6 half is best effort; the IPv4 allocation stands either way.
    const RelayEndpoint* relay6 = relayOf(stun::AddressFamily::IPv6);
    Request plain;
    plain.dont_fragment = r.dont_fragment;
    const auto opened6 =
        relay6 != nullptr ? openRelay(plain, *relay6, core, nullptr) : std::nullopt;
    if (opened6) {
      RelayedAddress half{relay6->bind, relay6->advertised, opened6->second};
      half.bind.port = opened6->first;
      half.relayed.port = opened6->first;
      a->additional = half;
    } else {
      a->additional_error =
          relay6 == nullptr ? ec::kAddressFamilyNotSupported : ec::kInsufficientCapacity;
    }
  }
  a->created_at = now;
  a->expires_at = now + lifetimeFor(ctx.request, core.settings);
  if (core.settings.allocation_bandwidth != 0) {
    a->bandwidth =
        TokenBucket(core.settings.allocation_bandwidth, core.settings.allocation_bandwidth, now);
    if (a->tcp) {
      a->pipe_bandwidth =
          std::make_shared<SharedTokenBucket>(core.settings.allocation_bandwidth, now);
    }
  }
  Allocation& inserted = core.allocations.insert(std::move(a));
  ++core.counters.allocations_created;
  core.observer.onAllocationCreated(inserted);
  return successFor(ctx, auth, inserted, core);
}

}  // namespace turnpike::turn
