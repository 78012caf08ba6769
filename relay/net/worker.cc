#include "relay/net/worker.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace turnpike::net {
namespace {

// One timer per worker sweeps expired allocations and idle connections.
constexpr auto kSweepInterval = std::chrono::seconds{1};

}  // namespace

Worker::Worker(unsigned index, const conf::Config& config, const Clock& clock, SharedState& shared,
               turn::AllocationObserver& observer, WorkerSockets sockets)
    : index_(index),
      config_(config),
      clock_(clock),
      tls_(shared.tls.get()),
      ledger_(*shared.connections),
      loop_(clock),
      network_(loop_, config.server.socket_buffers),
      core_(shared.policy->settings, clock, *shared.policy->authenticator, network_,
            *shared.policy->policy, *shared.quotas, shared.relays, observer),
      server_(core_),
      sockets_(std::move(sockets)),
      reloaded_(shared.policy) {
  core_.peer_connections = shared.peer_connections.get();
  core_.kernel = shared.kernel.get();
  core_.draining = shared.draining.get();
  core_.next_allocation_id = (std::uint64_t{index} << 48) + 1;
}

void Worker::reload(std::shared_ptr<const ReloadedPolicy> next, std::function<void()> applied) {
  loop_.post([this, next = std::move(next), applied = std::move(applied)] {
    core_.reload(next->settings, *next->authenticator, *next->policy);
    reloaded_ = next;
    if (applied) {
      applied();
    }
  });
}

void Worker::runOnLoop(std::function<void(turn::TurnServer&)> task) {
  loop_.post([this, task = std::move(task)] {
    if (!stopping_) {
      task(server_);
    }
  });
}

Worker::~Worker() {
  if (thread_.joinable()) {
    requestStop();
    thread_.join();
  }
  // Sockets never handed to a listener (start() not called) are still ours.
  if (udp_.empty() && tcp_.empty()) {
    for (const auto& s : sockets_.udp) {
      ::close(s.fd);
    }
    for (const auto& s : sockets_.tcp) {
      ::close(s.fd);
    }
    for (const auto& s : sockets_.tls) {
      ::close(s.fd);
    }
  }
}

void Worker::start() {
  for (const auto& s : sockets_.udp) {
    udp_.push_back(std::make_unique<UdpListener>(loop_, s.fd, s.local, server_, batch_));
  }
  const auto listen = [this](const ListenSocket& s, turn::Transport transport) {
    tcp_.push_back(std::make_unique<TcpListener>(
        loop_, s.fd, s.local,
        [this, transport](int fd, const stun::TransportAddress& peer,
                          const stun::TransportAddress& local) {
          accept(fd, peer, local, transport);
        },
        [this] { server_.countRefusedConnection(); }));
  };
  for (const auto& s : sockets_.tcp) {
    listen(s, turn::Transport::Tcp);
  }
  for (const auto& s : sockets_.tls) {
    listen(s, turn::Transport::Tls);
  }
  network_.attach(
      server_, udp_,
      [this](const turn::FiveTuple& t) -> TcpConnection* {
        const auto it = by_five_tuple_.find(t);
        return it == by_five_tuple_.end() ? nullptr : it->second;
      },
      core_.peer_connections);
  loop_.runAfter(kSweepInterval, [this] { sweep(); });
  thread_ = std::thread([this] {
    // Named so per-thread CPU (top -H, /proc/PID/task/*/comm) tells the
    // relay's work from the control plane's.
    const std::string name = "tp-worker-" + std::to_string(index_);
    pthread_setname_np(pthread_self(), name.c_str());
    spdlog::debug("worker {} running", index_);
    loop_.run();
    spdlog::debug("worker {} stopped", index_);
  });
}

