#include "relay/net/worker.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

namespace turnpike::net {
namespace {

constexpr auto kSweepInterval = std::chrono::seconds{1};

}  // namespace

Worker::Worker(unsigned index, const conf::Config& config, const Clock& clock,
               WorkerSockets sockets)
    : index_(index),
      config_(config),
      clock_(clock),
      loop_(clock),
      server_(turn::ServerOptions{config.server.software}),
      sockets_(std::move(sockets)) {}

Worker::~Worker() {
  if (thread_.joinable()) {
    requestStop();
    thread_.join();
  }
  // Sockets never handed to a listener (start() not called) are still ours.
  if (udp_.empty() && tcp_.empty()) {
    for (int fd : sockets_.udp) {
      ::close(fd);
    }
    for (int fd : sockets_.tcp) {
      ::close(fd);
    }
  }
}

void Worker::start() {
  for (int fd : sockets_.udp) {
    udp_.push_back(std::make_unique<UdpListener>(loop_, fd, server_));
  }
  for (int fd : sockets_.tcp) {
    tcp_.push_back(std::make_unique<TcpListener>(
        loop_, fd, [this](int client_fd, const stun::TransportAddress& peer) {
          auto connection = std::make_unique<TcpConnection>(loop_.base(), client_fd, peer, server_,
                                                            clock_, *this);
          auto* raw = connection.get();
          connections_.emplace(raw, std::move(connection));
        }));
  }
  loop_.runAfter(kSweepInterval, [this] { sweepIdleConnections(); });
  thread_ = std::thread([this] {
    spdlog::debug("worker {} running", index_);
    loop_.run();
    spdlog::debug("worker {} stopped", index_);
  });
}

void Worker::requestStop() {
  loop_.post([this] { beginStop(); });
}

void Worker::join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Worker::beginStop() {
  if (stopping_) {
    return;
  }
  stopping_ = true;
  // Close the listeners first so no new work arrives.
  udp_.clear();
  tcp_.clear();
  std::vector<TcpConnection*> open;
  open.reserve(connections_.size());
  for (const auto& [raw, owned] : connections_) {
    open.push_back(raw);
  }
  for (TcpConnection* c : open) {
    c->closeWhenFlushed();  // responses already queued are still written
  }
  loop_.runAfter(config_.server.shutdown_grace, [this] {
    if (!connections_.empty()) {
      spdlog::warn("worker {}: {} connections still open after shutdown grace, closing", index_,
                   connections_.size());
    }
    connections_.clear();
    loop_.exit();
  });
  finishStopIfIdle();
}

void Worker::finishStopIfIdle() {
  if (stopping_ && connections_.empty()) {
    loop_.exit();
  }
}

void Worker::onConnectionClosed(TcpConnection* connection) {
  connections_.erase(connection);
  finishStopIfIdle();
}

void Worker::sweepIdleConnections() {
  const auto now = clock_.now();
  std::vector<TcpConnection*> idle;
  for (const auto& [raw, owned] : connections_) {
    if (now - raw->lastActivity() >= config_.server.tcp_idle_timeout) {
      idle.push_back(raw);
    }
  }
  for (TcpConnection* c : idle) {
    spdlog::debug("worker {}: closing idle tcp connection from {}", index_, c->peer().toString());
    connections_.erase(c);
  }
  if (!stopping_) {
    loop_.runAfter(kSweepInterval, [this] { sweepIdleConnections(); });
  }
}

}  // namespace turnpike::net
