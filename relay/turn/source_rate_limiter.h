#pragma once

#include <array>
#include <cstdint>

#include "relay/base/clock.h"
#include "relay/stun/transport_address.h"

namespace turnpike::turn {

/// Limits answers to requests that did not authenticate (401, 438 without
/// good integrity, 400, 420) per source IP so the server is useless as a
/// reflector. Fixed memory whatever the number of sources: IPs hash into a
/// fixed table of counters, and colliding sources share a budget. The hash
/// is keyed with a random secret, so nobody can pick addresses that collide
/// with a victim's. One per worker, no locks.
class SourceRateLimiter {
 public:
  explicit SourceRateLimiter(std::uint32_t per_second);

  /// True when a response to `source` may be sent now.
  bool allow(const stun::TransportAddress& source, Clock::TimePoint now);
  /// A new budget (reload); counts in flight carry on.
  void setRate(std::uint32_t per_second) { per_second_ = per_second; }

  static constexpr std::size_t kSlots = 4096;
  /// Which slot counts for `source` (its IP; the port is free to spoof).
  [[nodiscard]] std::size_t slotOf(const stun::TransportAddress& source) const;

 private:
  struct Slot {
    std::int64_t window = -1;  ///< the second this count belongs to
    std::uint32_t count = 0;
  };
  std::uint32_t per_second_;
  std::array<std::uint8_t, 16> key_{};
  std::array<Slot, kSlots> slots_{};
};

}  // namespace turnpike::turn
