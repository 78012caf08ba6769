#include "relay/turn/allocation.h"

#include <algorithm>

namespace turnpike::turn {
bool Allocation::hasPermission(const stun::TransportAddress& peer, Clock::TimePoint now) const {
  const auto it = permissions.find(PeerIp::of(peer));
  return it != permissions.end() && it->second > now;
}

void Allocation::installPermission(const stun::TransportAddress& peer, Clock::TimePoint now) {
  permissions[PeerIp::of(peer)] = now + kPermissionLifetime;
}

std::size_t Allocation::livePermissions(Clock::TimePoint now) const {
  return static_cast<std::size_t>(std::count_if(permissions.begin(), permissions.end(),
                                                [&](const auto& p) { return p.second > now; }));
}

std::size_t Allocation::newPermissions(std::span<const stun::TransportAddress> peers,
                                       Clock::TimePoint now) const {
  std::size_t fresh = 0;
  for (std::size_t i = 0; i < peers.size(); ++i) {
    const PeerIp ip = PeerIp::of(peers[i]);
    const bool repeated =
        std::any_of(peers.begin(), peers.begin() + static_cast<long>(i),
                    [&](const auto& earlier) { return PeerIp::of(earlier) == ip; });
    fresh += !repeated && !hasPermission(peers[i], now) ? 1 : 0;
  }
  return fresh;
}

const ChannelBinding* Allocation::channelByNumber(std::uint16_t channel,
                                                  Clock::TimePoint now) const {
  for (const auto& c : channels) {
    if (c.channel == channel && c.expires_at > now) {
      return &c;
    }
  }
  return nullptr;
}

const ChannelBinding* Allocation::channelByPeer(const stun::TransportAddress& peer,
                                                Clock::TimePoint now) const {
  for (const auto& c : channels) {
    if (c.peer == peer && c.expires_at > now) {
      return &c;
    }
  }
  return nullptr;
}

bool Allocation::bindChannel(std::uint16_t channel, const stun::TransportAddress& peer,
                             Clock::TimePoint now) {
  for (auto& c : channels) {
    const bool held = c.expires_at + kChannelQuarantine > now;
    if (!held) {
      continue;
    }
    const bool same_channel = c.channel == channel;
    const bool same_peer = c.peer == peer;
    if (same_channel && same_peer) {
      c.expires_at = now + kChannelLifetime;  // a refresh
      return true;
    }
    if (same_channel || same_peer) {
      return false;
    }
  }
  ChannelBinding binding;
  binding.channel = channel;
  binding.peer = peer;
  binding.expires_at = now + kChannelLifetime;
  channels.push_back(binding);
  return true;
}

void Allocation::foldPeerTraffic() {
  for (auto& p : tcp_peers) {
    if (!p.traffic) {
      continue;
    }
    const TrafficCounters now = p.traffic->totals();
    traffic += now;
    traffic -= p.counted;
    p.counted = now;
  }
}

void Allocation::prune(Clock::TimePoint now) {
  std::erase_if(permissions, [&](const auto& p) { return p.second <= now; });
  // A channel the kernel still relays goes with syncKernelChannels first.
  std::erase_if(channels, [&](const ChannelBinding& c) {
    return !c.kernel_flow && c.expires_at + kChannelQuarantine <= now;
  });
}

}  // namespace turnpike::turn
