#include "benchmarks/loadgen/media_packet.h"

namespace turnpike::loadgen {
namespace {

void put32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

std::uint32_t get32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}

std::uint8_t patternByte(std::uint16_t seq, std::size_t i) {
  return static_cast<std::uint8_t>((seq * 31 + i) & 0xFF);
}

}  // namespace

bool writeMedia(std::span<std::uint8_t> out, std::size_t size, const MediaHeader& h) {
  if (size < kMinMediaSize || out.size() < size) {
    return false;
  }
  out[0] = 0x80;  // V=2
  out[1] = 111;   // dynamic payload type (Opus in WebRTC)
  out[2] = static_cast<std::uint8_t>(h.seq >> 8);
  out[3] = static_cast<std::uint8_t>(h.seq);
  put32(&out[4], static_cast<std::uint32_t>(h.sent_ns / 1000));  // RTP timestamp: µs, unused
  put32(&out[8], h.ssrc);
  put32(&out[12], static_cast<std::uint32_t>(h.sent_ns >> 32));
  put32(&out[16], static_cast<std::uint32_t>(h.sent_ns));
  for (std::size_t i = kMinMediaSize; i < size; ++i) {
    out[i] = patternByte(h.seq, i);
  }
  return true;
}

std::optional<MediaHeader> readMedia(std::span<const std::uint8_t> p) {
  if (p.size() < kMinMediaSize || (p[0] & 0xC0) != 0x80) {
    return std::nullopt;
  }
  MediaHeader h;
  h.seq = static_cast<std::uint16_t>((p[2] << 8) | p[3]);
  h.ssrc = get32(&p[8]);
  h.sent_ns = (std::uint64_t{get32(&p[12])} << 32) | get32(&p[16]);
  for (std::size_t i = kMinMediaSize; i < p.size(); ++i) {
    if (p[i] != patternByte(h.seq, i)) {
      return std::nullopt;
    }
  }
  return h;
}

}  // namespace turnpike::loadgen
