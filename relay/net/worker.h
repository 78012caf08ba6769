#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "conf/config.h"
#include "relay/base/clock.h"
#include "relay/net/datagram_batch.h"
#include "relay/net/event_loop.h"
#include "relay/net/shared_state.h"
#include "relay/net/tcp_connection.h"
#include "relay/net/tcp_listener.h"
#include "relay/net/udp_listener.h"
#include "relay/net/worker_network.h"
#include "relay/turn/turn_server.h"

namespace turnpike::net {

/// A bound listening socket handed to a worker.
struct ListenSocket {
  int fd = -1;
  stun::TransportAddress local;
};

/// The sockets one worker owns: one per listen address, all bound with
/// SO_REUSEPORT to the same addresses as every other worker's.
struct WorkerSockets {
  std::vector<ListenSocket> udp;
  std::vector<ListenSocket> tcp;
  std::vector<ListenSocket> tls;
};

/// What a worker publishes for metrics, about once a second: copies, so
/// readers never touch the worker's own state.
struct WorkerSnapshot {
  turn::ServerCounters counters;
  std::array<std::uint64_t, 3> allocations_active{};  ///< by client transport
  std::uint64_t permissions_active = 0;
  std::uint64_t channels_active = 0;
  std::uint64_t loop_errors = 0;  ///< exceptions the worker's loop caught
};

/// A shared-nothing worker: its own thread, event loop, sockets, TURN state
/// (allocations, relay sockets, counters) and connections. Other threads talk
/// to it only through requestStop().
class Worker final : public ConnectionOwner {
 public:
  Worker(unsigned index, const conf::Config& config, const Clock& clock, SharedState& shared,
         turn::AllocationObserver& observer, WorkerSockets sockets);
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  /// Thread-safe: stop accepting, finish in-flight work, then leave the loop.
  void requestStop();
  void join();

  /// Valid after join().
  [[nodiscard]] const turn::ServerCounters& counters() const { return server_.counters(); }
  /// Thread-safe: the figures the worker last published (at most ~1 s old).
  [[nodiscard]] WorkerSnapshot snapshot() const;
  [[nodiscard]] unsigned index() const { return index_; }

  void onConnectionClosed(TcpConnection* connection) override;

  /// Thread-safe: the worker takes `next` on its own thread, soon after,
  /// then calls `applied` there (if set).
  void reload(std::shared_ptr<const ReloadedPolicy> next, std::function<void()> applied = {});
  /// Thread-safe: runs `task` on the worker's thread, with its TURN state.
  /// Never runs once the worker has stopped.
  void runOnLoop(std::function<void(turn::TurnServer&)> task);

 private:
  void beginStop();
  void finishStopIfIdle();
  /// Why `c` must be closed now (idle, stalled, half a frame, a close that
  /// never flushed); nullptr when it may stay.
  [[nodiscard]] const char* overdue(const TcpConnection& c, Clock::TimePoint now);
  void sweep();
  void publish();
  void accept(int fd, const stun::TransportAddress& peer, const stun::TransportAddress& local,
              turn::Transport transport);

  unsigned index_;
  const conf::Config& config_;
  const Clock& clock_;
  const TlsContext* tls_;
  ConnectionLedger& ledger_;
  EventLoop loop_;
  DatagramBatch batch_;
  WorkerNetwork network_;
  turn::TurnCore core_;
  turn::TurnServer server_;
  WorkerSockets sockets_;
  std::vector<std::unique_ptr<UdpListener>> udp_;
  std::vector<std::unique_ptr<TcpListener>> tcp_;
  std::unordered_map<TcpConnection*, std::unique_ptr<TcpConnection>> connections_;
  std::unordered_map<turn::FiveTuple, TcpConnection*, turn::FiveTupleHash> by_five_tuple_;
  bool stopping_ = false;
  std::shared_ptr<const ReloadedPolicy> reloaded_;  ///< keeps what core_ points at alive
  mutable std::mutex snapshot_mutex_;
  WorkerSnapshot snapshot_;  // guarded by snapshot_mutex_
  std::thread thread_;
};

}  // namespace turnpike::net
