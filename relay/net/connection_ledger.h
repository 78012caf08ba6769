#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "relay/stun/transport_address.h"
#include "relay/turn/peer_ip.h"

namespace turnpike::net {

/// Open stream connections, per source IP (IPv6: per /64) and in total,
/// across all workers, so one address cannot take every connection slot
/// (slowloris). Touched once per accept and once per close, never per packet.
class ConnectionLedger {
 public:
  /// Held by a connection for as long as it lives; gives the slot back.
  class Ticket {
   public:
    Ticket(ConnectionLedger& ledger, const turn::PeerIp& source);
    ~Ticket();
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;

   private:
    ConnectionLedger& ledger_;
    turn::PeerIp source_;
  };

  ConnectionLedger(std::uint32_t per_source, std::uint32_t total)
      : per_source_(per_source), total_limit_(total) {}

  /// A ticket when `source` may open one more connection, else nullptr.
  std::unique_ptr<Ticket> admit(const stun::TransportAddress& source);
  [[nodiscard]] std::uint32_t open() const;
  /// New limits (reload): open connections above them stay.
  void setLimits(std::uint32_t per_source, std::uint32_t total);

 private:
  void release(const turn::PeerIp& source);

  mutable std::mutex mutex_;
  std::uint32_t per_source_;                                                 // guarded
  std::uint32_t total_limit_;                                                // guarded
  std::uint32_t total_ = 0;                                                  // guarded
  std::unordered_map<turn::PeerIp, std::uint32_t, turn::PeerIpHash> by_ip_;  // guarded
};

}  // namespace turnpike::net
