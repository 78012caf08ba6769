#include "relay/net/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace turnpike::net {

stun::TransportAddress fromSockaddr(const sockaddr_storage& ss) {
  stun::TransportAddress a;
  if (ss.ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    // A v4 client on a dual-stack socket shows up as ::ffff:a.b.c.d; report
    // the IPv4 address it really has.
    if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
      a.family = stun::AddressFamily::IPv4;
      std::memcpy(a.ip.data(), &sin6->sin6_addr.s6_addr[12], 4);
    } else {
      a.family = stun::AddressFamily::IPv6;
      std::memcpy(a.ip.data(), &sin6->sin6_addr, 16);
    }
    a.port = ntohs(sin6->sin6_port);
    return a;
  }
  const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
  a.family = stun::AddressFamily::IPv4;
  std::memcpy(a.ip.data(), &sin->sin_addr, 4);
  a.port = ntohs(sin->sin_port);
  return a;
}

socklen_t toSockaddr(const stun::TransportAddress& address, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (address.family == stun::AddressFamily::IPv6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, address.ip.data(), 16);
    sin6->sin6_port = htons(address.port);
    return sizeof(sockaddr_in6);
  }
  auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
  sin->sin_family = AF_INET;
  std::memcpy(&sin->sin_addr, address.ip.data(), 4);
  sin->sin_port = htons(address.port);
  return sizeof(sockaddr_in);
}

std::optional<stun::TransportAddress> fromEndpoint(const conf::Endpoint& endpoint) {
  return stun::TransportAddress::parse(endpoint.toString());
}

}  // namespace turnpike::net
