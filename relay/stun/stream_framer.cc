#include "relay/stun/stream_framer.h"

#include "relay/stun/byte_io.h"
#include "relay/stun/channel_data.h"
#include "relay/stun/message_type.h"

namespace turnpike::stun {
namespace {

FrameBoundary invalid(FrameError error) {
  FrameBoundary b;
  b.status = FrameBoundary::Status::Invalid;
  b.error = error;
  return b;
}

}  // namespace

FrameBoundary findFrame(std::span<const std::uint8_t> buffered) {
  FrameBoundary b;
  if (buffered.empty()) {
    return b;
  }
  const std::uint8_t top = buffered[0] & 0xC0;
  if (top != 0x00 && top != 0x40) {
    return invalid(FrameError::NotStunOrChannelData);
  }
  if (buffered.size() < 4) {
    return b;
  }
  const std::size_t length = readU16(&buffered[2]);
  if (top == 0x00) {
    if (length % 4 != 0) {
      return invalid(FrameError::BadStunLength);
    }
    b.kind = FrameKind::Stun;
    b.message_size = kHeaderSize + length;
    b.frame_size = b.message_size;
  } else {
    // §12.5: "Over TCP and TLS-over-TCP, the ChannelData message MUST be
    // padded to a multiple of four bytes".
    b.kind = FrameKind::ChannelData;
    b.message_size = kChannelDataHeaderSize + length;
    b.frame_size = padTo4(b.message_size);
  }
  if (buffered.size() >= b.frame_size) {
    b.status = FrameBoundary::Status::Complete;
  }
  return b;
}

bool StreamFramer::append(std::span<const std::uint8_t> bytes) {
  if (failed_) {
    return false;
  }
  if (buffered() + bytes.size() > 2 * kMaxFrameSize) {
    failed_ = FrameError::BufferFull;
    return false;
  }
  if (begin_ > 0) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(begin_));
    begin_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  return true;
}

Result<std::optional<Frame>, FrameError> StreamFramer::next() {
  if (failed_) {
    return *failed_;
  }
  const std::span<const std::uint8_t> view(buffer_.data() + begin_, buffered());
  const FrameBoundary b = findFrame(view);
  switch (b.status) {
    case FrameBoundary::Status::NeedMore: return std::optional<Frame>{};
    case FrameBoundary::Status::Invalid: failed_ = b.error; return b.error;
    case FrameBoundary::Status::Complete: break;
  }
  begin_ += b.frame_size;
  return std::optional<Frame>{Frame{b.kind, view.first(b.message_size)}};
}

}  // namespace turnpike::stun
