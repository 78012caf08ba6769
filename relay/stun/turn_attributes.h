#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "relay/base/result.h"
#include "relay/stun/attribute_error.h"
#include "relay/stun/transport_address.h"

namespace turnpike::stun {

// Fixed-size TURN attributes: RFC 8656 §18 and RFC 6062 §6.2. Each decoder
// checks the exact size the RFC gives; RFFU bits are ignored on receipt.

/// §18.1 CHANNEL-NUMBER: a 16-bit channel followed by 16 RFFU bits.
Result<std::uint16_t, AttributeError> decodeChannelNumber(std::span<const std::uint8_t> value);
std::array<std::uint8_t, 4> encodeChannelNumber(std::uint16_t channel);

/// §18.2 LIFETIME, §6.2 (RFC 6062) CONNECTION-ID: 32-bit unsigned values.
Result<std::uint32_t, AttributeError> decodeU32(std::span<const std::uint8_t> value);
std::array<std::uint8_t, 4> encodeU32(std::uint32_t v);

/// §18.7 REQUESTED-TRANSPORT: protocol number (17 = UDP, 6 = TCP) + 24 RFFU bits.
constexpr std::uint8_t kProtocolUdp = 17;
constexpr std::uint8_t kProtocolTcp = 6;
Result<std::uint8_t, AttributeError> decodeRequestedTransport(std::span<const std::uint8_t> value);
std::array<std::uint8_t, 4> encodeRequestedTransport(std::uint8_t protocol);

/// §18.6 EVEN-PORT: one byte, the R bit (reserve the next port) on top.
Result<bool, AttributeError> decodeEvenPort(std::span<const std::uint8_t> value);
std::array<std::uint8_t, 1> encodeEvenPort(bool reserve_next);

/// §18.8 REQUESTED-ADDRESS-FAMILY and §18.11 ADDITIONAL-ADDRESS-FAMILY:
/// family byte + 24 RFFU bits.
Result<AddressFamily, AttributeError> decodeAddressFamily(std::span<const std::uint8_t> value);
std::array<std::uint8_t, 4> encodeAddressFamily(AddressFamily family);

/// §18.9 DONT-FRAGMENT: no value.
Result<bool, AttributeError> decodeDontFragment(std::span<const std::uint8_t> value);

/// §18.10 RESERVATION-TOKEN: 8 bytes.
Result<std::uint64_t, AttributeError> decodeReservationToken(std::span<const std::uint8_t> value);
std::array<std::uint8_t, 8> encodeReservationToken(std::uint64_t token);

/// §18.12 ADDRESS-ERROR-CODE: family, reserved, class/number, reason.
struct AddressErrorCode {
  AddressFamily family = AddressFamily::IPv4;
  std::uint16_t code = 0;
  std::span<const std::uint8_t> reason;
};
Result<AddressErrorCode, AttributeError> decodeAddressErrorCode(
    std::span<const std::uint8_t> value);
/// Writes the 4-byte prefix; the reason phrase follows it.
std::array<std::uint8_t, 4> encodeAddressErrorCodePrefix(AddressFamily family, std::uint16_t code);

/// §18.13 ICMP: 16 reserved bits, ICMP type, ICMP code, 32 bits of error data.
struct Icmp {
  std::uint8_t type = 0;
  std::uint8_t code = 0;
  std::uint32_t error_data = 0;
  bool operator==(const Icmp&) const = default;
};
Result<Icmp, AttributeError> decodeIcmp(std::span<const std::uint8_t> value);
std::array<std::uint8_t, 8> encodeIcmp(const Icmp& icmp);

/// RFC 5780 §7.2 CHANGE-REQUEST: the "change IP" (0x4) and "change port" (0x2) flags.
struct ChangeRequest {
  bool change_ip = false;
  bool change_port = false;
};
Result<ChangeRequest, AttributeError> decodeChangeRequest(std::span<const std::uint8_t> value);

}  // namespace turnpike::stun
