#include "relay/app/server_process.h"

#include <event2/event.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <vector>

#include <prometheus/exposer.h>

#include "auth/call_credentials.h"
#include "control/control_plane.h"
#include "relay/app/allocation_directory.h"
#include "relay/app/allocation_events.h"
#include "relay/app/call_relay_port.h"
#include "relay/app/config_reload.h"
#include "relay/app/control_server.h"
#include "relay/app/fast_path_setup.h"
#include "relay/app/file_change.h"
#include "relay/app/metrics.h"
#include "relay/app/redis_usage_stream.h"
#include "relay/app/same_secret.h"
#include "relay/app/service_notify.h"
#include "relay/app/turn_setup.h"
#include "relay/base/clock.h"
#include "relay/net/accept_backoff.h"
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
void openAll(const std::vector<conf::Endpoint>& endpoints, turn::Transport transport,
             const conf::SocketBuffers& buffers, Listeners& out) {
  const auto kind = transport == turn::Transport::Udp ? net::SocketKind::Udp : net::SocketKind::Tcp;
  const std::string_view name = turn::transportName(transport);
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
      auto& list = transport == turn::Transport::Udp   ? sockets.udp
                   : transport == turn::Transport::Tcp ? sockets.tcp
                                                       : sockets.tls;
      list.push_back(net::ListenSocket{opened.fd, opened.local});
    }
    spdlog::info("listening on {} {}", name, address->toString());
  }
}

void closeAll(const Listeners& listeners) {
  for (const auto& sockets : listeners.per_worker) {
    for (const auto* list : {&sockets.udp, &sockets.tcp, &sockets.tls}) {
      for (const auto& s : *list) {
        ::close(s.fd);
      }
    }
  }
}

struct StopSignal {
  event_base* base = nullptr;
  ConfigReloader* reloader = nullptr;
  const ServiceNotify* notify = nullptr;
  int received = 0;
  // Draining (SIGUSR1 or POST /admin/drain).
  std::atomic<bool>* draining = nullptr;
  const turn::QuotaLedger* allocations = nullptr;  ///< live count, all workers
  std::chrono::seconds deadline{600};
  std::chrono::steady_clock::time_point drain_until;
  event* drain_timer = nullptr;
  event* drain_request = nullptr;  ///< activated from the control thread
};

// Once a second while draining: leave when no allocation is left or the
// deadline passed; the usual stop path then closes everything.
void checkDrained(evutil_socket_t /*fd*/, short /*what*/, void* arg) {
  auto* stop = static_cast<StopSignal*>(arg);
  const std::uint32_t open = stop->allocations->total();
  const bool late = std::chrono::steady_clock::now() >= stop->drain_until;
  if (open == 0 || late) {
    if (open == 0) {
      spdlog::info("drained: no allocation left");
    } else {
      spdlog::warn("drain deadline reached with {} allocations open", open);
    }
    stop->received = 0;  // drained: no signal to blame
    event_base_loopbreak(stop->base);
    return;
  }
  const timeval second{1, 0};
  evtimer_add(stop->drain_timer, &second);
}

// Starts the clock of a drain whose flag is already set.
void startDrainClock(StopSignal* stop) {
  stop->notify->stopping("draining");
  spdlog::warn(
      "draining: new allocations are turned away; open ones keep relaying; exiting when the "
      "last one is gone or in {}s",
      stop->deadline.count());
  stop->drain_until = std::chrono::steady_clock::now() + stop->deadline;
  checkDrained(-1, 0, stop);
}

void beginDrain(StopSignal* stop) {
  if (!stop->draining->exchange(true)) {
    startDrainClock(stop);
  }
}

// POST /admin/drain set the flag on the control thread (so /readyz and new
// Allocates see it before the 202 goes out); the clock runs here.
void onDrainRequested(evutil_socket_t /*fd*/, short /*what*/, void* arg) {
  startDrainClock(static_cast<StopSignal*>(arg));
}

// RELOADING=1 ... READY=1 around a reload, whatever its outcome: the
// process serves on with the old settings when it is refused.
ReloadOutcome reloadNotified(ConfigReloader& reloader, const ServiceNotify& notify) {
  notify.reloading();
  ReloadOutcome outcome = reloader.reload();  // logs what it did
  notify.ready(outcome.ok ? "serving; config reloaded" : "serving; last reload refused");
  return outcome;
}

