#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "relay/net/event_loop.h"
#include "relay/stun/transport_address.h"
#include "relay/turn/relay_network.h"

namespace turnpike::net {

/// Datagrams on their way to UDP clients, sent with sendmmsg once per event
/// loop round instead of one sendto each. It also owns the buffers relay
/// sockets are read into (kPeerHeadroom bytes in), so a peer's datagram that
/// becomes ChannelData is queued where it was received: no copy.
///
/// Slots are handed out by a bump pointer that returns to zero at each flush.
/// A receive reserves twice its batch (one slot per datagram plus one per
/// copied reply), so a flush never happens while a batch is being handled.
class ClientSendQueue {
 public:
  static constexpr std::size_t kReceiveBatch = 32;
  static constexpr std::size_t kSlots = 128;
  static constexpr std::size_t kMaxDatagram = 4096;
  static constexpr std::size_t kSlotSize = turn::kPeerHeadroom + kMaxDatagram;

  explicit ClientSendQueue(EventLoop& loop);
  ~ClientSendQueue();
  ClientSendQueue(const ClientSendQueue&) = delete;
  ClientSendQueue& operator=(const ClientSendQueue&) = delete;

  /// Reads up to kReceiveBatch datagrams from `fd`; returns how many.
  int receive(int fd);
  /// Datagram `i` of the last receive, with kPeerHeadroom bytes in front.
  [[nodiscard]] std::span<std::uint8_t> frame(std::size_t i);
  [[nodiscard]] bool truncated(std::size_t i) const;
  [[nodiscard]] stun::TransportAddress source(std::size_t i) const;

  /// Queues `bytes` for `to` on socket `fd`. Bytes inside a slot of this
  /// queue are sent from where they are; anything else is copied.
  void push(int fd, const stun::TransportAddress& to, std::span<const std::uint8_t> bytes);
  /// Sends everything queued. Runs by itself after the loop's I/O callbacks.
  void flush();

  [[nodiscard]] std::size_t pending() const { return count_; }

 private:
  static void onFlush(int fd, short what, void* self);
  [[nodiscard]] bool owns(std::span<const std::uint8_t> bytes) const;

  std::vector<std::uint8_t> storage_;
  std::size_t next_slot_ = 0;  // first slot not yet handed out
  std::size_t received_first_ = 0;
  std::array<mmsghdr, kReceiveBatch> in_msgs_{};
  std::array<iovec, kReceiveBatch> in_iov_{};
  std::array<sockaddr_storage, kReceiveBatch> in_addrs_{};

  std::size_t count_ = 0;
  std::array<int, kSlots> fds_{};
  std::array<mmsghdr, kSlots> out_msgs_{};
  std::array<iovec, kSlots> out_iov_{};
  std::array<sockaddr_storage, kSlots> out_addrs_{};
  event* flush_event_ = nullptr;
};

}  // namespace turnpike::net
