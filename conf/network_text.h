#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace turnpike::conf {

/// A listen or bind address as written in the config: "0.0.0.0:3478" or "[::]:3478".
struct Endpoint {
  std::string ip;  ///< textual IP, without brackets
  std::uint16_t port = 0;
  bool ipv6 = false;

  [[nodiscard]] std::string toString() const;
  bool operator==(const Endpoint&) const = default;
};

/// An IP prefix such as "10.0.0.0/8" or "fc00::/7".
struct Cidr {
  std::string ip;
  unsigned prefix_length = 0;
  bool ipv6 = false;
  bool operator==(const Cidr&) const = default;
};

/// Each parser returns an empty string on success, else what is wrong, in
/// words fit for a config error.
std::string parseEndpoint(std::string_view text, Endpoint& out);
std::string parseCidr(std::string_view text, Cidr& out);
/// True for a literal IPv4 or IPv6 address (no port).
bool isIpAddress(std::string_view text, bool* ipv6 = nullptr);

}  // namespace turnpike::conf
