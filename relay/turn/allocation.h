#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "relay/base/clock.h"
#include "relay/stun/long_term_key.h"
#include "relay/stun/message_type.h"
#include "relay/stun/transport_address.h"
#include "relay/turn/five_tuple.h"
#include "relay/turn/peer_connections.h"
#include "relay/turn/peer_ip.h"
#include "relay/turn/relay_network.h"
#include "relay/turn/server_counters.h"
#include "relay/turn/token_bucket.h"

namespace turnpike::turn {

/// RFC 8656 §9: "Permissions ... 300 seconds".
constexpr auto kPermissionLifetime = std::chrono::seconds{300};
/// RFC 8656 §12: "a channel binding lasts for 10 minutes".
constexpr auto kChannelLifetime = std::chrono::seconds{600};
/// RFC 8656 §12: after a binding expires, the channel and the peer stay
/// unavailable for rebinding to anything else for 5 more minutes.
constexpr auto kChannelQuarantine = std::chrono::seconds{300};

/// Permissions: peer IP -> expiry time, checked on use (no timer per
/// permission). A hash map, so the per-packet check is O(1) whatever the
/// count; the count is capped (TurnSettings::permissions_per_allocation).
using PermissionMap = std::unordered_map<PeerIp, Clock::TimePoint, PeerIpHash>;

struct ChannelBinding {
  std::uint16_t channel = 0;
  stun::TransportAddress peer;
  Clock::TimePoint expires_at;
  /// Set while the kernel relays it (KernelRelay); what of the kernel's
  /// counts is already in the allocation's traffic.
  std::optional<std::uint32_t> kernel_flow;
  TrafficCounters kernel_counted;
  /// The kernel path said no the last time it was asked: asked again on
  /// each sync (the reason may pass), counted once until it says yes.
  bool kernel_refused = false;
};

/// A relayed transport address and the socket behind it.
struct RelayedAddress {
  stun::TransportAddress bind;     ///< where the relay socket is bound
  stun::TransportAddress relayed;  ///< what XOR-RELAYED-ADDRESS advertises
  RelaySocketId socket = 0;
};

/// A peer TCP connection of a TCP allocation (RFC 6062).
struct TcpPeer {
  std::uint32_t id = 0;  ///< CONNECTION-ID
  stun::TransportAddress peer;
  /// Set while our Connect to the peer is in flight: what the deferred
  /// response needs.
  bool connecting = false;
  stun::TransactionId connect_transaction{};
  bool connect_sha256 = false;
  bool connect_fingerprint = false;
  /// The key the Connect request was checked with: its answer is signed
  /// with the same (the allocation's may differ after a credential change).
  std::vector<std::uint8_t> connect_key;
  /// What its data connection carried, and how much of it is already in
  /// the allocation's traffic counters.
  std::shared_ptr<PipeTraffic> traffic;
  TrafficCounters counted;
};

/// One allocation: owned by the worker whose socket received its Allocate.
struct Allocation {
  /// Unique in the process: what usage records and the admin API name it by.
  std::uint64_t id = 0;
  FiveTuple five_tuple;
  stun::TransportAddress relay_bind;  ///< where the relay socket is bound
  stun::TransportAddress relayed;     ///< what XOR-RELAYED-ADDRESS advertises
  RelaySocketId socket = 0;
  bool dont_fragment = false;  ///< DONT-FRAGMENT was asked: the relay socket sets DF

  // The credential that created it: later requests must use the same (441).
  std::string username;
  std::string user_id;
  std::string realm;
  std::vector<std::uint8_t> key;
  std::optional<std::chrono::seconds> credential_expires_at;
  std::string call_id;  ///< the call its credential serves; empty for others

  stun::TransactionId allocate_transaction{};      ///< for retransmitted Allocates
  std::optional<std::uint64_t> reservation_token;  ///< given out with this allocation
  /// RFC 8656 §7.2 dual allocation: the IPv6 address asked for with
  /// ADDITIONAL-ADDRESS-FAMILY, next to the IPv4 one above.
  std::optional<RelayedAddress> additional;
  /// Why the additional IPv6 address could not be given (ADDRESS-ERROR-CODE); 0 = not refused.
  std::uint16_t additional_error = 0;
  /// RFC 6062: the relayed address is a listening TCP socket; peers are
  /// reached with Connect and arrive as ConnectionAttempt.
  bool tcp = false;
  std::vector<TcpPeer> tcp_peers;
  stun::PasswordAlgorithmId algorithm = stun::PasswordAlgorithmId::Md5;
  Clock::TimePoint created_at;
  Clock::TimePoint expires_at;
  /// When the next interim usage record is due (TurnSettings::usage_interval).
  Clock::TimePoint usage_due;
  PermissionMap permissions;
  std::vector<ChannelBinding> channels;
  TrafficCounters traffic;
  TokenBucket bandwidth;
  /// The same limit for RFC 6062 data connections (TCP allocations only).
  std::shared_ptr<SharedTokenBucket> pipe_bandwidth;

  /// Whether a relayed address of this family exists (RFC 8656 §9.1: 443 otherwise).
  [[nodiscard]] bool servesFamily(stun::AddressFamily family) const {
    return relayed.family == family || (additional && additional->relayed.family == family);
  }
  /// The relay socket that sends to peers of `family`.
  [[nodiscard]] RelaySocketId socketFor(stun::AddressFamily family) const {
    return additional && additional->relayed.family == family ? additional->socket : socket;
  }

  [[nodiscard]] bool hasPermission(const stun::TransportAddress& peer, Clock::TimePoint now) const;
  /// Installs or refreshes a permission for the peer's IP.
  void installPermission(const stun::TransportAddress& peer, Clock::TimePoint now);
  /// Permissions in force now.
  [[nodiscard]] std::size_t livePermissions(Clock::TimePoint now) const;
  /// How many of `peers` would be new permissions (not in force now).
  [[nodiscard]] std::size_t newPermissions(std::span<const stun::TransportAddress> peers,
                                           Clock::TimePoint now) const;
  /// The live binding for a channel number or for a peer, if any.
  [[nodiscard]] const ChannelBinding* channelByNumber(std::uint16_t channel,
                                                      Clock::TimePoint now) const;
  [[nodiscard]] const ChannelBinding* channelByPeer(const stun::TransportAddress& peer,
                                                    Clock::TimePoint now) const;
  /// RFC 8656 §11.2: bind or refresh; false when the channel is bound (or in
  /// quarantine) to another peer, or the peer to another channel.
  bool bindChannel(std::uint16_t channel, const stun::TransportAddress& peer, Clock::TimePoint now);
  /// Drops permissions and bindings that can no longer matter.
  void prune(Clock::TimePoint now);
  /// Adds what its RFC 6062 data connections carried since the last call to
  /// `traffic` (they may run on other workers).
  void foldPeerTraffic();
};

}  // namespace turnpike::turn
