#include "relay/net/udp_listener.h"

#include <event2/event.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "relay/net/socket_address.h"

namespace turnpike::net {

UdpListener::UdpListener(EventLoop& loop, int fd, turn::StunServer& server)
    : fd_(fd), server_(server), in_data_(kBatch * kMaxDatagram), out_data_(kBatch * kMaxResponse) {
  for (std::size_t i = 0; i < kBatch; ++i) {
    in_iov_[i] = {&in_data_[i * kMaxDatagram], kMaxDatagram};
  }
  read_event_ = event_new(loop.base(), fd_, EV_READ | EV_PERSIST, &UdpListener::onReadable, this);
  event_add(read_event_, nullptr);
}

UdpListener::~UdpListener() {
  event_free(read_event_);
  ::close(fd_);
}

void UdpListener::onReadable(int /*fd*/, short /*what*/, void* self) {
  auto* listener = static_cast<UdpListener*>(self);
  for (int turn = 0; turn < kBatchesPerTurn; ++turn) {
    if (listener->receiveBatch() < static_cast<int>(kBatch)) {
      return;  // drained to EAGAIN (or short batch): wait for the next readiness
    }
  }
}

int UdpListener::receiveBatch() {
  for (std::size_t i = 0; i < kBatch; ++i) {
    auto& h = in_msgs_[i].msg_hdr;
    h = msghdr{};
    h.msg_name = &in_addrs_[i];
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_iov = &in_iov_[i];
    h.msg_iovlen = 1;
  }
  const int received = ::recvmmsg(fd_, in_msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
  if (received <= 0) {
    if (received < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      spdlog::warn("udp recvmmsg failed: {}", std::strerror(errno));
    }
    return 0;
  }
  unsigned replies = 0;
  for (int i = 0; i < received; ++i) {
    const auto& h = in_msgs_[static_cast<std::size_t>(i)];
    const std::span<const std::uint8_t> packet(
        &in_data_[static_cast<std::size_t>(i) * kMaxDatagram], h.msg_len);
    if ((h.msg_hdr.msg_flags & MSG_TRUNC) != 0) {
      server_.countMalformed();  // bigger than any message we accept
      continue;
    }
    const auto source = fromSockaddr(in_addrs_[static_cast<std::size_t>(i)]);
    const std::span<std::uint8_t> out(&out_data_[replies * kMaxResponse], kMaxResponse);
    const auto outcome = server_.handleDatagram(packet, source, out);
    if (outcome.kind != turn::Outcome::Kind::Reply) {
      continue;
    }
    out_iov_[replies] = {out.data(), outcome.size};
    auto& oh = out_msgs_[replies].msg_hdr;
    oh = msghdr{};
    oh.msg_name = &in_addrs_[static_cast<std::size_t>(i)];
    oh.msg_namelen = h.msg_hdr.msg_namelen;
    oh.msg_iov = &out_iov_[replies];
    oh.msg_iovlen = 1;
    ++replies;
  }
  unsigned sent = 0;
  while (sent < replies) {
    const int n = ::sendmmsg(fd_, &out_msgs_[sent], replies - sent, MSG_DONTWAIT);
    if (n <= 0) {
      // A full socket buffer drops responses, as UDP may; clients retransmit.
      break;
    }
    sent += static_cast<unsigned>(n);
  }
  return received;
}

}  // namespace turnpike::net
