#include "relay/turn/peer_ip.h"

#include <algorithm>

namespace turnpike::turn {

PeerIp PeerIp::of(const stun::TransportAddress& address) {
  PeerIp p;
  p.family = address.family;
  std::copy(address.ip.begin(), address.ip.begin() + address.ipSize(), p.ip.begin());
  return p;
}

std::size_t PeerIpHash::operator()(const PeerIp& p) const noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL ^ static_cast<std::uint8_t>(p.family);
  for (const std::uint8_t byte : p.ip) {
    h = (h ^ byte) * 0x100000001b3ULL;
  }
  return static_cast<std::size_t>(h);
}

}  // namespace turnpike::turn
