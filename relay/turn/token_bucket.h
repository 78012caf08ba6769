#pragma once

#include <algorithm>
#include <cstdint>

#include "relay/base/clock.h"

namespace turnpike::turn {

/// Bytes (or requests) per second with a burst, refilled lazily from the
/// clock on each use. rate 0 means unlimited.
class TokenBucket {
 public:
  TokenBucket() = default;
  TokenBucket(std::uint64_t rate_per_second, std::uint64_t burst, Clock::TimePoint now)
      : rate_(rate_per_second), burst_(burst), tokens_(burst), last_(now) {}

  bool take(std::uint64_t amount, Clock::TimePoint now) {
    if (rate_ == 0) {
      return true;
    }
    refill(now);
    if (tokens_ < amount) {
      return false;
    }
    tokens_ -= amount;
    return true;
  }

  /// As much of `amount` as the bucket holds now (all of it when unlimited):
  /// for a byte stream, which can wait for the rest instead of dropping it.
  std::uint64_t takeUpTo(std::uint64_t amount, Clock::TimePoint now) {
    if (rate_ == 0) {
      return amount;
    }
    refill(now);
    const std::uint64_t granted = std::min(tokens_, amount);
    tokens_ -= granted;
    return granted;
  }

 private:
  void refill(Clock::TimePoint now) {
    const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(now - last_);
    if (elapsed.count() > 0) {
      tokens_ = std::min<std::uint64_t>(
          burst_, tokens_ + rate_ * static_cast<std::uint64_t>(elapsed.count()) / 1'000'000);
      last_ = now;
    }
  }

  std::uint64_t rate_ = 0;
  std::uint64_t burst_ = 0;
  std::uint64_t tokens_ = 0;
  Clock::TimePoint last_{};
};

}  // namespace turnpike::turn
