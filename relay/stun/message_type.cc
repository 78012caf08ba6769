#include "relay/stun/message_type.h"

namespace turnpike::stun {

std::uint16_t encodeMessageType(MessageType type) {
  const auto m = static_cast<std::uint16_t>(type.method);
  const auto c = static_cast<std::uint16_t>(type.cls);
  return static_cast<std::uint16_t>((m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) |
                                    ((c & 0x1) << 4) | ((c & 0x2) << 7));
}

MessageType decodeMessageType(std::uint16_t field) {
  const auto m = static_cast<std::uint16_t>((field & 0x000F) | ((field >> 1) & 0x0070) |
                                            ((field >> 2) & 0x0F80));
  const auto c = static_cast<std::uint8_t>(((field >> 4) & 0x1) | ((field >> 7) & 0x2));
  return {static_cast<Method>(m), static_cast<MessageClass>(c)};
}

std::string_view methodName(Method method) {
  switch (method) {
    case Method::Binding: return "Binding";
    case Method::Allocate: return "Allocate";
    case Method::Refresh: return "Refresh";
    case Method::Send: return "Send";
    case Method::Data: return "Data";
    case Method::CreatePermission: return "CreatePermission";
    case Method::ChannelBind: return "ChannelBind";
    case Method::Connect: return "Connect";
    case Method::ConnectionBind: return "ConnectionBind";
    case Method::ConnectionAttempt: return "ConnectionAttempt";
  }
  return "unknown";
}

std::string_view className(MessageClass cls) {
  switch (cls) {
    case MessageClass::Request: return "request";
    case MessageClass::Indication: return "indication";
    case MessageClass::SuccessResponse: return "success response";
    case MessageClass::ErrorResponse: return "error response";
  }
  return "unknown";
}

}  // namespace turnpike::stun
