#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "relay/base/result.h"

namespace turnpike::stun {

/// Over TCP and TLS, STUN messages and ChannelData share one byte stream
/// (RFC 8656 §12.5). The first two bits tell them apart: 0b00 STUN, 0b01
/// ChannelData; each carries its own length.
enum class FrameKind : std::uint8_t { Stun, ChannelData };

enum class FrameError : std::uint8_t {
  NotStunOrChannelData,  ///< first bits are 0b10/0b11: the stream cannot be resynchronised
  BadStunLength,         ///< STUN length not a multiple of 4
  BufferFull,            ///< more unframed bytes than any valid frame needs
};

struct Frame {
  FrameKind kind = FrameKind::Stun;
  /// The message without stream padding: a whole STUN message, or ChannelData
  /// header + data.
  std::span<const std::uint8_t> bytes;
};

/// Where the frame at the start of `buffered` ends.
struct FrameBoundary {
  enum class Status : std::uint8_t { NeedMore, Complete, Invalid } status = Status::NeedMore;
  FrameKind kind = FrameKind::Stun;
  FrameError error = FrameError::NotStunOrChannelData;
  std::size_t message_size = 0;  ///< bytes of the message itself
  std::size_t frame_size = 0;    ///< bytes to consume, padding included
};

FrameBoundary findFrame(std::span<const std::uint8_t> buffered);

/// Largest frame a stream can carry: a STUN message of 20 + 65532 bytes.
constexpr std::size_t kMaxFrameSize = 20 + 65532;

/// Splits a byte stream into frames. Feed it what the socket read with
/// append(); call next() until it returns no frame. A frame's bytes stay valid
/// until the next append() or next(). After an error the stream is unusable
/// and the connection should be closed.
class StreamFramer {
 public:
  /// False when the bytes cannot be buffered (see FrameError::BufferFull).
  bool append(std::span<const std::uint8_t> bytes);
  Result<std::optional<Frame>, FrameError> next();
  [[nodiscard]] std::size_t buffered() const { return buffer_.size() - begin_; }
  /// The bytes appended but not yet returned as frames.
  [[nodiscard]] std::span<const std::uint8_t> remaining() const {
    return std::span(buffer_).subspan(begin_);
  }

 private:
  std::vector<std::uint8_t> buffer_;
  std::size_t begin_ = 0;
  std::optional<FrameError> failed_;
};

}  // namespace turnpike::stun
