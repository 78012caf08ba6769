#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/fastpath/flow_abi.h"
#include "relay/fastpath/tc_ingress.h"

struct channel_data_bpf;

namespace turnpike::fastpath {

/// An address and port as the maps hold them: the address as four
/// network-order words, IPv6 or IPv4-mapped (::ffff:a.b.c.d, see
/// flow_abi.h); the port in network order.
struct Endpoint {
  std::array<std::uint32_t, 4> ip{};
  std::uint16_t port = 0;

  /// An IPv4 address (network order) in the mapped form.
  static Endpoint v4(std::uint32_t address, std::uint16_t port);
  /// An IPv6 address: 16 bytes in network order.
  static Endpoint v6(const std::uint8_t* address, std::uint16_t port);
  [[nodiscard]] bool isV4() const;
  /// The IPv4 address (network order) of a mapped endpoint.
  [[nodiscard]] std::uint32_t v4Address() const { return ip[3]; }
  /// 0.0.0.0 or ::, an address the kernel picks.
  [[nodiscard]] bool isWildcard() const;
};

/// One channel binding the kernel may relay on its own, all four endpoints
/// of one family: ChannelData from
/// `client` to `server` on `channel` leaves `relayed` for `peer` through
/// `peer_ifindex`; a datagram from `peer` to `relayed` becomes ChannelData
/// from `server` to `client` through `client_ifindex`.
struct ChannelFlow {
  Endpoint client;
  Endpoint server;
  Endpoint relayed;
  Endpoint peer;
  std::uint16_t channel = 0;  ///< 0x4000..0x7FFF
  std::uint32_t client_ifindex = 0;
  std::uint32_t peer_ifindex = 0;
  /// CLOCK_MONOTONIC nanoseconds; from then on the flow's packets go to user space.
  std::uint64_t expires_ns = UINT64_MAX;
};

/// What the kernel relayed for one flow, summed over CPUs.
struct FlowCounters {
  std::uint64_t to_peer_packets = 0;
  std::uint64_t to_peer_bytes = 0;
  std::uint64_t to_client_packets = 0;
  std::uint64_t to_client_bytes = 0;
};

/// tp_verdict as metrics and tools name it ("relayed_to_peer", ...).
std::string_view verdictName(std::size_t verdict);

/// The ChannelData fast path (channel_data.bpf.c) attached at TC ingress
/// of some interfaces. User space decides: a flow relays in the kernel
/// from install() to remove(); everything else reaches the sockets as
/// before. Detaches in the destructor. Not thread-safe: one owner.
class FastPath {
 public:
  /// Loads the program, attached nowhere yet; nullptr with `error` when
  /// the kernel or the privileges say no (the user-space path is then the
  /// only one).
  static std::unique_ptr<FastPath> load(std::string& error);
  /// Takes our filter off every interface of this network namespace: what
  /// a process that died left there would otherwise keep relaying its
  /// flows until they expire. How many were removed. One server with the
  /// fast path per network namespace.
  static std::size_t detachLeftovers();
  /// load(), then attachTo() each interface.
  static std::unique_ptr<FastPath> attach(const std::vector<std::uint32_t>& ifindexes,
                                          std::string& error);
  /// Attaches at TC ingress of the interface (replacing a filter a process
  /// that died left there); true when it is attached, now or before.
  bool attachTo(std::uint32_t ifindex, std::string& error);
  [[nodiscard]] bool attachedTo(std::uint32_t ifindex) const;
  ~FastPath();
  FastPath(const FastPath&) = delete;
  FastPath& operator=(const FastPath&) = delete;

  /// The flow's id, or nothing when the table is full, the endpoints mix
  /// IPv4 and IPv6, or the kernel refused the entry (the flow then stays
  /// in user space).
  std::optional<std::uint32_t> install(const ChannelFlow& flow);
  /// Stops the kernel path for the flow at once; its counters stay
  /// readable until the id is handed out again.
  void remove(std::uint32_t id);
  /// A new expiry for an installed flow (a refreshed channel or permission).
  bool extend(std::uint32_t id, std::uint64_t expires_ns);
  [[nodiscard]] FlowCounters counters(std::uint32_t id) const;
  /// Packets by verdict (tp_verdict), summed over CPUs.
  [[nodiscard]] std::vector<std::uint64_t> verdicts() const;
  [[nodiscard]] std::size_t flows() const;

 private:
  FastPath() = default;

  channel_data_bpf* skeleton_ = nullptr;
  std::vector<std::unique_ptr<TcIngressFilter>> filters_;
  struct Installed {
    bool v6 = false;  ///< which pair of maps holds the keys
    tp_client_key client{};
    tp_peer_key peer{};
    tp_client_key6 client6{};
    tp_peer_key6 peer6{};
    tp_rewrite to_peer{};
    tp_rewrite to_client{};
    bool used = false;
  };
  /// The map and key of each direction of an entry, for its family.
  struct MapKeys {
    int clients = -1;
    const void* client = nullptr;
    int peers = -1;
    const void* peer = nullptr;
  };
  [[nodiscard]] MapKeys mapKeys(const Installed& entry) const;
  std::vector<Installed> slots_;
  std::vector<std::uint32_t> free_;
};

}  // namespace turnpike::fastpath
