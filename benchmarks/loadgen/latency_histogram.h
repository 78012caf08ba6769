#pragma once

#include <array>
#include <cstdint>

namespace turnpike::loadgen {

/// Log-linear histogram of nanosecond values: exact below 128 ns, then 64
/// sub-buckets per power of two (under 1.6% error), fixed memory.
class LatencyHistogram {
 public:
  static constexpr std::size_t kBuckets = 64 * 58 + 128;

  void record(std::uint64_t ns);
  void merge(const LatencyHistogram& other);
  /// The value at quantile q (0..1]; 0 when empty.
  [[nodiscard]] std::uint64_t percentile(double q) const;
  [[nodiscard]] std::uint64_t count() const { return count_; }
  [[nodiscard]] std::uint64_t max() const { return max_; }

  static std::size_t bucketOf(std::uint64_t ns);
  /// The middle of a bucket's range of values.
  static std::uint64_t valueOf(std::size_t bucket);

 private:
  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace turnpike::loadgen
