#pragma once

#include <cstdint>
#include <optional>

namespace turnpike::fastpath {

/// How the kernel would send to an IPv4 address now.
struct Route {
  std::uint32_t ifindex = 0;        ///< the interface it leaves by
  std::uint32_t source = 0;         ///< the source address it would pick (network order)
  bool loopback_interface = false;  ///< `lo`: no TC program can relay there
};

/// Asks the kernel's routing table (rtnetlink RTM_GETROUTE) for the route
/// to `destination` (network order); nothing when there is none or the
/// question failed. Blocking, a few microseconds: for ChannelBind, not
/// per packet.
std::optional<Route> routeTo(std::uint32_t destination);

}  // namespace turnpike::fastpath
