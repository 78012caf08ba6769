#pragma once

#include <cstddef>
#include <functional>

#include "relay/stun/transport_address.h"
#include "relay/turn/transport.h"

namespace turnpike::turn {

/// RFC 8656 §2: the client's address, the server's address and the transport
/// protocol identify an allocation.
struct FiveTuple {
  stun::TransportAddress client;
  stun::TransportAddress server;
  Transport transport = Transport::Udp;
  bool operator==(const FiveTuple&) const = default;
};

inline std::size_t hashAddress(const stun::TransportAddress& a) {
  std::size_t h = static_cast<std::size_t>(a.port) * 0x9E3779B97F4A7C15ULL;
  for (std::size_t i = 0; i < a.ipSize(); ++i) {
    h = (h ^ a.ip[i]) * 0x100000001B3ULL;
  }
  return h;
}

struct FiveTupleHash {
  std::size_t operator()(const FiveTuple& t) const {
    return hashAddress(t.client) * 31 + hashAddress(t.server) +
           static_cast<std::size_t>(t.transport);
  }
};

}  // namespace turnpike::turn
