#include "relay/net/datagram_batch.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

#include "relay/net/socket_address.h"

namespace turnpike::net {

DatagramBatch::DatagramBatch() : buffer_(kBatch * kMaxDatagram) {
  for (std::size_t i = 0; i < kBatch; ++i) {
    iov_[i] = {&buffer_[i * kMaxDatagram], kMaxDatagram};
  }
}

int DatagramBatch::receive(int fd) {
  for (std::size_t i = 0; i < kBatch; ++i) {
    auto& h = msgs_[i].msg_hdr;
    h = msghdr{};
    h.msg_name = &addrs_[i];
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_iov = &iov_[i];
    h.msg_iovlen = 1;
  }
  const int received = ::recvmmsg(fd, msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
  if (received < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNREFUSED) {
      spdlog::warn("recvmmsg failed: {}", std::strerror(errno));
    }
    return 0;
  }
  return received;
}

std::span<const std::uint8_t> DatagramBatch::data(std::size_t i) const {
  return {&buffer_[i * kMaxDatagram], msgs_[i].msg_len};
}

bool DatagramBatch::truncated(std::size_t i) const {
  return (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
}

stun::TransportAddress DatagramBatch::source(std::size_t i) const {
  return fromSockaddr(addrs_[i]);
}

}  // namespace turnpike::net
