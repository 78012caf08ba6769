#include "relay/net/client_send_queue.h"

#include <event2/event.h>

#include <cstring>

#include "relay/net/datagram_batch.h"
#include "relay/net/socket_address.h"

namespace turnpike::net {

ClientSendQueue::ClientSendQueue(EventLoop& loop) : storage_(kSlots * kSlotSize) {
  flush_event_ = event_new(loop.base(), -1, 0, &ClientSendQueue::onFlush, this);
  event_priority_set(flush_event_, EventLoop::kAfterIoPriority);
}

ClientSendQueue::~ClientSendQueue() { event_free(flush_event_); }

int ClientSendQueue::receive(int fd) {
  if (next_slot_ + 2 * kReceiveBatch > kSlots) {
    flush();
  }
  received_first_ = next_slot_;
  for (std::size_t i = 0; i < kReceiveBatch; ++i) {
    std::uint8_t* slot = &storage_[(received_first_ + i) * kSlotSize];
    in_iov_[i] = {slot + turn::kPeerHeadroom, kMaxDatagram};
  }
  prepareReceive(in_msgs_, in_iov_, in_addrs_);
  const int received = receiveDatagrams(fd, in_msgs_);
  next_slot_ += static_cast<std::size_t>(received);
  return received;
}

std::span<std::uint8_t> ClientSendQueue::frame(std::size_t i) {
  return {&storage_[(received_first_ + i) * kSlotSize], turn::kPeerHeadroom + in_msgs_[i].msg_len};
}

bool ClientSendQueue::truncated(std::size_t i) const {
  return (in_msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
}

stun::TransportAddress ClientSendQueue::source(std::size_t i) const {
  return fromSockaddr(in_addrs_[i]);
}

bool ClientSendQueue::owns(std::span<const std::uint8_t> bytes) const {
  const std::uint8_t* begin = storage_.data();
  const std::uint8_t* end = begin + storage_.size();
  return bytes.data() >= begin && bytes.data() + bytes.size() <= end;
}

void ClientSendQueue::push(int fd, const stun::TransportAddress& to,
                           std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kSlotSize) {
    return;
  }
  const void* data = bytes.data();
  if (!owns(bytes)) {
    if (next_slot_ == kSlots) {
      flush();
    }
    std::uint8_t* slot = &storage_[next_slot_++ * kSlotSize];
    std::memcpy(slot, bytes.data(), bytes.size());
    data = slot;
  }
  const std::size_t k = count_++;
  fds_[k] = fd;
  out_iov_[k] = {const_cast<void*>(data), bytes.size()};
  auto& h = out_msgs_[k].msg_hdr;
  h = msghdr{};
  h.msg_namelen = toSockaddr(to, out_addrs_[k]);
  h.msg_name = &out_addrs_[k];
  h.msg_iov = &out_iov_[k];
  h.msg_iovlen = 1;
  if (count_ == 1) {
    event_active(flush_event_, EV_TIMEOUT, 0);
  }
  if (count_ == kSlots) {
    flush();
  }
}

void ClientSendQueue::flush() {
  std::size_t first = 0;
  while (first < count_) {
    std::size_t last = first + 1;  // a run of datagrams leaving the same socket
    while (last < count_ && fds_[last] == fds_[first]) {
      ++last;
    }
    std::size_t sent = first;
    while (sent < last) {
      const int n = ::sendmmsg(fds_[first], &out_msgs_[sent], static_cast<unsigned>(last - sent),
                               MSG_DONTWAIT);
      if (n <= 0) {
        break;  // a full socket buffer drops the rest of the run, as the network would
      }
      sent += static_cast<std::size_t>(n);
    }
    first = last;
  }
  count_ = 0;
  next_slot_ = 0;
}

void ClientSendQueue::onFlush(int /*fd*/, short /*what*/, void* self) {
  static_cast<ClientSendQueue*>(self)->flush();
}

}  // namespace turnpike::net
