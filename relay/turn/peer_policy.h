#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "relay/stun/transport_address.h"

namespace turnpike::turn {

/// An IP prefix: "10.0.0.0/8", "fc00::/7".
struct IpPrefix {
  stun::AddressFamily family = stun::AddressFamily::IPv4;
  std::array<std::uint8_t, 16> ip{};
  unsigned length = 0;

  static std::optional<IpPrefix> parse(std::string_view text);
  [[nodiscard]] bool contains(const stun::TransportAddress& address) const;
};

/// Which peers an allocation may talk to (RFC 8656 §21.5: a TURN server must
/// not become a way into the networks behind it). Explicit `deny` wins over
/// explicit `allow`, which wins over the host's own addresses and the
/// built-in list of refused ranges.
class PeerPolicy {
 public:
  /// `own` are the host's addresses (interfaces, relay and listen
  /// addresses): refused unless allowed, so a client cannot reach services
  /// bound on 0.0.0.0 through the host's own address, nest TURN in TURN or
  /// build relay loops.
  PeerPolicy(bool allow_loopback, std::vector<IpPrefix> allow, std::vector<IpPrefix> deny,
             std::vector<IpPrefix> own = {});

  [[nodiscard]] bool permits(const stun::TransportAddress& peer) const;

  /// The ranges refused unless allowed: loopback, RFC 1918, CGNAT, link-local
  /// (cloud metadata included), multicast, broadcast, unspecified,
  /// documentation, benchmarking, ULA, and IPv6 forms that carry an IPv4
  /// address (mapped, compatible, NAT64, 6to4, Teredo).
  static const std::vector<IpPrefix>& builtinDenied();

 private:
  bool allow_loopback_;
  std::vector<IpPrefix> allow_;
  std::vector<IpPrefix> deny_;
  std::vector<IpPrefix> own_;
};

}  // namespace turnpike::turn
