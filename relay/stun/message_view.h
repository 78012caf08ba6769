#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "relay/base/result.h"
#include "relay/stun/attribute_type.h"
#include "relay/stun/message_type.h"

namespace turnpike::stun {

enum class ParseError : std::uint8_t {
  TooShort,              ///< fewer than 20 bytes
  NotStun,               ///< the two most significant bits are not zero
  LengthNotMultipleOf4,  ///< RFC 8489 §5: the length is a multiple of 4
  LengthMismatch,        ///< header length does not match the bytes given
  BadMagicCookie,
  AttributeOverrun,    ///< an attribute's length runs past the message end
  DuplicateIntegrity,  ///< MESSAGE-INTEGRITY(-SHA256) given twice
  FingerprintNotLast,
  FingerprintMismatch,
};

std::string_view parseErrorName(ParseError error);

/// One attribute as it sits in the message: its type and a view of its value.
struct RawAttribute {
  std::uint16_t type = 0;
  std::span<const std::uint8_t> value;
  std::size_t offset = 0;  ///< where the attribute header starts in the message
};

/// A parsed STUN message: a bounds-checked view over the caller's bytes, which
/// must outlive it. Parsing checks the structure (header, attribute framing,
/// FINGERPRINT); attribute values are decoded on demand by the typed decoders.
class MessageView {
 public:
  struct Options {
    /// RFC 8489 §12: accept messages without the magic cookie (RFC 3489
    /// clients). Only Binding makes sense for them.
    bool accept_rfc3489 = false;
  };

  static Result<MessageView, ParseError> parse(std::span<const std::uint8_t> bytes);
  static Result<MessageView, ParseError> parse(std::span<const std::uint8_t> bytes,
                                               Options options);

  [[nodiscard]] MessageType type() const { return type_; }
  [[nodiscard]] Method method() const { return type_.method; }
  [[nodiscard]] MessageClass messageClass() const { return type_.cls; }
  [[nodiscard]] const TransactionId& transactionId() const { return transaction_id_; }
  [[nodiscard]] std::uint32_t magicCookie() const { return cookie_; }
  /// True when the request came from an RFC 3489 client (no magic cookie).
  [[nodiscard]] bool isRfc3489() const { return cookie_ != kMagicCookie; }
  [[nodiscard]] std::span<const std::uint8_t> bytes() const { return bytes_; }

  /// The first attribute of `type` that the receiver must honour. RFC 8489
  /// §14.5: "agents MUST ignore all other attributes that follow
  /// MESSAGE-INTEGRITY", except MESSAGE-INTEGRITY-SHA256 and FINGERPRINT;
  /// §14.6: after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT.
  [[nodiscard]] std::optional<RawAttribute> find(AttributeType type) const;
  [[nodiscard]] bool has(AttributeType type) const { return find(type).has_value(); }

  /// Calls `f(const RawAttribute&)` for each attribute the receiver must
  /// honour, in order. Stops early when f returns false.
  template <typename F>
  void forEachAttribute(F&& f) const;

  [[nodiscard]] std::size_t attributeCount() const { return attribute_count_; }

 private:
  MessageView() = default;
  static std::optional<RawAttribute> attributeAt(std::span<const std::uint8_t> bytes,
                                                 std::size_t offset);

  std::span<const std::uint8_t> bytes_;
  MessageType type_{};
  TransactionId transaction_id_{};
  std::uint32_t cookie_ = 0;
  std::size_t attribute_count_ = 0;
};

template <typename F>
void MessageView::forEachAttribute(F&& f) const {
  bool after_integrity = false;
  bool after_integrity_sha256 = false;
  std::size_t offset = kHeaderSize;
  while (auto attr = attributeAt(bytes_, offset)) {
    const auto t = static_cast<AttributeType>(attr->type);
    const bool visible = (!after_integrity && !after_integrity_sha256) ||
                         t == AttributeType::Fingerprint ||
                         (t == AttributeType::MessageIntegritySha256 && !after_integrity_sha256);
    if (visible && !f(*attr)) {
      return;
    }
    after_integrity = after_integrity || t == AttributeType::MessageIntegrity;
    after_integrity_sha256 = after_integrity_sha256 || t == AttributeType::MessageIntegritySha256;
    offset += 4 + ((attr->value.size() + 3) & ~std::size_t{3});
  }
}

}  // namespace turnpike::stun
