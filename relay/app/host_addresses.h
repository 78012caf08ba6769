#pragma once

#include <optional>
#include <string>
#include <vector>

#include "conf/config.h"

namespace turnpike::app {

/// Every IP address of the host's interfaces, IPv4 and IPv6, as text.
std::vector<std::string> interfaceAddresses();

/// The first non-loopback IPv4 address of the host's interfaces.
std::optional<std::string> firstHostIpv4();

/// The addresses a peer must not have unless relay.peers.allow names it:
/// the host's interfaces, the relay addresses (bound and advertised) and the
/// listen addresses other than wildcards. Read at start and on reload.
std::vector<std::string> ownAddresses(const conf::Config& config);

}  // namespace turnpike::app
