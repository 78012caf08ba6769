#include "relay/stun/channel_data.h"

#include "relay/stun/byte_io.h"

namespace turnpike::stun {

Result<ChannelDataView, ChannelDataError> parseChannelData(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kChannelDataHeaderSize) {
    return ChannelDataError::TooShort;
  }
  const std::uint16_t channel = readU16(bytes.data());
  if (channel < kMinChannel || channel > kMaxRfc5766Channel) {
    return ChannelDataError::InvalidChannel;
  }
  const std::size_t length = readU16(bytes.data() + 2);
  if (kChannelDataHeaderSize + length > bytes.size()) {
    return ChannelDataError::TooShort;
  }
  return ChannelDataView{channel, bytes.subspan(kChannelDataHeaderSize, length)};
}

void writeChannelDataHeader(std::uint8_t* out, std::uint16_t channel, std::uint16_t length) {
  writeU16(out, channel);
  writeU16(out + 2, length);
}

}  // namespace turnpike::stun
