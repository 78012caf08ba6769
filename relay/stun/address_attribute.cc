#include "relay/stun/address_attribute.h"

#include "relay/stun/byte_io.h"

namespace turnpike::stun {
namespace {

// The XOR pad: the magic cookie followed by the transaction ID.
std::array<std::uint8_t, 16> xorPad(const TransactionId& transaction_id) {
  std::array<std::uint8_t, 16> pad{};
  writeU32(pad.data(), kMagicCookie);
  for (std::size_t i = 0; i < kTransactionIdSize; ++i) {
    pad[4 + i] = transaction_id[i];
  }
  return pad;
}

void applyXor(TransportAddress& address, const TransactionId& transaction_id) {
  const auto pad = xorPad(transaction_id);
  address.port = static_cast<std::uint16_t>(address.port ^ (kMagicCookie >> 16));
  for (std::size_t i = 0; i < address.ipSize(); ++i) {
    address.ip[i] ^= pad[i];
  }
}

}  // namespace

Result<TransportAddress, AttributeError> decodeAddress(std::span<const std::uint8_t> value) {
  if (value.size() < 4) {
    return AttributeError::WrongSize;
  }
  TransportAddress address;
  if (value[1] == static_cast<std::uint8_t>(AddressFamily::IPv4)) {
    address.family = AddressFamily::IPv4;
  } else if (value[1] == static_cast<std::uint8_t>(AddressFamily::IPv6)) {
    address.family = AddressFamily::IPv6;
  } else {
    return AttributeError::BadFamily;
  }
  if (value.size() != 4 + address.ipSize()) {
    return AttributeError::WrongSize;
  }
  address.port = readU16(&value[2]);
  for (std::size_t i = 0; i < address.ipSize(); ++i) {
    address.ip[i] = value[4 + i];
  }
  return address;
}

Result<TransportAddress, AttributeError> decodeXorAddress(std::span<const std::uint8_t> value,
                                                          const TransactionId& transaction_id) {
  auto decoded = decodeAddress(value);
  if (!decoded) {
    return decoded.error();
  }
  TransportAddress address = decoded.value();
  applyXor(address, transaction_id);
  return address;
}

std::size_t encodeAddress(const TransportAddress& address, AddressValue& out) {
  out[0] = 0;
  out[1] = static_cast<std::uint8_t>(address.family);
  writeU16(&out[2], address.port);
  for (std::size_t i = 0; i < address.ipSize(); ++i) {
    out[4 + i] = address.ip[i];
  }
  return 4 + address.ipSize();
}

std::size_t encodeXorAddress(const TransportAddress& address, const TransactionId& transaction_id,
                             AddressValue& out) {
  TransportAddress xored = address;
  applyXor(xored, transaction_id);
  return encodeAddress(xored, out);
}

}  // namespace turnpike::stun
