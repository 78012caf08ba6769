#include "relay/turn/source_rate_limiter.h"

namespace turnpike::turn {

bool SourceRateLimiter::allow(const stun::TransportAddress& source, Clock::TimePoint now) {
  if (per_second_ == 0) {
    return true;
  }
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over the IP only: ports are free to spoof
  for (std::size_t i = 0; i < source.ipSize(); ++i) {
    h = (h ^ source.ip[i]) * 0x100000001b3ULL;
  }
  Slot& slot = slots_[h % kSlots];
  const std::int64_t second =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (slot.window != second) {
    slot.window = second;
    slot.count = 0;
  }
  if (slot.count >= per_second_) {
    return false;
  }
  ++slot.count;
  return true;
}

}  // namespace turnpike::turn
