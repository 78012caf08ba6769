#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <vector>

#include "auth/authenticator.h"
#include "relay/net/connection_ledger.h"
#include "relay/net/tls_context.h"
#include "relay/turn/kernel_relay.h"
#include "relay/turn/peer_connections.h"
#include "relay/turn/peer_policy.h"
#include "relay/turn/quota_ledger.h"
#include "relay/turn/relay_port_pool.h"
#include "relay/turn/turn_settings.h"

namespace turnpike::net {

/// What a reload hands each worker: replaces TurnCore's settings,
/// credentials and peer policy as a whole.
struct ReloadedPolicy {
  turn::TurnSettings settings;
  std::shared_ptr<const auth::Authenticator> authenticator;
  std::shared_ptr<const turn::PeerPolicy> policy;
};

/// What all workers share, built once from the config before they start.
/// Everything here is either immutable or guarded for the control path
/// (allocation creation and deletion), never touched per packet.
struct SharedState {
  /// Settings, credentials and peer policy as started; reloads hand each
  /// worker a new one (Worker::reload).
  std::shared_ptr<const ReloadedPolicy> policy;
  /// Signs nonces; kept across reloads so issued nonces stay valid.
  std::array<std::uint8_t, 32> nonce_key{};
  /// Call-bound TURN credentials (the control plane's); kept across
  /// reloads. Null when the call API is off.
  std::shared_ptr<const auth::CredentialProvider> call_credentials;
  std::unique_ptr<turn::QuotaLedger> quotas;
  std::vector<std::unique_ptr<turn::RelayPortPool>> port_pools;  // one per relay address
  std::vector<turn::RelayEndpoint> relays;
  std::unique_ptr<TlsContext> tls;  ///< null when nothing listens on TLS
  std::unique_ptr<ConnectionLedger> connections;
  std::unique_ptr<turn::PeerConnections> peer_connections;  ///< RFC 6062
  /// The kernel data path (relay.fast_path); null: user space relays all.
  std::unique_ptr<turn::KernelRelay> kernel;
  /// Set by SIGUSR1 or POST /admin/drain; read by every worker's Allocate.
  std::unique_ptr<std::atomic<bool>> draining = std::make_unique<std::atomic<bool>>(false);
};

}  // namespace turnpike::net