// SIGTERM (systemd stop, Kubernetes, podman stop) drains; a SIGTERM during a
// drain, or SIGINT, stops at once. SIGUSR1 drains too.
void onSignal(evutil_socket_t signal_number, short /*what*/, void* arg) {
  auto* stop = static_cast<StopSignal*>(arg);
  if (signal_number == SIGHUP) {
    spdlog::info("SIGHUP: reloading the config");
    reloadNotified(*stop->reloader, *stop->notify);
    return;
  }
  const bool drain_first = signal_number == SIGUSR1 || signal_number == SIGTERM;
  if (drain_first && !stop->draining->load()) {
    spdlog::info("signal {}: draining", static_cast<int>(signal_number));
    beginDrain(stop);
    return;
  }
  if (signal_number == SIGUSR1) {
    return;  // already draining
  }
  stop->received = static_cast<int>(signal_number);
  event_base_loopbreak(stop->base);
}

void onWatchdog(evutil_socket_t /*fd*/, short /*what*/, void* arg) {
  static_cast<const ServiceNotify*>(arg)->watchdog();
}

struct CertificateWatch {
  ConfigReloader* reloader = nullptr;
  FileChange files;
};

void onCertificateLook(evutil_socket_t /*fd*/, short /*what*/, void* arg) {
  auto* watch = static_cast<CertificateWatch*>(arg);
  if (watch->files.changed()) {
    spdlog::info("tls: the certificate or key file changed on disk; reloading them");
    watch->reloader->reloadCertificates();  // logs what it did
  }
}

timeval toTimeval(std::chrono::microseconds interval) {
  return timeval{static_cast<time_t>(interval.count() / 1'000'000),
                 static_cast<suseconds_t>(interval.count() % 1'000'000)};
}

// Several civetweb threads and a request timeout: one silent connection must
// not hold the only thread and block every scrape.
constexpr const char* kMetricsThreads = "4";
constexpr const char* kMetricsRequestTimeoutMs = "5000";

std::unique_ptr<prometheus::Exposer> exposeMetrics(
    const conf::Config& config, const std::shared_ptr<MetricsCollector>& metrics) {
  const auto& e = *config.metrics_listen;
  const std::string host = e.ipv6 ? "[" + e.ip + "]" : e.ip;
  const std::string bind = host + ":" + std::to_string(e.port);
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(
        std::vector<std::string>{"listening_ports", bind, "num_threads", kMetricsThreads,
                                 "request_timeout_ms", kMetricsRequestTimeoutMs});
  } catch (const std::exception& error) {
    spdlog::critical("metrics.listen: cannot listen on {}: {}", bind, error.what());
    return nullptr;
  }
  exposer->RegisterCollectable(metrics);
  const auto& basic = config.metrics_auth;
  if (!basic.username.empty()) {
    exposer->RegisterAuth(
        [basic](const std::string& user, const std::string& password) {
          // Both compared whole, in time that does not depend on where they differ.
          const bool user_ok = sameSecret(user, basic.username);
          const bool password_ok = sameSecret(password, basic.password);
          return user_ok && password_ok;
        },
        "turnpike");
  }
  const auto ports = exposer->GetListeningPorts();
  spdlog::info("metrics on http://{}:{}/metrics{}", host, ports.empty() ? e.port : ports.front(),
               basic.username.empty() ? "" : " (basic auth)");
  return exposer;
}

// Each relayed TCP connection, client connection and relay socket is a file
// descriptor: take the hard limit, and say what that allows.
std::size_t relayPortCount(const conf::Config& config) {
  const std::size_t per_address = config.relay.ports.max - config.relay.ports.min + 1U;
  return per_address * std::max<std::size_t>(1, config.relay.addresses.size());
}

void raiseFileLimit(const conf::Config& config) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  const auto fds = static_cast<unsigned long long>(limit.rlim_cur);
  // Client TCP/TLS connections, relay sockets (one per UDP allocation, one
  // per TCP peer connection), and some for listeners, stores and push: an
  // estimate, as those are not all open yet. What is enforced is the
  // listeners' reserve: accepts pause kReserve descriptors short of the limit.
  constexpr unsigned long long kSpare = 256;
  const unsigned long long wanted =
      config.limits.total_connections + relayPortCount(config) + kSpare;
  const unsigned long long room = fds > kSpare ? fds - kSpare : 0;
  spdlog::info(
      "file descriptors: {}, room for about {} client connections and relay sockets together "
      "(about {} kept for listeners, files and stores; limits.total_connections {} plus {} "
      "relay ports wants {}); accepts pause {} short of the limit",
      fds, room, kSpare, config.limits.total_connections, relayPortCount(config), wanted,
      net::AcceptBackoff::kReserve);
  if (fds < wanted) {
    spdlog::warn(
        "file descriptors: {} is below the {} limits.total_connections and relay.ports ask for; "
        "raise LimitNOFILE (systemd) or ulimit -n",
        fds, wanted);
  }
}

