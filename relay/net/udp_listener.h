#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <vector>

#include "relay/net/datagram_batch.h"
#include "relay/net/event_loop.h"
#include "relay/stun/transport_address.h"
#include "relay/turn/turn_server.h"

namespace turnpike::net {

/// One worker's socket on one UDP listen address. Drains the socket with
/// recvmmsg in batches and answers with one sendmmsg per batch.
class UdpListener {
 public:
  UdpListener(EventLoop& loop, int fd, stun::TransportAddress local, turn::TurnServer& server,
              DatagramBatch& batch);
  ~UdpListener();
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] const stun::TransportAddress& local() const { return local_; }

  static constexpr std::size_t kMaxResponse = 2048;
  /// Batches per readiness event before yielding to other sockets.
  static constexpr int kBatchesPerTurn = 8;

 private:
  static void onReadable(int fd, short what, void* self);
  /// Receives and answers one batch; returns how many datagrams arrived.
  int serveBatch();

  int fd_;
  stun::TransportAddress local_;
  turn::TurnServer& server_;
  DatagramBatch& batch_;
  event* read_event_ = nullptr;

  std::vector<std::uint8_t> out_data_;
  std::array<mmsghdr, DatagramBatch::kBatch> out_msgs_{};
  std::array<iovec, DatagramBatch::kBatch> out_iov_{};
  std::array<sockaddr_storage, DatagramBatch::kBatch> out_addrs_{};
};

}  // namespace turnpike::net
