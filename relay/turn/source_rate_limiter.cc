#include "relay/turn/source_rate_limiter.h"

#include "relay/base/siphash.h"
#include "relay/stun/crypto.h"

namespace turnpike::turn {

SourceRateLimiter::SourceRateLimiter(std::uint32_t per_second) : per_second_(per_second) {
  stun::crypto::randomBytes(key_);
}

std::size_t SourceRateLimiter::slotOf(const stun::TransportAddress& source) const {
  return static_cast<std::size_t>(sipHash24(key_, std::span(source.ip).first(source.ipSize())) %
                                  kSlots);
}

bool SourceRateLimiter::allow(const stun::TransportAddress& source, Clock::TimePoint now) {
  if (per_second_ == 0) {
    return true;
  }
  Slot& slot = slots_[slotOf(source)];
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
