#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <vector>

#include "relay/net/event_loop.h"
#include "relay/stun/transport_address.h"
#include "relay/turn/stun_server.h"

namespace turnpike::net {

/// One worker's socket on one UDP listen address. Drains the socket with
/// recvmmsg in batches and answers with one sendmmsg per batch.
class UdpListener {
 public:
  UdpListener(EventLoop& loop, int fd, turn::StunServer& server);
  ~UdpListener();
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  static constexpr std::size_t kBatch = 32;
  static constexpr std::size_t kMaxDatagram = 4096;
  static constexpr std::size_t kMaxResponse = 2048;
  /// Batches per readiness event before yielding to other sockets.
  static constexpr int kBatchesPerTurn = 8;

 private:
  static void onReadable(int fd, short what, void* self);
  /// Receives one batch; returns how many datagrams arrived.
  int receiveBatch();

  int fd_;
  turn::StunServer& server_;
  event* read_event_ = nullptr;

  // Per-listener scratch, reused for every batch: no allocation per packet.
  std::vector<std::uint8_t> in_data_;
  std::vector<std::uint8_t> out_data_;
  std::array<mmsghdr, kBatch> in_msgs_{};
  std::array<iovec, kBatch> in_iov_{};
  std::array<sockaddr_storage, kBatch> in_addrs_{};
  std::array<mmsghdr, kBatch> out_msgs_{};
  std::array<iovec, kBatch> out_iov_{};
};

}  // namespace turnpike::net
