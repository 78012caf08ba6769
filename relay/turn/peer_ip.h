#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "relay/stun/transport_address.h"

namespace turnpike::turn {

/// An IP address without its port: what permissions (RFC 8656 §9) and
/// per-source connection counts are keyed by.
struct PeerIp {
  stun::AddressFamily family = stun::AddressFamily::IPv4;
  std::array<std::uint8_t, 16> ip{};

  static PeerIp of(const stun::TransportAddress& address);
  bool operator==(const PeerIp&) const = default;
};

/// FNV-1a over the address. Not keyed: only for tables whose size is capped
/// (permissions per allocation) or whose keys are real, connected sources.
struct PeerIpHash {
  std::size_t operator()(const PeerIp& p) const noexcept;
};

}  // namespace turnpike::turn
