#include "benchmarks/loadgen/stream_receiver.h"

namespace turnpike::loadgen {

StreamCounts& StreamCounts::operator+=(const StreamCounts& o) {
  received += o.received;
  duplicates += o.duplicates;
  reordered += o.reordered;
  corrupted += o.corrupted;
  expected += o.expected;
  return *this;
}

std::uint64_t StreamReceiver::extend(std::uint16_t seq, std::uint64_t highest) {
  // The candidate closest to `highest` among the values with these low 16 bits.
  const std::uint64_t base = highest & ~std::uint64_t{0xFFFF};
  std::uint64_t candidate = base | seq;
  if (candidate + 0x8000 < highest) {
    candidate += 0x10000;
  } else if (candidate > highest + 0x8000 && candidate >= 0x10000) {
    candidate -= 0x10000;
  }
  return candidate;
}

void StreamReceiver::onPacket(std::uint16_t seq) {
  if (!first_) {
    first_ = seq;
    highest_ = seq;
    seen_bits_[(seq % kWindow) / 64] |= std::uint64_t{1} << (seq % 64);
    ++counts_.received;
    return;
  }
  const std::uint64_t ext = extend(seq, highest_);
  if (ext + kWindow <= highest_ || ext < *first_) {
    ++counts_.reordered;  // too old to tell: count it late, not received
    return;
  }
  const bool late = ext < highest_;
  if (ext > highest_) {
    // Clear the window slots the stream moves past.
    for (std::uint64_t s = highest_ + 1; s <= ext && s <= highest_ + kWindow; ++s) {
      seen_bits_[(s % kWindow) / 64] &= ~(std::uint64_t{1} << (s % 64));
    }
    highest_ = ext;
  }
  auto& word = seen_bits_[(ext % kWindow) / 64];
  const std::uint64_t bit = std::uint64_t{1} << (ext % 64);
  if ((word & bit) != 0) {
    ++counts_.duplicates;
    return;
  }
  word |= bit;
  ++counts_.received;
  if (late) {
    ++counts_.reordered;
  }
}

StreamCounts StreamReceiver::counts() const {
  StreamCounts c = counts_;
  c.expected = first_ ? highest_ - *first_ + 1 : 0;
  return c;
}

}  // namespace turnpike::loadgen
