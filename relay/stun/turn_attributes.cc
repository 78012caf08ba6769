#include "relay/stun/turn_attributes.h"

#include "relay/stun/byte_io.h"
#include "relay/stun/error_code_attribute.h"

namespace turnpike::stun {

Result<std::uint16_t, AttributeError> decodeChannelNumber(std::span<const std::uint8_t> value) {
  if (value.size() != 4) {
    return AttributeError::WrongSize;
  }
  return readU16(value.data());
}

std::array<std::uint8_t, 4> encodeChannelNumber(std::uint16_t channel) {
  std::array<std::uint8_t, 4> out{};
  writeU16(out.data(), channel);
  return out;
}

Result<std::uint32_t, AttributeError> decodeU32(std::span<const std::uint8_t> value) {
  if (value.size() != 4) {
    return AttributeError::WrongSize;
  }
  return readU32(value.data());
}

std::array<std::uint8_t, 4> encodeU32(std::uint32_t v) {
  std::array<std::uint8_t, 4> out{};
  writeU32(out.data(), v);
  return out;
}

Result<std::uint8_t, AttributeError> decodeRequestedTransport(std::span<const std::uint8_t> value) {
  if (value.size() != 4) {
    return AttributeError::WrongSize;
  }
  return value[0];
}

std::array<std::uint8_t, 4> encodeRequestedTransport(std::uint8_t protocol) {
  return {protocol, 0, 0, 0};
}

Result<bool, AttributeError> decodeEvenPort(std::span<const std::uint8_t> value) {
  if (value.size() != 1) {
    return AttributeError::WrongSize;
  }
  return (value[0] & 0x80) != 0;
}

std::array<std::uint8_t, 1> encodeEvenPort(bool reserve_next) {
  return {static_cast<std::uint8_t>(reserve_next ? 0x80 : 0x00)};
}

Result<AddressFamily, AttributeError> decodeAddressFamily(std::span<const std::uint8_t> value) {
  if (value.size() != 4) {
    return AttributeError::WrongSize;
  }
  if (value[0] != 0x01 && value[0] != 0x02) {
    return AttributeError::BadFamily;
  }
  return static_cast<AddressFamily>(value[0]);
}

std::array<std::uint8_t, 4> encodeAddressFamily(AddressFamily family) {
  return {static_cast<std::uint8_t>(family), 0, 0, 0};
}

Result<bool, AttributeError> decodeDontFragment(std::span<const std::uint8_t> value) {
  if (!value.empty()) {
    return AttributeError::WrongSize;
  }
  return true;
}

Result<std::uint64_t, AttributeError> decodeReservationToken(std::span<const std::uint8_t> value) {
  if (value.size() != 8) {
    return AttributeError::WrongSize;
  }
  return (std::uint64_t{readU32(value.data())} << 32) | readU32(value.data() + 4);
}

std::array<std::uint8_t, 8> encodeReservationToken(std::uint64_t token) {
  std::array<std::uint8_t, 8> out{};
  writeU32(out.data(), static_cast<std::uint32_t>(token >> 32));
  writeU32(out.data() + 4, static_cast<std::uint32_t>(token));
  return out;
}

Result<AddressErrorCode, AttributeError> decodeAddressErrorCode(
    std::span<const std::uint8_t> value) {
  if (value.size() < 4) {
    return AttributeError::WrongSize;
  }
  if (value.size() - 4 > kMaxReasonBytes) {
    return AttributeError::TooLong;
  }
  if (value[0] != 0x01 && value[0] != 0x02) {
    return AttributeError::BadFamily;
  }
  const unsigned cls = value[2] & 0x07;
  const unsigned number = value[3];
  if (cls < 3 || cls > 6 || number > 99) {
    return AttributeError::BadValue;
  }
  return AddressErrorCode{static_cast<AddressFamily>(value[0]),
                          static_cast<std::uint16_t>(cls * 100 + number), value.subspan(4)};
}

std::array<std::uint8_t, 4> encodeAddressErrorCodePrefix(AddressFamily family, std::uint16_t code) {
  return {static_cast<std::uint8_t>(family), 0, static_cast<std::uint8_t>(code / 100),
          static_cast<std::uint8_t>(code % 100)};
}

Result<Icmp, AttributeError> decodeIcmp(std::span<const std::uint8_t> value) {
  if (value.size() != 8) {
    return AttributeError::WrongSize;
  }
  return Icmp{value[2], value[3], readU32(value.data() + 4)};
}

std::array<std::uint8_t, 8> encodeIcmp(const Icmp& icmp) {
  std::array<std::uint8_t, 8> out{};
  out[2] = icmp.type;
  out[3] = icmp.code;
  writeU32(out.data() + 4, icmp.error_data);
  return out;
}

Result<ChangeRequest, AttributeError> decodeChangeRequest(std::span<const std::uint8_t> value) {
  if (value.size() != 4) {
    return AttributeError::WrongSize;
  }
  const std::uint32_t flags = readU32(value.data());
  return ChangeRequest{(flags & 0x4) != 0, (flags & 0x2) != 0};
}

}  // namespace turnpike::stun
