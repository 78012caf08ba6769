#include "relay/fastpath/kernel_channel_relay.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cstring>

#include "relay/fastpath/route_lookup.h"

namespace turnpike::fastpath {
namespace {

// An IPv4 transport address as the maps hold it; nothing for IPv6.
std::optional<Endpoint> endpointOf(const stun::TransportAddress& a) {
  if (a.family != stun::AddressFamily::IPv4) {
    return std::nullopt;
  }
  Endpoint e;
  std::memcpy(&e.ip, a.ip.data(), 4);
  e.port = htons(a.port);
  return e;
}

bool isLoopback(std::uint32_t ip) { return (ntohl(ip) >> 24) == 127; }

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
  auto client = endpointOf(channel.client);
  auto server = endpointOf(channel.server);
  auto relayed = endpointOf(channel.relayed);
  const auto peer = endpointOf(channel.peer);
  if (!client || !server || !relayed || !peer || isLoopback(client->ip) || isLoopback(peer->ip)) {
    return std::nullopt;
  }
  const std::lock_guard lock(mutex_);
  // Both ways leave by the interface the route names; the same interface
  // is where the other side's packets come in (symmetric routing).
  const auto to_client = routes_.routeTo(client->ip);
  const auto to_peer = routes_.routeTo(peer->ip);
  if (!to_client || !to_peer || to_client->loopback_interface || to_peer->loopback_interface) {
    return std::nullopt;
  }
  // A wildcard listener or relay address: the source the kernel would pick.
  if (server->ip == 0) {
    server->ip = to_client->source;
  }
  if (relayed->ip == 0) {
    relayed->ip = to_peer->source;
  }
  const ChannelFlow flow{.client = *client,
                         .server = *server,
                         .relayed = *relayed,
                         .peer = *peer,
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
