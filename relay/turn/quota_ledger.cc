#include "relay/turn/quota_ledger.h"

namespace turnpike::turn {

QuotaLedger::Decision QuotaLedger::acquire(const std::string& user_id) {
  const std::lock_guard lock(mutex_);
  if (in_use_ >= total_) {
    return Decision::TotalReached;
  }
  auto& count = by_user_[user_id];
  if (count >= per_user_) {
    return Decision::UserQuotaReached;
  }
  ++count;
  ++in_use_;
  return Decision::Granted;
}

void QuotaLedger::release(const std::string& user_id) {
  const std::lock_guard lock(mutex_);
  const auto it = by_user_.find(user_id);
  if (it == by_user_.end()) {
    return;
  }
  if (--it->second == 0) {
    by_user_.erase(it);
  }
  --in_use_;
}

std::uint32_t QuotaLedger::total() const {
  const std::lock_guard lock(mutex_);
  return in_use_;
}

void QuotaLedger::setLimits(std::uint32_t per_user, std::uint32_t total) {
  std::lock_guard lock(mutex_);
  per_user_ = per_user;
  total_ = total;
}

}  // namespace turnpike::turn
