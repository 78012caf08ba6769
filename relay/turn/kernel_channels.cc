// The kernel data path's share of the channels (KernelRelay): which UDP
// channels relay there, until when, and what they relayed. User space
// decides; the kernel only ever relays a channel this file installed.

#include <algorithm>

#include "relay/turn/turn_handlers.h"

namespace turnpike::turn {

namespace {

// A capped allocation stays in user space, where the token bucket is;
// RFC 6062 allocations and TCP/TLS clients have no ChannelData over UDP.
// Families are the KernelRelay's to judge (it refuses what it cannot
// relay, such as an IPv4 client with an IPv6 relayed address).
bool kernelMayRelay(const Allocation& a, const TurnCore& core) {
  return !a.tcp && a.five_tuple.transport == Transport::Udp &&
         core.settings.allocation_bandwidth == 0;
}

// Until when the kernel may relay the channel: while the binding, the
// peer's permission and the allocation all live. Nothing when one is over.
std::optional<Clock::TimePoint> kernelExpiry(const Allocation& a, const ChannelBinding& c,
                                             Clock::TimePoint now) {
  const auto permission = a.permissions.find(PeerIp::of(c.peer));
  if (permission == a.permissions.end()) {
    return std::nullopt;
  }
  const auto until = std::min({c.expires_at, permission->second, a.expires_at});
  return until > now ? std::optional(until) : std::nullopt;
}

void foldChannel(Allocation& a, ChannelBinding& c, TurnCore& core) {
  const TrafficCounters total = core.kernel->relayed(*c.kernel_flow);
  TrafficCounters fresh = total;
  fresh -= c.kernel_counted;
  c.kernel_counted = total;
  a.traffic += fresh;
  core.counters.relayed[static_cast<std::size_t>(a.five_tuple.transport)] += fresh;
  core.counters.kernel_relayed += fresh;
}

void dropChannel(Allocation& a, ChannelBinding& c, TurnCore& core) {
  core.kernel->remove(*c.kernel_flow);  // first: no packet counts after the fold
  foldChannel(a, c, core);
  c.kernel_flow.reset();
  c.kernel_counted = {};
  --core.kernel_flows;
}

}  // namespace

void syncKernelChannels(Allocation& allocation, TurnCore& core, Clock::TimePoint now) {
  if (core.kernel == nullptr) {
    return;
  }
  const bool may = kernelMayRelay(allocation, core);
  for (auto& c : allocation.channels) {
    const auto until = may ? kernelExpiry(allocation, c, now) : std::nullopt;
    if (!until) {
      if (c.kernel_flow) {
        dropChannel(allocation, c, core);
      }
    } else if (c.kernel_flow) {
      core.kernel->extend(*c.kernel_flow, *until);
    } else if (const auto id = core.kernel->install({.client = allocation.five_tuple.client,
                                                     .server = allocation.five_tuple.server,
                                                     .relayed = allocation.relay_bind,
                                                     .peer = c.peer,
                                                     .channel = c.channel,
                                                     .expires_at = *until})) {
      c.kernel_flow = id;
      c.kernel_counted = {};
      c.kernel_refused = false;
      ++core.kernel_flows;
      ++core.counters.kernel_flows_installed;
    } else if (!c.kernel_refused) {
      c.kernel_refused = true;
      ++core.counters.kernel_flows_refused;
    }
  }
}

void foldKernelTraffic(Allocation& allocation, TurnCore& core) {
  for (auto& c : allocation.channels) {
    if (c.kernel_flow) {
      foldChannel(allocation, c, core);
    }
  }
}

void sweepKernelChannels(Allocation& allocation, TurnCore& core, Clock::TimePoint now) {
  const bool any = std::any_of(allocation.channels.begin(), allocation.channels.end(),
                               [](const ChannelBinding& c) { return c.kernel_flow.has_value(); });
  if (any) {
    foldKernelTraffic(allocation, core);
    syncKernelChannels(allocation, core, now);
  }
}

void dropKernelChannels(Allocation& allocation, TurnCore& core) {
  for (auto& c : allocation.channels) {
    if (c.kernel_flow) {
      dropChannel(allocation, c, core);
    }
  }
}

}  // namespace turnpike::turn
