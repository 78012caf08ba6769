#include "relay/fastpath/kernel_channel_relay.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cstring>

#include "relay/fastpath/route_lookup.h"

namespace turnpike::fastpath {
namespace {

// A transport address as the maps hold it.
Endpoint endpointOf(const stun::TransportAddress& a) {
  if (a.family == stun::AddressFamily::IPv4) {
    std::uint32_t ip = 0;
    std::memcpy(&ip, a.ip.data(), 4);
    return Endpoint::v4(ip, htons(a.port));
  }
  return Endpoint::v6(a.ip.data(), htons(a.port));
}

// Where the kernel path cannot help: loopback (127/8, ::1) never crosses a
// TC hook we attach, and a link-local IPv6 address needs its interface to
// be routed, which the route question here does not carry.
bool stayInUserSpace(const Endpoint& e) {
  if (e.isV4()) {
    return (ntohl(e.v4Address()) >> 24) == 127;
  }
  const bool loopback = e.ip[0] == 0 && e.ip[1] == 0 && e.ip[2] == 0 && e.ip[3] == htonl(1);
  const bool link_local = (ntohl(e.ip[0]) & 0xffc00000U) == 0xfe800000U;
  return loopback || link_local;
}

std::uint64_t monotonicNanoseconds(Clock::TimePoint t) {
  // Clock::TimePoint counts from steady_clock's epoch: CLOCK_MONOTONIC,
  // which is what bpf_ktime_get_ns() reads.
  const auto ns = t.time_since_epoch().count();
  return ns > 0 ? static_cast<std::uint64_t>(ns) : 0;
}

}  // namespace

std::unique_ptr<KernelChannelRelay> KernelChannelRelay::create(std::string& error) {
  auto path = FastPath::load(error);
  if (!path) {
    return nullptr;
  }
  if (const std::size_t stale = FastPath::detachLeftovers(); stale > 0) {
    spdlog::warn("fast path: removed {} filter(s) an earlier process left attached", stale);
  }
  return std::unique_ptr<KernelChannelRelay>(new KernelChannelRelay(std::move(path)));
}

std::optional<std::uint32_t> KernelChannelRelay::install(const turn::KernelChannel& channel) {
  const Endpoint client = endpointOf(channel.client);
  Endpoint server = endpointOf(channel.server);
  Endpoint relayed = endpointOf(channel.relayed);
  const Endpoint peer = endpointOf(channel.peer);
  // One family throughout: the program does not translate (RFC 6156).
  // (A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d, which is
  // the mapped form: they are IPv4 flows.)
  if (client.isV4() != peer.isV4() || stayInUserSpace(client) || stayInUserSpace(peer)) {
    return std::nullopt;
  }
  const std::lock_guard lock(mutex_);
  // Both ways leave by the interface the route names; the same interface
  // is where the other side's packets come in (symmetric routing).
  const auto to_client = routes_.routeTo(client.ip);
  const auto to_peer = routes_.routeTo(peer.ip);
  if (!to_client || !to_peer || to_client->loopback_interface || to_peer->loopback_interface) {
    return std::nullopt;
  }
  // A wildcard listener or relay address: the source the kernel would pick.
  if (server.isWildcard()) {
    server.ip = to_client->source;
  }
  if (relayed.isWildcard()) {
    relayed.ip = to_peer->source;
  }
  if (server.isWildcard() || relayed.isWildcard() || server.isV4() != client.isV4() ||
      relayed.isV4() != peer.isV4()) {
    return std::nullopt;  // the kernel named no source, or one of another family
  }
  const ChannelFlow flow{.client = client,
                         .server = server,
                         .relayed = relayed,
                         .peer = peer,
                         .channel = channel.channel,
                         .client_ifindex = to_client->ifindex,
                         .peer_ifindex = to_peer->ifindex,
                         .expires_ns = monotonicNanoseconds(channel.expires_at)};
  for (const std::uint32_t ifindex : {flow.client_ifindex, flow.peer_ifindex}) {
    if (path_->attachedTo(ifindex)) {
      continue;
    }
    std::string error;
    if (!path_->attachTo(ifindex, error)) {
      spdlog::warn("fast path: {}; channels there stay in user space", error);
      return std::nullopt;
    }
    ++interfaces_;
    std::array<char, IF_NAMESIZE> name{};
    spdlog::info("fast path: attached at TC ingress of {}",
                 if_indextoname(ifindex, name.data()) != nullptr ? name.data() : "?");
  }
  return path_->install(flow);
}

void KernelChannelRelay::extend(std::uint32_t id, Clock::TimePoint expires_at) {
  const std::lock_guard lock(mutex_);
  path_->extend(id, monotonicNanoseconds(expires_at));
}

void KernelChannelRelay::remove(std::uint32_t id) {
  const std::lock_guard lock(mutex_);
  path_->remove(id);
}

turn::TrafficCounters KernelChannelRelay::relayed(std::uint32_t id) const {
  FlowCounters c;
  {
    const std::lock_guard lock(mutex_);
    c = path_->counters(id);
  }
  return {.bytes_to_peer = c.to_peer_bytes,
          .packets_to_peer = c.to_peer_packets,
          .bytes_from_peer = c.to_client_bytes,
          .packets_from_peer = c.to_client_packets};
}

std::vector<std::uint64_t> KernelChannelRelay::verdicts() const {
  const std::lock_guard lock(mutex_);
  return path_->verdicts();
}

std::size_t KernelChannelRelay::flows() const {
  const std::lock_guard lock(mutex_);
  return path_->flows();
}

std::size_t KernelChannelRelay::interfaces() const {
  const std::lock_guard lock(mutex_);
  return interfaces_;
}

}  // namespace turnpike::fastpath
