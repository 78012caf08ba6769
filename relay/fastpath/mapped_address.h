#pragma once

#include <arpa/inet.h>

#include <array>
#include <cstdint>

namespace turnpike::fastpath {

/// An address as the fast path keeps it: four network-order words, IPv6 or
/// IPv4-mapped (::ffff:a.b.c.d, RFC 4291 section 2.5.5.2).
using Address = std::array<std::uint32_t, 4>;

/// ::ffff:a.b.c.d for a network-order IPv4 address.
inline Address v4Mapped(std::uint32_t address) { return {0, 0, htonl(0xffff), address}; }

/// Whether `address` is IPv4 in mapped form; its IPv4 address is word 3.
inline bool isV4Mapped(const Address& address) {
  return address[0] == 0 && address[1] == 0 && address[2] == htonl(0xffff);
}

}  // namespace turnpike::fastpath
