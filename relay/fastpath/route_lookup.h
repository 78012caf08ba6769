#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>

#include "relay/fastpath/mapped_address.h"

namespace turnpike::fastpath {

/// How the kernel would send to an address now (IPv6 or IPv4-mapped).
struct Route {
  std::uint32_t ifindex = 0;  ///< the interface it leaves by
  /// The source address it would pick, in the destination's family (all
  /// zero when the kernel named none).
  Address source{};
  bool loopback_interface = false;  ///< `lo`: no TC program can relay there
};

/// Asks the kernel's routing table (rtnetlink RTM_GETROUTE) how it would
/// send to an IPv4 or IPv6 address. Keeps its rtnetlink socket, and remembers which
/// interfaces are loopback (an ifindex is never reused in a namespace), so
/// a lookup is one sendto and one recv. For ChannelBind, not per packet;
/// not thread-safe: its owner serialises the calls.
class RouteLookup {
 public:
  RouteLookup();
  ~RouteLookup();
  RouteLookup(const RouteLookup&) = delete;
  RouteLookup& operator=(const RouteLookup&) = delete;

  /// The route to `destination`; nothing when there is none or the
  /// question failed.
  std::optional<Route> routeTo(const Address& destination);

 private:
  bool isLoopbackInterface(std::uint32_t ifindex);

  int netlink_ = -1;
  std::uint32_t sequence_ = 0;
  /// Interfaces seen, by ifindex; cleared when it reaches kMaxInterfaces.
  std::unordered_map<std::uint32_t, bool> loopback_;
  static constexpr std::size_t kMaxInterfaces = 256;
};

}  // namespace turnpike::fastpath
