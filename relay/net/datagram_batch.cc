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

void prepareReceive(std::span<mmsghdr> msgs, std::span<iovec> iov,
                    std::span<sockaddr_storage> addrs) {
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    auto& h = msgs[i].msg_hdr;
    h = msghdr{};
    h.msg_name = &addrs[i];
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_iov = &iov[i];
    h.msg_iovlen = 1;
  }
}

int receiveDatagrams(int fd, std::span<mmsghdr> msgs) {
  const int received =
      ::recvmmsg(fd, msgs.data(), static_cast<unsigned>(msgs.size()), MSG_DONTWAIT, nullptr);
  if (received < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNREFUSED) {
      spdlog::warn("recvmmsg failed: {}", std::strerror(errno));
    }
    return 0;
  }
  return received;
}

int DatagramBatch::receive(int fd) {
  prepareReceive(msgs_, iov_, addrs_);
  return receiveDatagrams(fd, msgs_);
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
