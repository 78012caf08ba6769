#include "relay/stun/error_code_attribute.h"

namespace turnpike::stun {

std::string_view defaultReason(std::uint16_t code) {
  using namespace error_codes;
  switch (code) {
    case kTryAlternate: return "Try Alternate";
    case kBadRequest: return "Bad Request";
    case kUnauthenticated: return "Unauthenticated";
    case kForbidden: return "Forbidden";
    case kMobilityForbidden: return "Mobility Forbidden";
    case kUnknownAttribute: return "Unknown Attribute";
    case kAllocationMismatch: return "Allocation Mismatch";
    case kStaleNonce: return "Stale Nonce";
    case kAddressFamilyNotSupported: return "Address Family not Supported";
    case kWrongCredentials: return "Wrong Credentials";
    case kUnsupportedTransportProtocol: return "Unsupported Transport Protocol";
    case kPeerAddressFamilyMismatch: return "Peer Address Family Mismatch";
    case kConnectionAlreadyExists: return "Connection Already Exists";
    case kConnectionTimeoutOrFailure: return "Connection Timeout or Failure";
    case kAllocationQuotaReached: return "Allocation Quota Reached";
    case kRoleConflict: return "Role Conflict";
    case kServerError: return "Server Error";
    case kInsufficientCapacity: return "Insufficient Capacity";
    default: return "Error";
  }
}

Result<ErrorCode, AttributeError> decodeErrorCode(std::span<const std::uint8_t> value) {
  if (value.size() < 4) {
    return AttributeError::WrongSize;
  }
  if (value.size() - 4 > kMaxReasonBytes) {
    return AttributeError::TooLong;
  }
  const unsigned cls = value[2] & 0x07;
  const unsigned number = value[3];
  // "The Class represents the hundreds digit of the error code. The value
  // MUST be between 3 and 6. The Number ... MUST be between 0 and 99."
  if (cls < 3 || cls > 6 || number > 99) {
    return AttributeError::BadValue;
  }
  const auto reason = value.subspan(4);
  return ErrorCode{static_cast<std::uint16_t>(cls * 100 + number),
                   std::string_view(reinterpret_cast<const char*>(reason.data()), reason.size())};
}

void encodeErrorCodePrefix(std::uint16_t code, std::uint8_t out[4]) {
  out[0] = 0;
  out[1] = 0;
  out[2] = static_cast<std::uint8_t>(code / 100);
  out[3] = static_cast<std::uint8_t>(code % 100);
}

}  // namespace turnpike::stun
