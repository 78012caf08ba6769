#pragma once

#include "relay/base/clock.h"

namespace turnpike::testing {

/// A clock that moves only when the test says so.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::chrono::seconds unix_start = std::chrono::seconds{1'700'000'000})
      : unix_start_(unix_start) {}

  [[nodiscard]] TimePoint now() const override { return TimePoint{} + elapsed_; }
  [[nodiscard]] std::chrono::seconds unixTime() const override {
    return unix_start_ + std::chrono::duration_cast<std::chrono::seconds>(elapsed_);
  }
  [[nodiscard]] std::chrono::milliseconds unixMillis() const override {
    return unix_start_ + std::chrono::duration_cast<std::chrono::milliseconds>(elapsed_);
  }
  void advance(Duration by) { elapsed_ += by; }

 private:
  std::chrono::seconds unix_start_;
  Duration elapsed_{0};
};

}  // namespace turnpike::testing
