#include "relay/stun/transport_address.h"

#include <arpa/inet.h>

#include <charconv>

namespace turnpike::stun {

TransportAddress TransportAddress::ipv4(std::array<std::uint8_t, 4> octets, std::uint16_t port) {
  TransportAddress a;
  a.family = AddressFamily::IPv4;
  for (std::size_t i = 0; i < 4; ++i) {
    a.ip[i] = octets[i];
  }
  a.port = port;
  return a;
}

std::optional<TransportAddress> TransportAddress::parse(std::string_view text) {
  std::string host;
  std::string_view port_text;
  TransportAddress a;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
    a.family = AddressFamily::IPv6;
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return std::nullopt;
    }
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  const int af = a.family == AddressFamily::IPv4 ? AF_INET : AF_INET6;
  if (inet_pton(af, host.c_str(), a.ip.data()) != 1) {
    return std::nullopt;
  }
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
    return std::nullopt;
  }
  a.port = static_cast<std::uint16_t>(port);
  return a;
}

std::string TransportAddress::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  const int af = family == AddressFamily::IPv4 ? AF_INET : AF_INET6;
  inet_ntop(af, ip.data(), buf, sizeof buf);
  if (family == AddressFamily::IPv6) {
    return "[" + std::string(buf) + "]:" + std::to_string(port);
  }
  return std::string(buf) + ":" + std::to_string(port);
}

}  // namespace turnpike::stun
