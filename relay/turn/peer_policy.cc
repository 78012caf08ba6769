#include "relay/turn/peer_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <string>

namespace turnpike::turn {

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
  const auto slash = text.find('/');
  const std::string host(text.substr(0, slash));
  IpPrefix p;
  if (inet_pton(AF_INET, host.c_str(), p.ip.data()) == 1) {
    p.family = stun::AddressFamily::IPv4;
    p.length = 32;
  } else if (inet_pton(AF_INET6, host.c_str(), p.ip.data()) == 1) {
    p.family = stun::AddressFamily::IPv6;
    p.length = 128;
  } else {
    return std::nullopt;
  }
  if (slash != std::string_view::npos) {
    const auto len = text.substr(slash + 1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), value);
    if (ec != std::errc{} || end != len.data() + len.size() || value > p.length) {
      return std::nullopt;
    }
    p.length = value;
  }
  return p;
}

bool IpPrefix::contains(const stun::TransportAddress& address) const {
  if (address.family != family) {
    return false;
  }
  const unsigned full_bytes = length / 8;
  if (!std::equal(ip.begin(), ip.begin() + full_bytes, address.ip.begin())) {
    return false;
  }
  const unsigned rest = length % 8;
  if (rest == 0) {
    return true;
  }
  const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (ip[full_bytes] & mask) == (address.ip[full_bytes] & mask);
}

const std::vector<IpPrefix>& PeerPolicy::builtinDenied() {
  static const std::vector<IpPrefix> kDenied = [] {
    std::vector<IpPrefix> v;
    for (const char* text : {
             "0.0.0.0/8",        // unspecified, "this network"
             "10.0.0.0/8",       // RFC 1918
             "100.64.0.0/10",    // CGNAT (RFC 6598)
             "127.0.0.0/8",      // loopback
             "169.254.0.0/16",   // link-local, cloud metadata 169.254.169.254
             "172.16.0.0/12",    // RFC 1918
             "192.0.0.0/24",     // IETF protocol assignments
             "192.0.2.0/24",     // documentation
             "192.88.99.0/24",   // 6to4 relay anycast
             "192.168.0.0/16",   // RFC 1918
             "198.18.0.0/15",    // benchmarking
             "198.51.100.0/24",  // documentation
             "203.0.113.0/24",   // documentation
             "224.0.0.0/4",      // multicast
             "240.0.0.0/4",      // reserved, 255.255.255.255 broadcast
             "::/128",           // unspecified
             "::1/128",          // loopback
             "::/96",            // IPv4-compatible
             "::ffff:0:0/96",    // IPv4-mapped
             "64:ff9b::/96",     // NAT64
             "64:ff9b:1::/48",   // local-use NAT64
             "100::/64",         // discard-only
             "2001::/32",        // Teredo
             "2001:db8::/32",    // documentation
             "2002::/16",        // 6to4
             "3fff::/20",        // documentation
             "fc00::/7",         // unique local
             "fe80::/10",        // link-local
             "ff00::/8",         // multicast
         }) {
      v.push_back(*IpPrefix::parse(text));
    }
    return v;
  }();
  return kDenied;
}

PeerPolicy::PeerPolicy(bool allow_loopback, std::vector<IpPrefix> allow, std::vector<IpPrefix> deny,
                       std::vector<IpPrefix> own)
    : allow_loopback_(allow_loopback),
      allow_(std::move(allow)),
      deny_(std::move(deny)),
      own_(std::move(own)) {
  if (allow_loopback_) {
    allow_.push_back(*IpPrefix::parse("127.0.0.0/8"));
    allow_.push_back(*IpPrefix::parse("::1/128"));
  }
}

bool PeerPolicy::permits(const stun::TransportAddress& peer) const {
  const auto in = [&](const std::vector<IpPrefix>& list) {
    return std::any_of(list.begin(), list.end(),
                       [&](const IpPrefix& p) { return p.contains(peer); });
  };
  if (in(deny_)) {
    return false;
  }
  if (in(allow_)) {
    return true;
  }
  return !in(own_) && !in(builtinDenied());
}

}  // namespace turnpike::turn
