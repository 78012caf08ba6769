#pragma once

#include <optional>

#include "conf/config.h"
#include "relay/base/clock.h"
#include "relay/net/shared_state.h"
#include "relay/turn/allocation_observer.h"

namespace turnpike::app {

/// Builds what all workers share from the validated config: credentials,
/// nonces, peer policy, quotas, relay addresses and their port pools.
/// nullopt (after logging why) when no relay address can be found.
std::optional<net::SharedState> buildSharedState(const conf::Config& config, const Clock& clock);

/// Logs allocation lifecycle events (one line each, info level).
class LoggingObserver final : public turn::AllocationObserver {
 public:
  void onAllocationCreated(const turn::Allocation& a) override;
  void onAllocationDeleted(const turn::Allocation& a, turn::DeletionReason reason) override;
  void onPermissionInstalled(const turn::Allocation& a,
                             const stun::TransportAddress& peer) override;
  void onChannelBound(const turn::Allocation& a, std::uint16_t channel,
                      const stun::TransportAddress& peer) override;
};

}  // namespace turnpike::app
