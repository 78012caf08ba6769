#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "auth/authenticator.h"
#include "relay/net/connection_ledger.h"
#include "relay/net/tls_context.h"
#include "relay/turn/peer_connections.h"
#include "relay/turn/peer_policy.h"
#include "relay/turn/quota_ledger.h"
#include "relay/turn/relay_port_pool.h"
#include "relay/turn/turn_settings.h"

namespace turnpike::net {

/// What all workers share, built once from the config before they start.
/// Everything here is either immutable or guarded for the control path
/// (allocation creation and deletion), never touched per packet.
struct SharedState {
  turn::TurnSettings settings;
  std::unique_ptr<auth::Authenticator> authenticator;
  std::unique_ptr<turn::PeerPolicy> policy;
  std::unique_ptr<turn::QuotaLedger> quotas;
  std::vector<std::unique_ptr<turn::RelayPortPool>> port_pools;  // one per relay address
  std::vector<turn::RelayEndpoint> relays;
  std::unique_ptr<TlsContext> tls;  ///< null when nothing listens on TLS
  std::unique_ptr<ConnectionLedger> connections;
  std::unique_ptr<turn::PeerConnections> peer_connections;  ///< RFC 6062
  /// Set by SIGUSR1 or POST /admin/drain; read by every worker's Allocate.
  std::unique_ptr<std::atomic<bool>> draining = std::make_unique<std::atomic<bool>>(false);
};

}  // namespace turnpike::net
