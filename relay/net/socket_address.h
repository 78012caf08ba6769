#pragma once

#include <sys/socket.h>

#include <optional>

#include "conf/network_text.h"
#include "relay/stun/transport_address.h"

namespace turnpike::net {

/// Conversions between the kernel's socket addresses and our plain types.
stun::TransportAddress fromSockaddr(const sockaddr_storage& ss);
socklen_t toSockaddr(const stun::TransportAddress& address, sockaddr_storage& ss);
std::optional<stun::TransportAddress> fromEndpoint(const conf::Endpoint& endpoint);

}  // namespace turnpike::net
