#include "relay/stun/message_builder.h"

#include <algorithm>
#include <cstring>

#include "relay/stun/address_attribute.h"
#include "relay/stun/byte_io.h"
#include "relay/stun/crypto.h"
#include "relay/stun/error_code_attribute.h"
#include "relay/stun/fingerprint.h"

namespace turnpike::stun {

MessageBuilder::MessageBuilder(std::span<std::uint8_t> buffer, MessageType type,
                               const TransactionId& transaction_id, std::uint32_t cookie,
                               std::uint8_t padding_byte)
    : buffer_(buffer), padding_byte_(padding_byte) {
  if (buffer_.size() < kHeaderSize) {
    overflowed_ = true;
    return;
  }
  writeU16(&buffer_[0], encodeMessageType(type));
  writeU16(&buffer_[2], 0);
  writeU32(&buffer_[4], cookie);
  std::copy(transaction_id.begin(), transaction_id.end(), buffer_.begin() + 8);
  size_ = kHeaderSize;
}

std::uint8_t* MessageBuilder::reserve(std::uint16_t type, std::size_t length) {
  const std::size_t padded = padTo4(length);
  if (overflowed_ || length > 0xFFFF || size_ + 4 + padded > buffer_.size() ||
      size_ + 4 + padded - kHeaderSize > 0xFFFF) {
    overflowed_ = true;
    return nullptr;
  }
  std::uint8_t* p = &buffer_[size_];
  writeU16(p, type);
  writeU16(p + 2, static_cast<std::uint16_t>(length));
  std::memset(p + 4 + length, padding_byte_, padded - length);
  size_ += 4 + padded;
  writeU16(&buffer_[2], static_cast<std::uint16_t>(size_ - kHeaderSize));
  return p + 4;
}

bool MessageBuilder::addRaw(std::uint16_t type, std::span<const std::uint8_t> value) {
  std::uint8_t* out = reserve(type, value.size());
  if (out == nullptr) {
    return false;
  }
  if (!value.empty()) {
    std::memcpy(out, value.data(), value.size());
  }
  return true;
}

bool MessageBuilder::add(AttributeType type, std::span<const std::uint8_t> value) {
  return addRaw(static_cast<std::uint16_t>(type), value);
}

bool MessageBuilder::addText(AttributeType type, std::string_view text) {
  return add(type, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

bool MessageBuilder::addU32(AttributeType type, std::uint32_t value) {
  std::uint8_t out[4];
  writeU32(out, value);
  return add(type, out);
}

bool MessageBuilder::addAddress(AttributeType type, const TransportAddress& address) {
  AddressValue value{};
  const std::size_t n = encodeAddress(address, value);
  return add(type, std::span(value).first(n));
}

bool MessageBuilder::addXorAddress(AttributeType type, const TransportAddress& address) {
  if (size_ < kHeaderSize) {
    overflowed_ = true;
    return false;
  }
  TransactionId tid{};
  std::copy(buffer_.begin() + 8, buffer_.begin() + 20, tid.begin());
  AddressValue value{};
  const std::size_t n = encodeXorAddress(address, tid, value);
  return add(type, std::span(value).first(n));
}

bool MessageBuilder::addErrorCode(std::uint16_t code, std::string_view reason) {
  reason = reason.substr(0, kMaxReasonBytes);
  std::uint8_t* out =
      reserve(static_cast<std::uint16_t>(AttributeType::ErrorCode), 4 + reason.size());
  if (out == nullptr) {
    return false;
  }
  encodeErrorCodePrefix(code, out);
  std::memcpy(out + 4, reason.data(), reason.size());
  return true;
}

bool MessageBuilder::addUnknownAttributes(std::span<const std::uint16_t> types) {
  std::uint8_t* out =
      reserve(static_cast<std::uint16_t>(AttributeType::UnknownAttributes), types.size() * 2);
  if (out == nullptr) {
    return false;
  }
  for (std::size_t i = 0; i < types.size(); ++i) {
    writeU16(out + 2 * i, types[i]);
  }
  return true;
}

bool MessageBuilder::addMessageIntegrity(std::span<const std::uint8_t> key) {
  const std::size_t covered = size_;
  std::uint8_t* out = reserve(static_cast<std::uint16_t>(AttributeType::MessageIntegrity), 20);
  if (out == nullptr) {
    return false;
  }
  // The header length already counts this attribute, as §14.5 requires.
  const auto mac = crypto::hmacSha1(key, {buffer_.first(covered)});
  std::memcpy(out, mac.data(), mac.size());
  return true;
}

bool MessageBuilder::addMessageIntegritySha256(std::span<const std::uint8_t> key) {
  const std::size_t covered = size_;
  std::uint8_t* out =
      reserve(static_cast<std::uint16_t>(AttributeType::MessageIntegritySha256), 32);
  if (out == nullptr) {
    return false;
  }
  const auto mac = crypto::hmacSha256(key, {buffer_.first(covered)});
  std::memcpy(out, mac.data(), mac.size());
  return true;
}

bool MessageBuilder::addFingerprint() {
  const std::size_t covered = size_;
  std::uint8_t* out = reserve(static_cast<std::uint16_t>(AttributeType::Fingerprint), 4);
  if (out == nullptr) {
    return false;
  }
  writeU32(out, fingerprintOf(buffer_.first(covered)));
  return true;
}

}  // namespace turnpike::stun
