#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace turnpike::loadgen {

/// An RTP packet (RFC 3550 §5.1) carrying what the receiver needs to account
/// for it: the sender's id and send time, then a pattern derived from the
/// sequence number, so a packet that survives SRTP but not the relay intact
/// would still be caught.
struct MediaHeader {
  std::uint32_t ssrc = 0;
  std::uint16_t seq = 0;
  std::uint64_t sent_ns = 0;
};

constexpr std::size_t kRtpHeaderSize = 12;
constexpr std::size_t kMinMediaSize = kRtpHeaderSize + 8;

/// Writes a plain RTP packet of `size` bytes; returns false if it cannot fit.
bool writeMedia(std::span<std::uint8_t> out, std::size_t size, const MediaHeader& header);
/// Reads and checks a decrypted packet; nullopt when the payload pattern is wrong.
std::optional<MediaHeader> readMedia(std::span<const std::uint8_t> packet);

}  // namespace turnpike::loadgen
