#pragma once

#include <cstdint>
#include <string_view>

namespace turnpike::stun {

/// Attribute types this codec understands. 0x0000-0x7FFF are
/// comprehension-required, 0x8000-0xFFFF comprehension-optional (RFC 8489 §14).
enum class AttributeType : std::uint16_t {
  // RFC 8489 §18.3.1, comprehension-required
  MappedAddress = 0x0001,
  Username = 0x0006,
  MessageIntegrity = 0x0008,
  ErrorCode = 0x0009,
  UnknownAttributes = 0x000A,
  Realm = 0x0014,
  Nonce = 0x0015,
  MessageIntegritySha256 = 0x001C,
  PasswordAlgorithm = 0x001D,
  Userhash = 0x001E,
  XorMappedAddress = 0x0020,
  // RFC 8656 §18, comprehension-required
  ChannelNumber = 0x000C,
  Lifetime = 0x000D,
  XorPeerAddress = 0x0012,
  Data = 0x0013,
  XorRelayedAddress = 0x0016,
  RequestedAddressFamily = 0x0017,
  EvenPort = 0x0018,
  RequestedTransport = 0x0019,
  DontFragment = 0x001A,
  ReservationToken = 0x0022,
  // RFC 6062 §6.2
  ConnectionId = 0x002A,
  // RFC 3489 / RFC 5780: understood so old clients can be answered
  ChangeRequest = 0x0003,
  // RFC 8489 §18.3.2, comprehension-optional
  PasswordAlgorithms = 0x8002,
  AlternateDomain = 0x8003,
  Software = 0x8022,
  AlternateServer = 0x8023,
  Fingerprint = 0x8028,
  // RFC 8656 §18, comprehension-optional
  AdditionalAddressFamily = 0x8000,
  AddressErrorCode = 0x8001,
  Icmp = 0x8004,
};

constexpr bool isComprehensionRequired(std::uint16_t type) { return type < 0x8000; }

/// True for every type in AttributeType.
bool isKnownAttribute(std::uint16_t type);

std::string_view attributeName(std::uint16_t type);

}  // namespace turnpike::stun
