#include "relay/net/connection_ledger.h"

#include <algorithm>

namespace turnpike::net {

namespace {

// IPv6 sources count per /64: one host usually holds a whole /64, so exact
// addresses would leave it unlimited.
turn::PeerIp sourceKey(const stun::TransportAddress& source) {
  turn::PeerIp key = turn::PeerIp::of(source);
  if (key.family == stun::AddressFamily::IPv6) {
    std::fill(key.ip.begin() + 8, key.ip.end(), std::uint8_t{0});
  }
  return key;
}

}  // namespace

ConnectionLedger::Ticket::Ticket(ConnectionLedger& ledger, const turn::PeerIp& source)
    : ledger_(ledger), source_(source) {}

ConnectionLedger::Ticket::~Ticket() { ledger_.release(source_); }

std::unique_ptr<ConnectionLedger::Ticket> ConnectionLedger::admit(
    const stun::TransportAddress& client) {
  const turn::PeerIp source = sourceKey(client);
  {
    std::lock_guard lock(mutex_);
    if (total_ >= total_limit_) {
      return nullptr;
    }
    std::uint32_t& mine = by_ip_[source];
    if (mine >= per_source_) {
      if (mine == 0) {
        by_ip_.erase(source);
      }
      return nullptr;
    }
    ++mine;
    ++total_;
  }
  return std::make_unique<Ticket>(*this, source);
}

void ConnectionLedger::release(const turn::PeerIp& source) {
  std::lock_guard lock(mutex_);
  const auto it = by_ip_.find(source);
  if (it != by_ip_.end() && --it->second == 0) {
    by_ip_.erase(it);
  }
  --total_;
}

std::uint32_t ConnectionLedger::open() const {
  std::lock_guard lock(mutex_);
  return total_;
}

void ConnectionLedger::setLimits(std::uint32_t per_source, std::uint32_t total) {
  std::lock_guard lock(mutex_);
  per_source_ = per_source;
  total_limit_ = total;
}

}  // namespace turnpike::net