void Worker::accept(int fd, const stun::TransportAddress& peer, const stun::TransportAddress& local,
                    turn::Transport transport) {
  auto ticket = ledger_.admit(peer);
  if (!ticket) {
    server_.countRefusedConnection();
    spdlog::debug("worker {}: refusing a {} connection from {}: connection limit", index_,
                  turn::transportName(transport), peer.toString());
    ::close(fd);
    return;
  }
  ssl_st* ssl = nullptr;
  if (transport == turn::Transport::Tls) {
    ssl = tls_ != nullptr ? tls_->newSession() : nullptr;
    if (ssl == nullptr) {
      ::close(fd);
      return;
    }
  }
  const turn::FiveTuple t{peer, local, transport};
  auto connection = std::make_unique<TcpConnection>(loop_.base(), fd, ssl, t, server_, clock_,
                                                    *this, std::move(ticket));
  by_five_tuple_[t] = connection.get();
  connections_.emplace(connection.get(), std::move(connection));
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
  server_.deleteAllAllocations();
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
    by_five_tuple_.clear();
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
  // RFC 8656 §3.1: closing a stream client's connection deletes its allocation.
  server_.deleteAllocationOf(connection->fiveTuple());
  if (connection->pipeId() != 0) {
    network_.pipeClosed(connection->pipeId());
  }
  by_five_tuple_.erase(connection->fiveTuple());
  connections_.erase(connection);
  finishStopIfIdle();
}

WorkerSnapshot Worker::snapshot() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

void Worker::publish() {
  WorkerSnapshot s;
  s.counters = server_.counters();
  s.loop_errors = loop_.caughtErrors();
  const auto now = clock_.now();
  server_.forEachAllocation([&](const turn::Allocation& a) {
    ++s.allocations_active[static_cast<std::size_t>(a.five_tuple.transport)];
    s.permissions_active += a.livePermissions(now);
    for (const auto& c : a.channels) {
      s.channels_active += c.expires_at > now ? 1 : 0;
    }
  });
  std::lock_guard lock(snapshot_mutex_);
  snapshot_ = s;
}

void Worker::sweep() {
  // Re-armed first: a sweep that throws (caught by the loop) does not end sweeping.
  if (!stopping_) {
    loop_.runAfter(kSweepInterval, [this] { sweep(); });
  }
  server_.expireAllocations();
  server_.reportUsage();
  publish();
  const auto now = clock_.now();
  std::vector<std::pair<TcpConnection*, const char*>> doomed;
  for (const auto& [raw, owned] : connections_) {
    if (const char* why = overdue(*raw, now)) {
      doomed.emplace_back(raw, why);
    }
  }
  for (const auto& [c, why] : doomed) {
    spdlog::debug("worker {}: closing tcp connection from {}: {}", index_,
                  c->fiveTuple().client.toString(), why);
    server_.countTimedOutConnection();
    onConnectionClosed(c);  // deletes its allocation, if any, and c
  }
}

const char* Worker::overdue(const TcpConnection& c, Clock::TimePoint now) {
  const auto idle_limit = config_.server.tcp_idle_timeout;
  const auto older = [&](const std::optional<Clock::TimePoint>& since, Clock::Duration limit) {
    return since && now - *since >= limit;
  };
  // A connection carrying an allocation lives as long as the allocation.
  // So does an RFC 6062 data connection, until either end closes it.
  if (now - c.lastActivity() >= idle_limit && !server_.hasAllocation(c.fiveTuple()) &&
      c.pipeId() == 0) {
    return "idle";
  }
  if (!c.established() && now - c.openedAt() >= config_.tls.handshake_timeout) {
    return "tls handshake not done";
  }
  if (older(c.stalledSince(), idle_limit)) {
    return "its output stayed unread";
  }
  if (older(c.partialFrameSince(), idle_limit)) {
    return "a frame stayed incomplete";
  }
  if (older(c.closingSince(), config_.server.shutdown_grace)) {
    return "closed, its output never flushed";
  }
  return nullptr;
}

}  // namespace turnpike::net
