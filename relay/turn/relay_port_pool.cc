#include "relay/turn/relay_port_pool.h"

#include "relay/stun/crypto.h"

namespace turnpike::turn {

namespace {

// Relay ports and reservation tokens come from the CSPRNG: a token is a
// capability (whoever holds it gets the reserved port), and predictable
// ports help an attacker aim at a victim's relayed address.
std::uint64_t secureRandom() {
  std::uint64_t value = 0;
  stun::crypto::randomBytes({reinterpret_cast<std::uint8_t*>(&value), sizeof value});
  return value;
}

}  // namespace

RelayPortPool::RelayPortPool(std::uint16_t min, std::uint16_t max, const Clock& clock)
    : min_(min), used_(static_cast<std::size_t>(max - min) + 1, false), clock_(clock) {}

std::size_t RelayPortPool::inUse() const {
  const std::lock_guard lock(mutex_);
  return in_use_;
}

void RelayPortPool::expireReservations() {
  const auto now = clock_.now();
  for (auto it = reservations_.begin(); it != reservations_.end();) {
    if (it->second.expires_at <= now) {
      used_[it->second.port - min_] = false;
      --in_use_;
      it = reservations_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<std::uint16_t> RelayPortPool::pick(bool even, bool with_next) {
  const std::size_t n = used_.size();
  const std::size_t start = static_cast<std::size_t>(secureRandom() % n);
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (start + k) % n;
    const auto port = static_cast<std::uint16_t>(min_ + i);
    if (used_[i] || (even && port % 2 != 0)) {
      continue;
    }
    if (with_next && (i + 1 >= n || used_[i + 1])) {
      continue;
    }
    return port;
  }
  return std::nullopt;
}

std::optional<std::uint16_t> RelayPortPool::acquire(bool even, bool reserve_next,
                                                    std::uint64_t* token) {
  const std::lock_guard lock(mutex_);
  expireReservations();
  const auto port = pick(even, reserve_next);
  if (!port) {
    return std::nullopt;
  }
  used_[*port - min_] = true;
  ++in_use_;
  if (reserve_next && token != nullptr) {
    const auto next = static_cast<std::uint16_t>(*port + 1);
    used_[next - min_] = true;
    ++in_use_;
    std::uint64_t t = 0;
    do {
      t = secureRandom();
    } while (t == 0 || reservations_.count(t) != 0);
    reservations_[t] = Reservation{next, clock_.now() + kReservationLifetime};
    *token = t;
  }
  return port;
}

std::optional<std::uint16_t> RelayPortPool::claim(std::uint64_t token) {
  const std::lock_guard lock(mutex_);
  expireReservations();
  const auto it = reservations_.find(token);
  if (it == reservations_.end()) {
    return std::nullopt;
  }
  const std::uint16_t port = it->second.port;
  reservations_.erase(it);  // the port stays in use, now by the claimer
  return port;
}

void RelayPortPool::release(std::uint16_t port) {
  const std::lock_guard lock(mutex_);
  if (port < min_ || port - min_ >= static_cast<int>(used_.size()) || !used_[port - min_]) {
    return;
  }
  used_[port - min_] = false;
  --in_use_;
}

}  // namespace turnpike::turn
