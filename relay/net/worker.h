#pragma once

#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "conf/config.h"
#include "relay/base/clock.h"
#include "relay/net/event_loop.h"
#include "relay/net/tcp_connection.h"
#include "relay/net/tcp_listener.h"
#include "relay/net/udp_listener.h"
#include "relay/turn/stun_server.h"

namespace turnpike::net {

/// The sockets one worker owns: one per listen address, all bound with
/// SO_REUSEPORT to the same addresses as every other worker's.
struct WorkerSockets {
  std::vector<int> udp;
  std::vector<int> tcp;
};

/// A shared-nothing worker: its own thread, event loop, sockets, StunServer
/// and connections. Other threads talk to it only through requestStop().
class Worker final : public ConnectionOwner {
 public:
  Worker(unsigned index, const conf::Config& config, const Clock& clock, WorkerSockets sockets);
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  /// Thread-safe: stop accepting, finish in-flight work, then leave the loop.
  void requestStop();
  void join();

  /// Valid after join().
  [[nodiscard]] const turn::StunCounters& counters() const { return server_.counters(); }
  [[nodiscard]] unsigned index() const { return index_; }

  void onConnectionClosed(TcpConnection* connection) override;

 private:
  void beginStop();
  void finishStopIfIdle();
  void sweepIdleConnections();

  unsigned index_;
  const conf::Config& config_;
  const Clock& clock_;
  EventLoop loop_;
  turn::StunServer server_;
  WorkerSockets sockets_;
  std::vector<std::unique_ptr<UdpListener>> udp_;
  std::vector<std::unique_ptr<TcpListener>> tcp_;
  std::unordered_map<TcpConnection*, std::unique_ptr<TcpConnection>> connections_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace turnpike::net
