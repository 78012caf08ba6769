#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "relay/stun/transport_address.h"

namespace turnpike::net {

/// Points header i at iov[i] and addrs[i] (full size), ready for recvmmsg.
void prepareReceive(std::span<mmsghdr> msgs, std::span<iovec> iov,
                    std::span<sockaddr_storage> addrs);
/// recvmmsg without blocking; returns how many arrived, 0 when none did.
/// Errors other than "nothing queued" are logged.
int receiveDatagrams(int fd, std::span<mmsghdr> msgs);

/// Scratch space for receiving up to kBatch datagrams with one recvmmsg.
/// Owned by one worker and reused for every batch: no allocation per packet.
class DatagramBatch {
 public:
  static constexpr std::size_t kBatch = 32;
  static constexpr std::size_t kMaxDatagram = 4096;

  DatagramBatch();
  /// Receives what is queued on `fd`, up to kBatch; returns how many.
  int receive(int fd);

  [[nodiscard]] std::span<const std::uint8_t> data(std::size_t i) const;
  [[nodiscard]] bool truncated(std::size_t i) const;
  [[nodiscard]] stun::TransportAddress source(std::size_t i) const;
  [[nodiscard]] const sockaddr_storage& rawSource(std::size_t i) const { return addrs_[i]; }
  [[nodiscard]] socklen_t rawSourceLength(std::size_t i) const {
    return msgs_[i].msg_hdr.msg_namelen;
  }

 private:
  std::vector<std::uint8_t> buffer_;
  std::array<mmsghdr, kBatch> msgs_{};
  std::array<iovec, kBatch> iov_{};
  std::array<sockaddr_storage, kBatch> addrs_{};
};

}  // namespace turnpike::net
