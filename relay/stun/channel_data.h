#pragma once

#include <cstdint>
#include <span>

#include "relay/base/result.h"

namespace turnpike::stun {

// RFC 8656 §12.4:
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |         Channel Number        |            Length             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   /                       Application Data                        /
//   +-------------------------------+-------------------------------+

constexpr std::size_t kChannelDataHeaderSize = 4;
/// RFC 8656 §12: "0x4000 through 0x4FFF: These values are the allowed channel numbers".
constexpr std::uint16_t kMinChannel = 0x4000;
constexpr std::uint16_t kMaxChannel = 0x4FFF;

constexpr bool isValidChannel(std::uint16_t channel) {
  return channel >= kMinChannel && channel <= kMaxChannel;
}

/// The first two bits of ChannelData are 0b01 (RFC 8656 §12, and RFC 7983's
/// demultiplexing: 64..79 on the first byte).
constexpr bool looksLikeChannelData(std::uint8_t first_byte) { return (first_byte & 0xC0) == 0x40; }

/// RFC 5766 allowed 0x4000 through 0x7FFF; older clients (coturn's own
/// turnutils_uclient among them) still pick from that range.
constexpr std::uint16_t kMaxRfc5766Channel = 0x7FFF;

enum class ChannelDataError : std::uint8_t {
  TooShort,        ///< fewer than 4 bytes, or fewer than the length claims
  InvalidChannel,  ///< not 0x4000..0x7FFF: not ChannelData at all
};

struct ChannelDataView {
  std::uint16_t channel = 0;
  std::span<const std::uint8_t> data;
};

/// Parses ChannelData in a datagram: any number 0x4000..0x7FFF frames (which
/// numbers may be bound is ChannelBind's business). Trailing bytes past the length (padding)
/// are allowed; a datagram shorter than the length claims is discarded
/// (§12.5: "the message is silently discarded").
Result<ChannelDataView, ChannelDataError> parseChannelData(std::span<const std::uint8_t> bytes);

/// Writes the 4-byte header in front of data that is already in place.
void writeChannelDataHeader(std::uint8_t* out, std::uint16_t channel, std::uint16_t length);

}  // namespace turnpike::stun
