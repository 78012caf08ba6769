#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "relay/base/result.h"
#include "relay/stun/attribute_error.h"

namespace turnpike::stun {

// RFC 8489 §14.8:
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           Reserved, should be 0         |Class|     Number    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |      Reason Phrase (variable)                                ..
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct ErrorCode {
  std::uint16_t code = 0;  ///< 300..699
  std::string_view reason;
};

/// Error codes of RFC 8489 §14.8, RFC 8656 §19 and RFC 6062 §6.3.
namespace error_codes {
constexpr std::uint16_t kTryAlternate = 300;
constexpr std::uint16_t kBadRequest = 400;
constexpr std::uint16_t kUnauthenticated = 401;
constexpr std::uint16_t kForbidden = 403;
constexpr std::uint16_t kMobilityForbidden = 405;
constexpr std::uint16_t kUnknownAttribute = 420;
constexpr std::uint16_t kAllocationMismatch = 437;
constexpr std::uint16_t kStaleNonce = 438;
constexpr std::uint16_t kAddressFamilyNotSupported = 440;
constexpr std::uint16_t kWrongCredentials = 441;
constexpr std::uint16_t kUnsupportedTransportProtocol = 442;
constexpr std::uint16_t kPeerAddressFamilyMismatch = 443;
constexpr std::uint16_t kConnectionAlreadyExists = 446;
constexpr std::uint16_t kConnectionTimeoutOrFailure = 447;
constexpr std::uint16_t kAllocationQuotaReached = 486;
constexpr std::uint16_t kRoleConflict = 487;
constexpr std::uint16_t kServerError = 500;
constexpr std::uint16_t kInsufficientCapacity = 508;
}  // namespace error_codes

/// The reason phrase the RFCs suggest for `code`.
std::string_view defaultReason(std::uint16_t code);

/// RFC 8489 §14.8: the reason phrase is "less than 128 characters (which can
/// be as long as 509 bytes when encoding them...)".
constexpr std::size_t kMaxReasonBytes = 509;

Result<ErrorCode, AttributeError> decodeErrorCode(std::span<const std::uint8_t> value);
/// Writes the 4-byte class/number prefix; the reason follows it in the value.
void encodeErrorCodePrefix(std::uint16_t code, std::uint8_t out[4]);

}  // namespace turnpike::stun
