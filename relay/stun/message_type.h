#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace turnpike::stun {

/// RFC 8489 §6: "The magic cookie field MUST contain the fixed value 0x2112A442".
constexpr std::uint32_t kMagicCookie = 0x2112A442;
constexpr std::size_t kHeaderSize = 20;
constexpr std::size_t kTransactionIdSize = 12;

using TransactionId = std::array<std::uint8_t, kTransactionIdSize>;

enum class MessageClass : std::uint8_t {
  Request = 0,
  Indication = 1,
  SuccessResponse = 2,
  ErrorResponse = 3,
};

/// Methods of RFC 8489 (Binding), RFC 8656 (TURN) and RFC 6062 (TCP relays).
enum class Method : std::uint16_t {
  Binding = 0x001,
  Allocate = 0x003,
  Refresh = 0x004,
  Send = 0x006,
  Data = 0x007,
  CreatePermission = 0x008,
  ChannelBind = 0x009,
  Connect = 0x00A,
  ConnectionBind = 0x00B,
  ConnectionAttempt = 0x00C,
};

struct MessageType {
  Method method;
  MessageClass cls;
  bool operator==(const MessageType&) const = default;
};

// RFC 8489 §5, the message type field:
//    0                 1
//    2  3  4 5 6 7 8 9 0 1 2 3 4 5
//   +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
//   |M |M |M|M|M|C|M|M|M|C|M|M|M|M|
//   |11|10|9|8|7|1|6|5|4|0|3|2|1|0|
//   +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
std::uint16_t encodeMessageType(MessageType type);
MessageType decodeMessageType(std::uint16_t field);

std::string_view methodName(Method method);
std::string_view className(MessageClass cls);

}  // namespace turnpike::stun
