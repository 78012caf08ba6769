#include "relay/stun/integrity.h"

#include <array>

#include "relay/stun/byte_io.h"
#include "relay/stun/crypto.h"

namespace turnpike::stun {
namespace {

// The header as it reads when `attr` (of `value_size` bytes) ends the message.
std::array<std::uint8_t, kHeaderSize> adjustedHeader(std::span<const std::uint8_t> bytes,
                                                     const RawAttribute& attr) {
  std::array<std::uint8_t, kHeaderSize> header{};
  for (std::size_t i = 0; i < kHeaderSize; ++i) {
    header[i] = bytes[i];
  }
  const auto length = attr.offset + 4 + attr.value.size() - kHeaderSize;
  writeU16(&header[2], static_cast<std::uint16_t>(length));
  return header;
}

}  // namespace

IntegrityCheck verifyMessageIntegrity(const MessageView& message,
                                      std::span<const std::uint8_t> key) {
  const auto attr = message.find(AttributeType::MessageIntegrity);
  if (!attr) {
    return IntegrityCheck::Missing;
  }
  if (attr->value.size() != 20) {
    return IntegrityCheck::Malformed;
  }
  const auto bytes = message.bytes();
  const auto header = adjustedHeader(bytes, *attr);
  const auto mac =
      crypto::hmacSha1(key, {header, bytes.subspan(kHeaderSize, attr->offset - kHeaderSize)});
  return crypto::constantTimeEqual(mac, attr->value) ? IntegrityCheck::Ok
                                                     : IntegrityCheck::Mismatch;
}

IntegrityCheck verifyMessageIntegritySha256(const MessageView& message,
                                            std::span<const std::uint8_t> key) {
  const auto attr = message.find(AttributeType::MessageIntegritySha256);
  if (!attr) {
    return IntegrityCheck::Missing;
  }
  // §14.6: "The value will be at least 16 bytes ... MUST be a multiple of 4".
  const std::size_t size = attr->value.size();
  if (size < 16 || size > 32 || size % 4 != 0) {
    return IntegrityCheck::Malformed;
  }
  const auto bytes = message.bytes();
  const auto header = adjustedHeader(bytes, *attr);
  const auto mac =
      crypto::hmacSha256(key, {header, bytes.subspan(kHeaderSize, attr->offset - kHeaderSize)});
  return crypto::constantTimeEqual(std::span(mac).first(size), attr->value)
             ? IntegrityCheck::Ok
             : IntegrityCheck::Mismatch;
}

}  // namespace turnpike::stun
