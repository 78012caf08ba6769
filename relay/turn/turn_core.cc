#include "relay/turn/turn_core.h"

#include "relay/turn/relay_port_pool.h"
#include "relay/turn/turn_handlers.h"

namespace turnpike::turn {

namespace {

// The entry of `relays` for a relay address, or relays.size().
std::size_t relayIndex(const std::vector<RelayEndpoint>& relays,
                       const stun::TransportAddress& address) {
  std::size_t i = 0;
  while (i < relays.size() &&
         (relays[i].bind.family != address.family || relays[i].bind.ip != address.ip)) {
    ++i;
  }
  return i;
}

}  // namespace

void TurnCore::releasePort(const stun::TransportAddress& bound) {
  if (const std::size_t i = relayIndex(relays, bound); i < relays.size()) {
    relays[i].ports->release(bound.port);
  }
}

void TurnCore::retireRelaySocket(RelaySocketId socket, const stun::TransportAddress& bound,
                                 bool dont_fragment) {
  const std::size_t i = relayIndex(relays, bound);
  std::optional<RelaySocketReserve::Parked> closing =
      RelaySocketReserve::Parked{socket, bound, dont_fragment};
  if (i < reserves.size() && network.keepsRelaySockets()) {
    closing = reserves[i].park(*closing, clock.now());
  }
  if (closing) {
    network.closeRelaySocket(closing->socket);
    releasePort(closing->bound);
  }
}

std::optional<std::pair<std::uint16_t, RelaySocketId>> TurnCore::reuseRelaySocket(
    const RelayEndpoint& relay, bool dont_fragment, bool any_age) {
  const std::size_t i = relayIndex(relays, relay.bind);
  if (i >= reserves.size()) {
    return std::nullopt;
  }
  std::vector<RelaySocketReserve::Parked> spoilt;
  std::optional<std::pair<std::uint16_t, RelaySocketId>> reused;
  // A few tries: each failed one closes a socket a peer still sends to.
  for (int attempt = 0; attempt < 4 && !reused; ++attempt) {
    const auto parked = reserves[i].take(clock.now(), any_age, spoilt);
    if (!parked) {
      break;
    }
    const auto set_df =
        parked->dont_fragment != dont_fragment ? std::optional(dont_fragment) : std::nullopt;
    if (network.reuseRelaySocket(parked->socket, set_df)) {
      reused = std::make_pair(parked->bound.port, parked->socket);
    } else {
      spoilt.push_back(*parked);
    }
  }
  for (const auto& s : spoilt) {
    network.closeRelaySocket(s.socket);
    releasePort(s.bound);
  }
  counters.relay_sockets_reused += reused ? 1 : 0;
  counters.relay_sockets_spoilt += spoilt.size();
  return reused;
}

void TurnCore::relaySocketTouched(RelaySocketId socket) {
  for (auto& reserve : reserves) {
    if (reserve.touched(socket)) {
      return;
    }
  }
}

void TurnCore::deleteAllocation(Allocation& allocation, DeletionReason reason) {
  dropKernelChannels(allocation, *this);  // its final counts include the kernel's
  closeTcpPeers(allocation, *this);
  auto owned = allocations.remove(allocation);
  if (owned->tcp) {
    network.closeRelaySocket(owned->socket);
    releasePort(owned->relay_bind);
  } else {
    retireRelaySocket(owned->socket, owned->relay_bind, owned->dont_fragment);
  }
  if (owned->additional) {
    // The IPv6 half never sets DF (IP_MTU_DISCOVER is IPv4's).
    retireRelaySocket(owned->additional->socket, owned->additional->bind, false);
  }
  if (owned->reservation_token) {
    // A reservation nobody claimed goes back too.
    const std::size_t i = relayIndex(relays, owned->relay_bind);
    if (i < relays.size()) {
      if (const auto held = relays[i].ports->claim(*owned->reservation_token)) {
        relays[i].ports->release(*held);
      }
    }
  }
  quotas.release(owned->user_id);
  ++counters.allocations_deleted;
  counters.allocation_durations.observe(
      std::chrono::duration<double>(clock.now() - owned->created_at).count());
  observer.onAllocationDeleted(*owned, reason);
}

void TurnCore::reload(const TurnSettings& next, const auth::Authenticator& auth,
                      const PeerPolicy& peer_policy) {
  settings = next;
  limiter.setRate(next.unauthenticated_rate);
  authenticator = &auth;
  policy = &peer_policy;
}

TrafficCounters& TrafficCounters::operator+=(const TrafficCounters& o) {
  bytes_to_peer += o.bytes_to_peer;
  packets_to_peer += o.packets_to_peer;
  bytes_from_peer += o.bytes_from_peer;
  packets_from_peer += o.packets_from_peer;
  return *this;
}

TrafficCounters& TrafficCounters::operator-=(const TrafficCounters& o) {
  bytes_to_peer -= o.bytes_to_peer;
  packets_to_peer -= o.packets_to_peer;
  bytes_from_peer -= o.bytes_from_peer;
  packets_from_peer -= o.packets_from_peer;
  return *this;
}

void DurationHistogram::observe(double seconds) {
  std::size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) {
    ++i;
  }
  ++counts[i];
  sum_seconds += seconds;
}

