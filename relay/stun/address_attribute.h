#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "relay/base/result.h"
#include "relay/stun/attribute_error.h"
#include "relay/stun/message_type.h"
#include "relay/stun/transport_address.h"

namespace turnpike::stun {

// RFC 8489 §14.1 (MAPPED-ADDRESS, also ALTERNATE-SERVER §14.15):
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |0 0 0 0 0 0 0 0|    Family     |           Port                |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                 Address (32 bits or 128 bits)                 |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// RFC 8489 §14.2 (XOR-MAPPED-ADDRESS, also XOR-PEER-ADDRESS and
// XOR-RELAYED-ADDRESS of RFC 8656 §18.3, §18.5): the same layout, with the
// port XOR'd with the cookie's top 16 bits and the address XOR'd with the
// cookie (IPv4) or the cookie followed by the transaction ID (IPv6).

constexpr std::size_t kMaxAddressValueSize = 20;
using AddressValue = std::array<std::uint8_t, kMaxAddressValueSize>;

Result<TransportAddress, AttributeError> decodeAddress(std::span<const std::uint8_t> value);
Result<TransportAddress, AttributeError> decodeXorAddress(std::span<const std::uint8_t> value,
                                                          const TransactionId& transaction_id);

/// Writes the value into `out` and returns its size (8 or 20).
std::size_t encodeAddress(const TransportAddress& address, AddressValue& out);
std::size_t encodeXorAddress(const TransportAddress& address, const TransactionId& transaction_id,
                             AddressValue& out);

}  // namespace turnpike::stun
