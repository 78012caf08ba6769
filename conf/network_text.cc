#include "conf/network_text.h"

#include <arpa/inet.h>

#include <charconv>

namespace turnpike::conf {

std::string Endpoint::toString() const {
  return ipv6 ? "[" + ip + "]:" + std::to_string(port) : ip + ":" + std::to_string(port);
}

bool isIpAddress(std::string_view text, bool* ipv6) {
  const std::string s(text);
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) {
    if (ipv6 != nullptr) {
      *ipv6 = false;
    }
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    if (ipv6 != nullptr) {
      *ipv6 = true;
    }
    return true;
  }
  return false;
}

std::string parseEndpoint(std::string_view text, Endpoint& out) {
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return "\"" + std::string(text) + "\" is not ip:port (IPv6 is written [::1]:3478)";
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos || text.find(':', colon + 1) != std::string_view::npos) {
      return "\"" + std::string(text) + "\" is not ip:port (IPv6 is written [::1]:3478)";
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  bool v6 = false;
  if (!isIpAddress(host, &v6) || v6 != (text.front() == '[')) {
    return "\"" + std::string(host) + "\" is not an IP address";
  }
  unsigned long port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec == std::errc::result_out_of_range) {
    return "port " + std::string(port_text) + " is out of range";
  }
  if (ec != std::errc{} || end != port_text.data() + port_text.size()) {
    return "\"" + std::string(port_text) + "\" is not a port number";
  }
  if (port > 65535) {
    return "port " + std::to_string(port) + " is out of range";
  }
  out = Endpoint{std::string(host), static_cast<std::uint16_t>(port), v6};
  return {};
}

std::string parseCidr(std::string_view text, Cidr& out) {
  const auto slash = text.find('/');
  const std::string_view host = text.substr(0, slash);
  bool v6 = false;
  if (!isIpAddress(host, &v6)) {
    return "\"" + std::string(text) + "\" is not a CIDR prefix (like 10.0.0.0/8)";
  }
  unsigned prefix = v6 ? 128 : 32;
  if (slash != std::string_view::npos) {
    const std::string_view len = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), prefix);
    if (ec != std::errc{} || end != len.data() + len.size() || prefix > (v6 ? 128U : 32U)) {
      return "prefix length \"" + std::string(len) + "\" is out of range";
    }
  }
  out = Cidr{std::string(host), prefix, v6};
  return {};
}

}  // namespace turnpike::conf
