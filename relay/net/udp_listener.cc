#include "relay/net/udp_listener.h"

#include <event2/event.h>
#include <unistd.h>

#include <cstring>

namespace turnpike::net {

UdpListener::UdpListener(EventLoop& loop, int fd, stun::TransportAddress local,
                         turn::TurnServer& server, DatagramBatch& batch)
    : fd_(fd),
      local_(local),
      server_(server),
      batch_(batch),
      out_data_(DatagramBatch::kBatch * kMaxResponse) {
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
    if (listener->serveBatch() < static_cast<int>(DatagramBatch::kBatch)) {
      return;  // drained: wait for the next readiness
    }
  }
}

int UdpListener::serveBatch() {
  const int received = batch_.receive(fd_);
  unsigned replies = 0;
  for (int k = 0; k < received; ++k) {
    const auto i = static_cast<std::size_t>(k);
    if (batch_.truncated(i)) {
      server_.countMalformed();  // bigger than any message we accept
      continue;
    }
    const turn::FiveTuple five_tuple{batch_.source(i), local_, turn::Transport::Udp};
    const std::span<std::uint8_t> out(&out_data_[replies * kMaxResponse], kMaxResponse);
    const auto outcome = server_.handleDatagram(batch_.data(i), five_tuple, out);
    if (outcome.kind != turn::Outcome::Kind::Reply) {
      continue;
    }
    // The reply outlives this slot of the batch only until sendmmsg below.
    out_addrs_[replies] = batch_.rawSource(i);
    out_iov_[replies] = {out.data(), outcome.size};
    auto& h = out_msgs_[replies].msg_hdr;
    h = msghdr{};
    h.msg_name = &out_addrs_[replies];
    h.msg_namelen = batch_.rawSourceLength(i);
    h.msg_iov = &out_iov_[replies];
    h.msg_iovlen = 1;
    ++replies;
  }
  unsigned sent = 0;
  while (sent < replies) {
    const int n = ::sendmmsg(fd_, &out_msgs_[sent], replies - sent, MSG_DONTWAIT);
    if (n <= 0) {
      break;  // a full socket buffer drops responses, as UDP may; clients retransmit
    }
    sent += static_cast<unsigned>(n);
  }
  return received;
}

}  // namespace turnpike::net
