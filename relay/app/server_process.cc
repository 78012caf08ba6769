#include "relay/app/server_process.h"

#include <event2/event.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <memory>
#include <vector>

#include "relay/app/turn_setup.h"
#include "relay/base/clock.h"
#include "relay/net/listen_socket.h"
#include "relay/net/socket_address.h"
#include "relay/net/worker.h"

namespace turnpike::app {
namespace {

struct Listeners {
  std::vector<net::WorkerSockets> per_worker;
  bool ok = true;
};

// Opens one socket per worker per listen address. A port of 0 is resolved by
// the first worker's bind and reused by the others so they share one port.
void openAll(const std::vector<conf::Endpoint>& endpoints, net::SocketKind kind, const char* name,
             const conf::SocketBuffers& buffers, Listeners& out) {
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    auto address = net::fromEndpoint(endpoints[i]);
    if (!address) {
      spdlog::critical("listen.{}[{}]: cannot use {}", name, i, endpoints[i].toString());
      out.ok = false;
      return;
    }
    for (auto& sockets : out.per_worker) {
      const auto opened = net::openListenSocket(kind, *address);
      if (!opened.error.empty()) {
        spdlog::critical("listen.{}[{}]: {} on {}", name, i, opened.error, address->toString());
        out.ok = false;
        return;
      }
      if (kind == net::SocketKind::Udp) {
        net::applySocketBuffers(opened.fd, buffers.udp_receive, buffers.udp_send);
      }
      address->port = opened.local.port;
      (kind == net::SocketKind::Udp ? sockets.udp : sockets.tcp)
          .push_back(net::ListenSocket{opened.fd, opened.local});
    }
    spdlog::info("listening on {} {}", name, address->toString());
  }
}

struct StopSignal {
  event_base* base = nullptr;
  int received = 0;
};

void onSignal(evutil_socket_t signal_number, short /*what*/, void* arg) {
  auto* stop = static_cast<StopSignal*>(arg);
  if (signal_number == SIGHUP) {
    spdlog::warn("SIGHUP: configuration reload is not supported yet; ignoring");
    return;
  }
  stop->received = static_cast<int>(signal_number);
  event_base_loopbreak(stop->base);
}

}  // namespace

int runServer(const conf::Config& config) {
  const unsigned worker_count = conf::effectiveWorkers(config);
  Listeners listeners;
  listeners.per_worker.resize(worker_count);
  openAll(config.listen.udp, net::SocketKind::Udp, "udp", config.server.socket_buffers, listeners);
  if (listeners.ok) {
    openAll(config.listen.tcp, net::SocketKind::Tcp, "tcp", config.server.socket_buffers,
            listeners);
  }
  SteadyClock clock;
  auto shared = buildSharedState(config, clock);
  if (!shared) {
    listeners.ok = false;
  }
  LoggingObserver observer;
  std::vector<std::unique_ptr<net::Worker>> workers;
  if (!listeners.ok) {
    for (auto& sockets : listeners.per_worker) {
      for (const auto& s : sockets.udp) {
        ::close(s.fd);
      }
      for (const auto& s : sockets.tcp) {
        ::close(s.fd);
      }
    }
    return 1;
  }
  for (unsigned i = 0; i < worker_count; ++i) {
    workers.push_back(std::make_unique<net::Worker>(i, config, clock, *shared, observer,
                                                    std::move(listeners.per_worker[i])));
  }

  // Workers never take signals: the main thread handles them all.
  sigset_t blocked;
  sigemptyset(&blocked);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGPIPE}) {
    sigaddset(&blocked, s);
  }
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
  for (auto& w : workers) {
    w->start();
  }
  pthread_sigmask(SIG_UNBLOCK, &blocked, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  StopSignal stop;
  stop.base = event_base_new();
  std::vector<event*> signal_events;
  for (int s : {SIGTERM, SIGINT, SIGHUP}) {
    event* e = evsignal_new(stop.base, s, &onSignal, &stop);
    evsignal_add(e, nullptr);
    signal_events.push_back(e);
  }
  spdlog::info("turnpike {} running with {} workers", TURNPIKE_VERSION, worker_count);
  event_base_dispatch(stop.base);
  spdlog::info("signal {} received, stopping", stop.received);

  for (auto& w : workers) {
    w->requestStop();
  }
  turn::ServerCounters total;
  for (auto& w : workers) {
    w->join();
    total += w->counters();
  }
  spdlog::info(
      "stopped: {} requests, {} success and {} error responses, {} indications, {} malformed, "
      "{} unexpected, {} without allocation, {} without permission, {} denied peer, "
      "{} rate limited; {} allocations created; relayed {}B/{}p to peers, {}B/{}p from peers",
      total.requests, total.success_responses, total.error_responses, total.indications,
      total.malformed, total.unexpected, total.no_allocation, total.no_permission,
      total.denied_peer, total.rate_limited, total.allocations_created, total.bytes_to_peer,
      total.packets_to_peer, total.bytes_from_peer, total.packets_from_peer);
  for (event* e : signal_events) {
    event_free(e);
  }
  event_base_free(stop.base);
  return 0;
}

}  // namespace turnpike::app
