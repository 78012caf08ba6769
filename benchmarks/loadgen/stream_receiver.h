#pragma once

#include <cstdint>
#include <optional>

#include "benchmarks/loadgen/latency_histogram.h"

namespace turnpike::loadgen {

/// What arrived of one media stream (one SSRC), counted exactly: every packet
/// is either received once, a duplicate, corrupted, or lost.
struct StreamCounts {
  std::uint64_t received = 0;    ///< distinct packets that decrypted and verified
  std::uint64_t duplicates = 0;  ///< a sequence number seen before
  std::uint64_t reordered = 0;   ///< arrived after a later sequence number
  std::uint64_t corrupted = 0;   ///< failed SRTP authentication or payload check
  std::uint64_t expected = 0;    ///< highest - first + 1
  [[nodiscard]] std::uint64_t lost() const { return expected > received ? expected - received : 0; }
  StreamCounts& operator+=(const StreamCounts& o);
};

/// Accounting for one stream on the receiving side. RTP's 16-bit sequence
/// numbers are extended to 64 bits (RFC 3550 A.1 style) so long runs count
/// exactly; a window of recent numbers tells duplicates from late arrivals.
class StreamReceiver {
 public:
  /// A packet that decrypted, with its 16-bit sequence number.
  void onPacket(std::uint16_t seq);
  void onCorrupted() { ++counts_.corrupted; }
  [[nodiscard]] StreamCounts counts() const;

  /// Extends a 16-bit sequence number against the highest seen so far.
  static std::uint64_t extend(std::uint16_t seq, std::uint64_t highest);

 private:
  static constexpr std::uint64_t kWindow = 1024;
  std::optional<std::uint64_t> first_;
  std::uint64_t highest_ = 0;
  std::uint64_t seen_bits_[kWindow / 64] = {};  // bit (ext % kWindow) set when seen
  StreamCounts counts_;
};

}  // namespace turnpike::loadgen