DurationHistogram& DurationHistogram::operator+=(const DurationHistogram& o) {
  for (std::size_t i = 0; i < counts.size(); ++i) {
    counts[i] += o.counts[i];
  }
  sum_seconds += o.sum_seconds;
  return *this;
}

std::size_t ServerCounters::methodIndex(std::uint16_t method) {
  for (std::size_t i = 0; i + 1 < kMethods.size(); ++i) {
    if (kMethods[i] == method) {
      return i;
    }
  }
  return kMethods.size() - 1;
}

std::size_t ServerCounters::errorIndex(std::uint16_t code) {
  for (std::size_t i = 0; i + 1 < kErrorCodes.size(); ++i) {
    if (kErrorCodes[i] == code) {
      return i;
    }
  }
  return kErrorCodes.size() - 1;
}

ServerCounters& ServerCounters::operator+=(const ServerCounters& o) {
  requests += o.requests;
  indications += o.indications;
  success_responses += o.success_responses;
  error_responses += o.error_responses;
  malformed += o.malformed;
  unexpected += o.unexpected;
  no_allocation += o.no_allocation;
  no_permission += o.no_permission;
  denied_peer += o.denied_peer;
  rate_limited += o.rate_limited;
  bandwidth_limit += o.bandwidth_limit;
  slow_reader += o.slow_reader;
  too_big += o.too_big;
  connections_refused += o.connections_refused;
  tcp_peers_refused += o.tcp_peers_refused;
  connections_timed_out += o.connections_timed_out;
  auth_bad_integrity += o.auth_bad_integrity;
  auth_stale_nonce += o.auth_stale_nonce;
  auth_expired_username += o.auth_expired_username;
  auth_call_ended += o.auth_call_ended;
  auth_unknown_user += o.auth_unknown_user;
  auth_quota += o.auth_quota;
  allocations_created += o.allocations_created;
  allocations_deleted += o.allocations_deleted;
  relay_sockets_reused += o.relay_sockets_reused;
  relay_sockets_spoilt += o.relay_sockets_spoilt;
  for (std::size_t i = 0; i < relayed.size(); ++i) {
    relayed[i] += o.relayed[i];
  }
  kernel_relayed += o.kernel_relayed;
  kernel_flows_installed += o.kernel_flows_installed;
  kernel_flows_refused += o.kernel_flows_refused;
  allocation_durations += o.allocation_durations;
  for (std::size_t m = 0; m < kMethods.size(); ++m) {
    for (std::size_t t = 0; t < 3; ++t) {
      requests_by_method[m][t] += o.requests_by_method[m][t];
    }
    for (std::size_t e = 0; e < kErrorCodes.size(); ++e) {
      errors_by_code[m][e] += o.errors_by_code[m][e];
    }
  }
  return *this;
}

}  // namespace turnpike::turn
