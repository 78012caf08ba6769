#include "relay/stun/message_view.h"

#include "relay/stun/byte_io.h"
#include "relay/stun/fingerprint.h"

namespace turnpike::stun {

std::string_view parseErrorName(ParseError error) {
  switch (error) {
    case ParseError::TooShort: return "too short";
    case ParseError::NotStun: return "not a STUN message";
    case ParseError::LengthNotMultipleOf4: return "length not a multiple of 4";
    case ParseError::LengthMismatch: return "length mismatch";
    case ParseError::BadMagicCookie: return "bad magic cookie";
    case ParseError::AttributeOverrun: return "attribute runs past the end";
    case ParseError::DuplicateIntegrity: return "duplicate MESSAGE-INTEGRITY";
    case ParseError::FingerprintNotLast: return "FINGERPRINT is not the last attribute";
    case ParseError::FingerprintMismatch: return "FINGERPRINT mismatch";
  }
  return "unknown";
}

std::optional<RawAttribute> MessageView::attributeAt(std::span<const std::uint8_t> bytes,
                                                     std::size_t offset) {
  if (offset + 4 > bytes.size()) {
    return std::nullopt;
  }
  const std::size_t length = readU16(&bytes[offset + 2]);
  if (offset + 4 + length > bytes.size()) {
    return std::nullopt;
  }
  return RawAttribute{readU16(&bytes[offset]), bytes.subspan(offset + 4, length), offset};
}

Result<MessageView, ParseError> MessageView::parse(std::span<const std::uint8_t> bytes) {
  return parse(bytes, Options{});
}

// RFC 8489 §5:
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |0 0|     STUN Message Type     |         Message Length        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                         Magic Cookie                          |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                     Transaction ID (96 bits)                  |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
Result<MessageView, ParseError> MessageView::parse(std::span<const std::uint8_t> bytes,
                                                   Options options) {
  if (bytes.size() < kHeaderSize) {
    return ParseError::TooShort;
  }
  // "The most significant 2 bits of every STUN message MUST be zeroes."
  if ((bytes[0] & 0xC0) != 0) {
    return ParseError::NotStun;
  }
  const std::size_t length = readU16(&bytes[2]);
  if (length % 4 != 0) {
    return ParseError::LengthNotMultipleOf4;
  }
  if (kHeaderSize + length != bytes.size()) {
    return ParseError::LengthMismatch;
  }
  MessageView view;
  view.bytes_ = bytes;
  view.cookie_ = readU32(&bytes[4]);
  if (view.cookie_ != kMagicCookie && !options.accept_rfc3489) {
    return ParseError::BadMagicCookie;
  }
  view.type_ = decodeMessageType(readU16(&bytes[0]));
  for (std::size_t i = 0; i < kTransactionIdSize; ++i) {
    view.transaction_id_[i] = bytes[8 + i];
  }

  bool seen_integrity = false;
  bool seen_integrity_sha256 = false;
  std::size_t offset = kHeaderSize;
  while (offset < bytes.size()) {
    if (offset + 4 > bytes.size()) {
      return ParseError::AttributeOverrun;
    }
    const std::uint16_t type = readU16(&bytes[offset]);
    const std::size_t value_length = readU16(&bytes[offset + 2]);
    if (offset + 4 + value_length > bytes.size()) {
      return ParseError::AttributeOverrun;
    }
    // The message length is a multiple of 4 and attributes start aligned, so
    // a value that fits always has room for its padding.
    const std::size_t next = offset + 4 + padTo4(value_length);
    if (type == static_cast<std::uint16_t>(AttributeType::MessageIntegrity)) {
      if (seen_integrity) {
        return ParseError::DuplicateIntegrity;
      }
      seen_integrity = true;
    } else if (type == static_cast<std::uint16_t>(AttributeType::MessageIntegritySha256)) {
      if (seen_integrity_sha256) {
        return ParseError::DuplicateIntegrity;
      }
      seen_integrity_sha256 = true;
    } else if (type == static_cast<std::uint16_t>(AttributeType::Fingerprint)) {
      // §14.7: "When present, the FINGERPRINT attribute MUST be the last
      // attribute in the message".
      if (next != bytes.size()) {
        return ParseError::FingerprintNotLast;
      }
      if (value_length != 4 || readU32(&bytes[offset + 4]) != fingerprintOf(bytes.first(offset))) {
        return ParseError::FingerprintMismatch;
      }
    }
    ++view.attribute_count_;
    offset = next;
  }
  return view;
}

std::optional<RawAttribute> MessageView::find(AttributeType type) const {
  std::optional<RawAttribute> found;
  forEachAttribute([&](const RawAttribute& attr) {
    if (attr.type == static_cast<std::uint16_t>(type)) {
      found = attr;
      return false;
    }
    return true;
  });
  return found;
}

}  // namespace turnpike::stun
