#pragma once

#include <optional>

#include "conf/config.h"
#include "relay/base/clock.h"
#include "relay/net/shared_state.h"

namespace turnpike::app {

/// Builds what all workers share from the validated config: credentials,
/// nonces, peer policy, quotas, relay addresses and their port pools.
/// nullopt (after logging why) when no relay address can be found.
/// `call_credentials` (may be null) checks call-bound TURN credentials.
std::optional<net::SharedState> buildSharedState(
    const conf::Config& config, const Clock& clock,
    std::shared_ptr<const auth::CredentialProvider> call_credentials = nullptr);

/// The part of the config a reload can replace: protocol settings, the
/// authenticator (nonces signed with `nonce_key`) and the peer policy.
std::shared_ptr<const net::ReloadedPolicy> buildPolicy(
    const conf::Config& config, const std::array<std::uint8_t, 32>& nonce_key,
    std::shared_ptr<const auth::CredentialProvider> call_credentials = nullptr);

}  // namespace turnpike::app
