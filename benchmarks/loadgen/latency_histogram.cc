#include "benchmarks/loadgen/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace turnpike::loadgen {

std::size_t LatencyHistogram::bucketOf(std::uint64_t ns) {
  if (ns < 128) {
    return static_cast<std::size_t>(ns);
  }
  const int e = 63 - std::countl_zero(ns);  // 7..63
  const int shift = e - 6;
  return static_cast<std::size_t>(shift) * 64 + static_cast<std::size_t>(ns >> shift);
}

std::uint64_t LatencyHistogram::valueOf(std::size_t bucket) {
  if (bucket < 128) {
    return bucket;
  }
  const std::size_t q = bucket / 64;
  const std::uint64_t mantissa = 64 + bucket % 64;
  const std::size_t shift = q - 1;
  const std::uint64_t low = mantissa << shift;
  const std::uint64_t width = std::uint64_t{1} << shift;
  return low + width / 2;
}

void LatencyHistogram::record(std::uint64_t ns) {
  ++buckets_[std::min(bucketOf(ns), kBuckets - 1)];
  ++count_;
  max_ = std::max(max_, ns);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) {
    buckets_[i] += other.buckets_[i];
  }
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

std::uint64_t LatencyHistogram::percentile(double q) const {
  if (count_ == 0) {
    return 0;
  }
  const auto target = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= std::max<std::uint64_t>(target, 1)) {
      return std::min(valueOf(i), max_);
    }
  }
  return max_;
}

}  // namespace turnpike::loadgen
