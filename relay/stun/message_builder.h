#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "relay/stun/attribute_type.h"
#include "relay/stun/message_type.h"
#include "relay/stun/transport_address.h"

namespace turnpike::stun {

/// Encodes a STUN message into a caller's buffer. Each add*() appends one
/// attribute and keeps the header length current, so integrity and
/// fingerprint can be computed at any point. When the buffer is too small the
/// builder stops writing and overflowed() turns true; bytes() is then empty.
class MessageBuilder {
 public:
  /// `padding_byte` fills attribute padding. RFC 8489 §14 says padding is
  /// zero on sending; RFC 5769's vectors use spaces, so tests can ask for them.
  MessageBuilder(std::span<std::uint8_t> buffer, MessageType type,
                 const TransactionId& transaction_id, std::uint32_t cookie = kMagicCookie,
                 std::uint8_t padding_byte = 0);

  bool add(AttributeType type, std::span<const std::uint8_t> value);
  bool addRaw(std::uint16_t type, std::span<const std::uint8_t> value);
  bool addText(AttributeType type, std::string_view text);
  bool addU32(AttributeType type, std::uint32_t value);
  bool addAddress(AttributeType type, const TransportAddress& address);
  bool addXorAddress(AttributeType type, const TransportAddress& address);
  bool addErrorCode(std::uint16_t code, std::string_view reason);
  bool addUnknownAttributes(std::span<const std::uint16_t> types);
  /// MESSAGE-INTEGRITY (HMAC-SHA1) over everything added so far.
  bool addMessageIntegrity(std::span<const std::uint8_t> key);
  /// MESSAGE-INTEGRITY-SHA256 (full 32 bytes) over everything added so far.
  bool addMessageIntegritySha256(std::span<const std::uint8_t> key);
  /// FINGERPRINT; must be the last attribute added.
  bool addFingerprint();

  [[nodiscard]] bool overflowed() const { return overflowed_; }
  [[nodiscard]] std::size_t size() const { return overflowed_ ? 0 : size_; }
  [[nodiscard]] std::span<const std::uint8_t> bytes() const {
    return buffer_.first(overflowed_ ? 0 : size_);
  }

 private:
  // Reserves an attribute of `length` value bytes; returns where the value goes.
  std::uint8_t* reserve(std::uint16_t type, std::size_t length);

  std::span<std::uint8_t> buffer_;
  std::size_t size_ = 0;
  std::uint8_t padding_byte_ = 0;
  bool overflowed_ = false;
};

}  // namespace turnpike::stun
