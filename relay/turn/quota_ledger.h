#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace turnpike::turn {

/// Allocation counts per user id and in total, shared by all workers. Touched
/// on Allocate and on deletion only, so a mutex costs nothing on the data path.
class QuotaLedger {
 public:
  QuotaLedger(std::uint32_t per_user, std::uint32_t total) : per_user_(per_user), total_(total) {}

  enum class Decision : std::uint8_t { Granted, UserQuotaReached, TotalReached };
  Decision acquire(const std::string& user_id);
  void release(const std::string& user_id);
  [[nodiscard]] std::uint32_t total() const;
  /// New limits (reload): allocations above them stay; new ones wait.
  void setLimits(std::uint32_t per_user, std::uint32_t total);

 private:
  mutable std::mutex mutex_;
  std::uint32_t per_user_;
  std::uint32_t total_;
  std::uint32_t in_use_ = 0;
  std::unordered_map<std::string, std::uint32_t> by_user_;
};

}  // namespace turnpike::turn