// RFC 7065 URIs of this node's listeners, for TURN credentials: the bound
// address, or the advertised relay address where it listens on all.
std::vector<std::string> turnUris(const conf::Config& config, const net::WorkerSockets& sockets,
                                  const stun::TransportAddress& advertised) {
  if (!config.api.turn_uris.empty()) {
    return config.api.turn_uris;
  }
  const auto host = [&](const stun::TransportAddress& local) {
    const bool any = std::all_of(local.ip.begin(), local.ip.begin() + local.ipSize(),
                                 [](std::uint8_t b) { return b == 0; });
    stun::TransportAddress shown = any ? advertised : local;
    shown.port = local.port;
    return shown.toString();
  };
  std::vector<std::string> uris;
  for (const auto& s : sockets.udp) {
    uris.push_back("turn:" + host(s.local) + "?transport=udp");
  }
  for (const auto& s : sockets.tcp) {
    uris.push_back("turn:" + host(s.local) + "?transport=tcp");
  }
  for (const auto& s : sockets.tls) {
    uris.push_back("turns:" + host(s.local) + "?transport=tcp");
  }
  return uris;
}

}  // namespace

int runServer(const conf::Config& config, const std::string& config_path) {
  raiseFileLimit(config);
  const unsigned worker_count = conf::effectiveWorkers(config);
  Listeners listeners;
  listeners.per_worker.resize(worker_count);
  for (const auto transport : {turn::Transport::Udp, turn::Transport::Tcp, turn::Transport::Tls}) {
    const auto& endpoints = transport == turn::Transport::Udp   ? config.listen.udp
                            : transport == turn::Transport::Tcp ? config.listen.tcp
                                                                : config.listen.tls;
    if (listeners.ok) {
      openAll(endpoints, transport, config.server.socket_buffers, listeners);
    }
  }
  if (!listeners.ok) {
    closeAll(listeners);
    return 1;
  }
  SteadyClock clock;
  // The call control plane opens its store before the relay is built: the
  // relay checks the call-bound credentials it signs and refuses those of
  // calls that ended, restart or not.
  std::unique_ptr<control::ControlPlane> plane;
  std::shared_ptr<auth::CallRevocations> revocations;
  std::shared_ptr<const auth::CredentialProvider> call_credentials;
  if (!config.api.listen.empty()) {
    std::string error;
    plane = control::ControlPlane::open(config, error);
    if (!plane) {
      spdlog::critical("{}", error);
      closeAll(listeners);
      return 1;
    }
    revocations = std::make_shared<auth::CallRevocations>();
    for (const auto& r : plane->revocations()) {
      revocations->add(r.call_id, r.until);
    }
    call_credentials = std::make_shared<auth::CallCredentials>(
        plane->turnSecret(), std::chrono::duration_cast<std::chrono::seconds>(config.auth.max_ttl),
        std::chrono::duration_cast<std::chrono::seconds>(config.calls.max_duration), revocations);
  }
  auto shared = buildSharedState(config, clock, call_credentials);
  if (!shared) {
    listeners.ok = false;
  }
  if (listeners.ok && !config.listen.tls.empty()) {
    std::string error;
    shared->tls = net::TlsContext::create(config.tls, error);
    if (!shared->tls) {
      spdlog::critical("tls: {}", error);
      listeners.ok = false;
    } else if (shared->tls->selfSigned()) {
      spdlog::warn(
          "tls: no certificate configured; generated a self-signed one for local use "
          "(sha256 {}). Set tls.certificate and tls.private_key for clients to trust it",
          shared->tls->fingerprint());
    } else {
      spdlog::info("tls: certificate {} (sha256 {})", config.tls.certificate,
                   shared->tls->fingerprint());
    }
    if (config.tls.min_version == "1.0" || config.tls.min_version == "1.1") {
      spdlog::warn("tls: TLS {} accepted (tls.min_version): for legacy clients only",
                   config.tls.min_version);
    }
  }
  if (listeners.ok) {
    bool failed = false;
    shared->kernel = startFastPath(config.relay.fast_path, failed);
    listeners.ok = !failed;
  }
  if (!listeners.ok) {
    closeAll(listeners);
    return 1;
  }
  // Declared before the workers so it outlives them: their last usage
  // records (allocations deleted at shutdown) are written before it goes.
  ProcessTally tally;
  std::unique_ptr<RedisUsageStream> usage_stream;
  if (config.redis.address) {
    usage_stream = std::make_unique<RedisUsageStream>(config.redis, config.usage.buffer, tally);
  }
  AllocationEvents events(config.node, clock, usage_stream.get());
  std::unique_ptr<CallAllocationNotes> call_notes;
  std::vector<turn::AllocationObserver*> observers{&events};
  if (plane) {
    call_notes = std::make_unique<CallAllocationNotes>(*plane);
    observers.push_back(call_notes.get());
  }
  ObserverFanout observer(std::move(observers));
  const auto uris =
      turnUris(config, listeners.per_worker.front(), shared->relays.front().advertised);
  std::vector<std::unique_ptr<net::Worker>> workers;
  std::vector<net::Worker*> worker_list;
  for (unsigned i = 0; i < worker_count; ++i) {
    workers.push_back(std::make_unique<net::Worker>(i, config, clock, *shared, observer,
                                                    std::move(listeners.per_worker[i])));
    worker_list.push_back(workers.back().get());
  }
  ConfigReloader reloader(config_path, config, *shared, worker_list);
  // The call API's own context; reloads and the file watch reach it too.
  std::unique_ptr<net::TlsContext> api_tls;
  if (plane && config.api.tls) {
    std::string error;
    api_tls = net::TlsContext::create(config.tls, error);
    if (!api_tls) {
      spdlog::critical("api: {}", error);
      return 1;  // the workers have not started
    }
    reloader.alsoReload(api_tls.get());
  }
  ServiceNotify notify;
  AllocationDirectory directory(worker_list, clock);
  std::unique_ptr<prometheus::Exposer> exposer;
  std::shared_ptr<MetricsCollector> metrics;  // the exposer holds it weakly
  if (config.metrics_listen) {
    std::vector<const net::Worker*> views(worker_list.begin(), worker_list.end());
    metrics = std::make_shared<MetricsCollector>(
        std::move(views), *shared,
        MetricsCollector::Operations{.reloader = &reloader,
                                     .usage = usage_stream.get(),
                                     .tally = &tally,
                                     .calls = plane ? &plane->stats() : nullptr,
                                     .api_tls = api_tls.get()});
    exposer = exposeMetrics(config, metrics);
    if (!exposer) {
      return 1;
    }
  }

  // Workers never take signals: the main thread handles them all.
  sigset_t blocked;
  sigemptyset(&blocked);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGPIPE}) {
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
  stop.reloader = &reloader;
  stop.notify = &notify;
  stop.draining = shared->draining.get();
  stop.allocations = shared->quotas.get();
  stop.deadline = std::chrono::duration_cast<std::chrono::seconds>(config.drain.deadline);
  stop.drain_timer = evtimer_new(stop.base, &checkDrained, &stop);
  stop.drain_request = event_new(stop.base, -1, 0, &onDrainRequested, &stop);
  std::unique_ptr<ControlServer> control;
  if (config.control.listen) {
    std::string error;
    control = ControlServer::start(
        config.control,
        {.draining = [&stop] { return stop.draining->load(); },
         .drain =
             [&stop] {
               if (!stop.draining->exchange(true)) {
                 event_active(stop.drain_request, EV_READ, 0);
               }
             },
         .reload = [&reloader, &notify] { return reloadNotified(reloader, notify); },
         .list = [&directory](const std::string& user,
                              std::size_t limit) { return directory.list(user, limit); },
         .show = [&directory](std::uint64_t id) { return directory.show(id); },
         .kick = [&directory](const std::string& user,
                              std::optional<std::uint64_t> id) { return directory.kick(user, id); },
         .call = plane ? std::function<std::optional<nlohmann::json>(const std::string&)>(
                             [p = plane.get()](const std::string& id) { return p->adminCall(id); })
                       : nullptr},
        tally, error);
    if (!control) {
      spdlog::critical("control.listen: {}", error);
      for (auto& w : workers) {
        w->requestStop();
      }
      return 1;
    }
    reloader.onApplied([c = control.get()](const conf::Config& next) {
      c->setAdminToken(next.control.admin_token);
    });
    spdlog::info("control on http://{}:{} (/healthz, /readyz{})", config.control.listen->ip,
                 control->port(),
                 config.control.admin_token.empty() ? "; admin endpoints off: no admin_token"
                                                    : ", /admin/*");
  }
  std::unique_ptr<CallRelayPort> relay_port;
  if (plane) {
    std::string error;
    relay_port = std::make_unique<CallRelayPort>(
        worker_list, revocations,
        [p = plane.get()](std::function<void()> task) { p->post(std::move(task)); });
    plane->setNodeLoad([&worker_list, draining = shared->draining.get()] {
      control::cluster::NodeLoad load;
      for (const net::Worker* w : worker_list) {
        const net::WorkerSnapshot s = w->snapshot();
        for (const auto active : s.allocations_active) {
          load.allocations += active;
        }
        for (const auto& r : s.counters.relayed) {
          load.relayed_bytes += r.bytes_to_peer + r.bytes_from_peer;
        }
      }
      load.draining = draining->load();
      return load;
    });
    if (!plane->start(*relay_port, api_tls ? api_tls->context() : nullptr, uris, error)) {
      spdlog::critical("api: {}", error);
      for (auto& w : workers) {
        w->requestStop();
      }
      return 1;
    }
    const auto ports = plane->ports();
    for (std::size_t i = 0; i < ports.size(); ++i) {
      const auto& e = config.api.listen[i];
      spdlog::info("api on {}://{}:{} (/v1, WebSocket /v1/events){}",
                   config.api.tls ? "https" : "http", e.ipv6 ? "[" + e.ip + "]" : e.ip, ports[i],
                   api_tls && api_tls->selfSigned() ? "; self-signed certificate" : "");
    }
  }
  if (plane) {
    reloader.onApplied([p = plane.get()](const conf::Config& next) {
      std::string error;
      if (!p->reloadPush(next.push, error)) {
        spdlog::error("reload: push credentials kept: {}", error);
      }
    });
  }
  std::vector<event*> signal_events;
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) {
    event* e = evsignal_new(stop.base, s, &onSignal, &stop);
    evsignal_add(e, nullptr);
    signal_events.push_back(e);
  }
  event* watchdog = nullptr;
  if (notify.watchdogInterval().count() > 0) {
    watchdog = event_new(stop.base, -1, EV_PERSIST, &onWatchdog, &notify);
    const timeval every = toTimeval(notify.watchdogInterval());
    evtimer_add(watchdog, &every);
  }
  CertificateWatch certificate_watch{
      .reloader = &reloader, .files = FileChange({config.tls.certificate, config.tls.private_key})};
  event* certificate_look = nullptr;
  if (!config.tls.certificate.empty() && config.tls.watch_interval.count() > 0 &&
      (shared->tls || api_tls)) {
    certificate_look = event_new(stop.base, -1, EV_PERSIST, &onCertificateLook, &certificate_watch);
    const timeval every =
        toTimeval(std::chrono::duration_cast<std::chrono::microseconds>(config.tls.watch_interval));
    evtimer_add(certificate_look, &every);
  }
  spdlog::info("turnpike {} running with {} workers", TURNPIKE_VERSION, worker_count);
  notify.ready("serving");
  event_base_dispatch(stop.base);
  if (stop.received != 0) {
    spdlog::info("signal {} received, stopping", stop.received);
  } else {
    spdlog::info("drain over, stopping");
  }
  notify.stopping("stopping");
  for (event* e : {watchdog, certificate_look}) {
    if (e != nullptr) {
      event_free(e);
    }
  }

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
      total.denied_peer, total.rate_limited, total.allocations_created,
      total.relayedTotal().bytes_to_peer, total.relayedTotal().packets_to_peer,
      total.relayedTotal().bytes_from_peer, total.relayedTotal().packets_from_peer);
  control.reset();
  // After the workers: their last deletions were noted on its loop.
  if (plane) {
    plane->stop();
  }
  exposer.reset();
  usage_stream.reset();  // writes what the workers' last deletions left queued
  for (event* e : signal_events) {
    event_free(e);
  }
  event_free(stop.drain_timer);
  event_free(stop.drain_request);
  event_base_free(stop.base);
  return 0;
}

}  // namespace turnpike::app
