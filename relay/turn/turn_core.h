#pragma once

#include <array>
#include <atomic>
#include <vector>

#include "auth/authenticator.h"
#include "relay/base/clock.h"
#include "relay/turn/allocation_observer.h"
#include "relay/turn/allocation_table.h"
#include "relay/turn/kernel_relay.h"
#include "relay/turn/peer_connections.h"
#include "relay/turn/peer_policy.h"
#include "relay/turn/quota_ledger.h"
#include "relay/turn/relay_network.h"
#include "relay/turn/relay_port_pool.h"
#include "relay/turn/relay_socket_reserve.h"
#include "relay/turn/server_counters.h"
#include "relay/turn/source_rate_limiter.h"
#include "relay/turn/turn_settings.h"

namespace turnpike::turn {

/// Everything the TURN handlers share within one worker: the collaborators
/// handed in by the I/O layer (clock, network, policy, shared pools) and the
/// worker's own state (allocations, counters, rate limiter, scratch buffer).
struct TurnCore {
  TurnCore(TurnSettings settings_in, const Clock& clock_in, const auth::Authenticator& auth_in,
           RelayNetwork& network_in, const PeerPolicy& policy_in, QuotaLedger& quotas_in,
           std::vector<RelayEndpoint> relays_in, AllocationObserver& observer_in)
      : settings(std::move(settings_in)),
        clock(clock_in),
        authenticator(&auth_in),
        network(network_in),
        policy(&policy_in),
        quotas(quotas_in),
        relays(std::move(relays_in)),
        observer(observer_in),
        limiter(settings.unauthenticated_rate) {
    for (const auto& relay : relays) {
      reserves.emplace_back(relay.ports != nullptr ? relay.ports->capacity() : 0);
    }
  }

  /// Deletes an allocation: closes its socket, returns its port and quota.
  void deleteAllocation(Allocation& allocation, DeletionReason reason);
  /// Returns a relay port to the pool of the relay address it was bound on.
  void releasePort(const stun::TransportAddress& bound);
  /// The UDP relay socket of an allocation that ended: kept for the next
  /// Allocate where the network allows it, else closed and its port returned.
  void retireRelaySocket(RelaySocketId socket, const stun::TransportAddress& bound,
                         bool dont_fragment);
  /// A kept socket of relay address `relay` ready for a new allocation, with
  /// its port; nullopt when none is quiet yet (any clean one with `any_age`).
  std::optional<std::pair<std::uint16_t, RelaySocketId>> reuseRelaySocket(
      const RelayEndpoint& relay, bool dont_fragment, bool any_age);
  /// A datagram reached a socket no allocation has: a kept one is spoilt.
  void relaySocketTouched(RelaySocketId socket);
  /// Takes reloaded settings, credentials and peer policy (on the worker's
  /// thread; whoever calls keeps `auth` and `peer_policy` alive).
  void reload(const TurnSettings& next, const auth::Authenticator& auth,
              const PeerPolicy& peer_policy);

  TurnSettings settings;
  const Clock& clock;
  /// Replaced as a whole on reload: never null.
  const auth::Authenticator* authenticator;
  RelayNetwork& network;
  const PeerPolicy* policy;
  QuotaLedger& quotas;
  std::vector<RelayEndpoint> relays;
  /// Kept relay sockets, one reserve per entry of `relays`.
  std::vector<RelaySocketReserve> reserves;
  AllocationObserver& observer;

  /// Set by the process while it drains: new allocations are turned away.
  const std::atomic<bool>* draining = nullptr;
  /// The kernel data path for UDP channels, shared by the workers; null:
  /// every packet is relayed here (relay.fast_path off or unavailable).
  KernelRelay* kernel = nullptr;
  /// Channels this worker has in the kernel now.
  std::size_t kernel_flows = 0;
  /// RFC 6062 peer connections, shared by the workers; null: no TCP relays.
  PeerConnections* peer_connections = nullptr;
  /// Connections waiting for a ConnectionBind: (deadline, id, allocation).
  struct PendingBind {
    Clock::TimePoint deadline;
    std::uint32_t id = 0;
    FiveTuple allocation;
  };
  std::vector<PendingBind> pending_binds;
  /// Connects in flight: id -> the allocation that asked.
  std::unordered_map<std::uint32_t, FiveTuple> connecting;

  AllocationTable allocations;
  ServerCounters counters;
  SourceRateLimiter limiter;
  std::uint64_t indication_counter = 0;
  /// Allocation ids: the worker's number in the top byte, then a count.
  std::uint64_t next_allocation_id = 1;
  /// Where Data indications and ChannelData for the client are built.
  std::array<std::uint8_t, 65536 + 64> scratch{};
};

}  // namespace turnpike::turn
