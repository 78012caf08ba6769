#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace turnpike::stun {

/// Address family values as STUN encodes them (RFC 8489 §14.1).
enum class AddressFamily : std::uint8_t { IPv4 = 0x01, IPv6 = 0x02 };

/// An IP address and port: what STUN calls a transport address. Plain data,
/// independent of the socket API.
struct TransportAddress {
  AddressFamily family = AddressFamily::IPv4;
  std::array<std::uint8_t, 16> ip{};  ///< IPv4 uses the first 4 bytes.
  std::uint16_t port = 0;

  static TransportAddress ipv4(std::array<std::uint8_t, 4> octets, std::uint16_t port);
  /// Parses "192.0.2.1:3478" or "[2001:db8::1]:3478".
  static std::optional<TransportAddress> parse(std::string_view text);

  [[nodiscard]] std::size_t ipSize() const { return family == AddressFamily::IPv4 ? 4 : 16; }
  [[nodiscard]] std::string toString() const;
  bool operator==(const TransportAddress&) const = default;
};

}  // namespace turnpike::stun
