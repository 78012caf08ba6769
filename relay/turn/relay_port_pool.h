#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "relay/base/clock.h"

namespace turnpike::turn {

/// The relay ports of one relay address, shared by all workers. Taking and
/// returning a port happens on Allocate and on deletion only, never per
/// packet, so a mutex is fine here. Ports are picked at random (RFC 8656
/// §7.2 suggests it, so relayed addresses are hard to guess).
class RelayPortPool {
 public:
  RelayPortPool(std::uint16_t min, std::uint16_t max, const Clock& clock);

  /// Any free port, or an even one; with `reserve_next` (EVEN-PORT R bit) the
  /// next port is held too and a token for it returned in `token`.
  std::optional<std::uint16_t> acquire(bool even, bool reserve_next, std::uint64_t* token);
  /// The port held for `token` (RFC 8656 §7.2: held about 30 seconds).
  std::optional<std::uint16_t> claim(std::uint64_t token);
  void release(std::uint16_t port);
  [[nodiscard]] std::size_t inUse() const;
  [[nodiscard]] std::size_t capacity() const { return used_.size(); }

  static constexpr auto kReservationLifetime = std::chrono::seconds{30};

 private:
  void expireReservations();
  std::optional<std::uint16_t> pick(bool even, bool with_next);

  mutable std::mutex mutex_;
  std::uint16_t min_;
  std::vector<bool> used_;  // index = port - min_
  std::size_t in_use_ = 0;
  struct Reservation {
    std::uint16_t port;
    Clock::TimePoint expires_at;
  };
  std::unordered_map<std::uint64_t, Reservation> reservations_;
  const Clock& clock_;
};

}  // namespace turnpike::turn
