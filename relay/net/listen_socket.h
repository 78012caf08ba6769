#pragma once

#include <cstdint>
#include <string>

#include "relay/stun/transport_address.h"

namespace turnpike::net {

enum class SocketKind { Udp, Tcp };

/// A bound socket, or why it could not be bound.
struct OpenedSocket {
  int fd = -1;
  stun::TransportAddress local;  ///< the address actually bound (port 0 resolved)
  std::string error;             ///< empty on success
};

/// Opens a non-blocking socket bound to `address` with SO_REUSEPORT, so every
/// worker can own one socket per listen address and the kernel spreads
/// clients over them. TCP sockets are also listening.
OpenedSocket openListenSocket(SocketKind kind, const stun::TransportAddress& address);

/// Sets SO_RCVBUF / SO_SNDBUF where the size is not 0. The kernel caps them
/// at its maximum silently; a refusal is only logged.
void applySocketBuffers(int fd, std::uint32_t receive, std::uint32_t send);

}  // namespace turnpike::net
