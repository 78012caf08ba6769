#include "relay/turn/turn_core.h"

#include "relay/turn/relay_port_pool.h"
#include "relay/turn/turn_handlers.h"

namespace turnpike::turn {

void TurnCore::releasePort(const stun::TransportAddress& bound) {
  for (auto& relay : relays) {
    if (relay.bind.family == bound.family && relay.bind.ip == bound.ip) {
      relay.ports->release(bound.port);
      return;
    }
  }
}

void TurnCore::deleteAllocation(Allocation& allocation, DeletionReason reason) {
  closeTcpPeers(allocation, *this);
  auto owned = allocations.remove(allocation);
  network.closeRelaySocket(owned->socket);
  if (owned->additional) {
    network.closeRelaySocket(owned->additional->socket);
    releasePort(owned->additional->bind);
  }
  for (auto& relay : relays) {
    if (relay.bind.family == owned->relay_bind.family && relay.bind.ip == owned->relay_bind.ip) {
      relay.ports->release(owned->relay_bind.port);
      if (owned->reservation_token) {
        // A reservation nobody claimed goes back too.
        if (const auto held = relay.ports->claim(*owned->reservation_token)) {
          relay.ports->release(*held);
        }
      }
    }
  }
  quotas.release(owned->user_id);
  ++counters.allocations_deleted;
  observer.onAllocationDeleted(*owned, reason);
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
  connections_refused += o.connections_refused;
  auth_bad_integrity += o.auth_bad_integrity;
  auth_stale_nonce += o.auth_stale_nonce;
  auth_expired_username += o.auth_expired_username;
  auth_unknown_user += o.auth_unknown_user;
  auth_quota += o.auth_quota;
  allocations_created += o.allocations_created;
  allocations_deleted += o.allocations_deleted;
  bytes_to_peer += o.bytes_to_peer;
  packets_to_peer += o.packets_to_peer;
  bytes_from_peer += o.bytes_from_peer;
  packets_from_peer += o.packets_from_peer;
  return *this;
}

}  // namespace turnpike::turn
