#include "relay/turn/allocation.h"

#include <algorithm>

namespace turnpike::turn {
namespace {

bool sameIp(const stun::TransportAddress& a, const stun::TransportAddress& b) {
  return a.family == b.family && std::equal(a.ip.begin(), a.ip.begin() + a.ipSize(), b.ip.begin());
}

}  // namespace

bool Allocation::hasPermission(const stun::TransportAddress& peer, Clock::TimePoint now) const {
  return std::any_of(permissions.begin(), permissions.end(), [&](const Permission& p) {
    return p.expires_at > now && sameIp(p.peer_ip, peer);
  });
}

void Allocation::installPermission(const stun::TransportAddress& peer, Clock::TimePoint now) {
  for (auto& p : permissions) {
    if (sameIp(p.peer_ip, peer)) {
      p.expires_at = now + kPermissionLifetime;
      return;
    }
  }
  stun::TransportAddress ip_only = peer;
  ip_only.port = 0;
  permissions.push_back(Permission{ip_only, now + kPermissionLifetime});
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
  channels.push_back(ChannelBinding{channel, peer, now + kChannelLifetime});
  return true;
}

void Allocation::prune(Clock::TimePoint now) {
  std::erase_if(permissions, [&](const Permission& p) { return p.expires_at <= now; });
  std::erase_if(channels,
                [&](const ChannelBinding& c) { return c.expires_at + kChannelQuarantine <= now; });
}

}  // namespace turnpike::turn
