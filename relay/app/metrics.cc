#include "relay/app/metrics.h"

#include "relay/app/call_metrics.h"
#include "relay/app/fast_path_setup.h"
#include "relay/app/metric_family.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

namespace turnpike::app {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr std::array<turn::Transport, 3> kTransports = {turn::Transport::Udp, turn::Transport::Tcp,
                                                        turn::Transport::Tls};

// Method names for turnpike_stun_requests_total, in ServerCounters::kMethods order.
constexpr std::array<const char*, 8> kMethodNames = {"binding",           "allocate",     "refresh",
                                                     "create_permission", "channel_bind", "connect",
                                                     "connection_bind",   "other"};

MetricFamily family(const char* name, const char* help, MetricType type) {
  return metricFamily(name, help, type);
}

void add(MetricFamily& f, double value, std::vector<ClientMetric::Label> labels = {}) {
  addSample(f, value, std::move(labels));
}

std::string transportLabel(turn::Transport t) { return std::string(turn::transportName(t)); }

// Process figures from /proc, as the Prometheus client conventions name them.
void addProcessMetrics(std::vector<MetricFamily>& out,
                       std::chrono::system_clock::time_point start) {
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  double cpu_seconds = 0;
  double rss_bytes = 0;
  if (close != std::string::npos) {
    std::istringstream fields(text.substr(close + 2));
    std::vector<std::string> f;
    for (std::string s; fields >> s;) {
      f.push_back(s);
    }
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    if (f.size() > 21) {
      cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;  // utime + stime
      rss_bytes = std::stod(f[21]) * static_cast<double>(::sysconf(_SC_PAGESIZE));
    }
  }
  std::size_t fds = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  auto cpu = family("process_cpu_seconds_total", "User and system CPU time of the process.",
                    MetricType::Counter);
  add(cpu, cpu_seconds);
  auto rss =
      family("process_resident_memory_bytes", "Resident memory of the process.", MetricType::Gauge);
  add(rss, rss_bytes);
  auto open_fds = family("process_open_fds", "Open file descriptors.", MetricType::Gauge);
  add(open_fds, static_cast<double>(fds));
  rlimit limit{};
  auto max_fds =
      family("process_max_fds", "File descriptor limit (RLIMIT_NOFILE, soft).", MetricType::Gauge);
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    add(max_fds, static_cast<double>(limit.rlim_cur));
  }
  auto started =
      family("process_start_time_seconds", "Start time, Unix seconds.", MetricType::Gauge);
  add(started, std::chrono::duration<double>(start.time_since_epoch()).count());
  for (auto* f : {&cpu, &rss, &open_fds, &max_fds, &started}) {
    out.push_back(std::move(*f));
  }
}

}  // namespace

MetricsCollector::MetricsCollector(std::vector<const net::Worker*> workers,
                                   const net::SharedState& shared, Operations operations)
    : workers_(std::move(workers)), shared_(shared), operations_(operations) {}

void MetricsCollector::addOperations(std::vector<MetricFamily>& out) const {
  auto draining = family("turnpike_draining", "1 while the node drains (SIGUSR1, /admin/drain).",
                         MetricType::Gauge);
  add(draining, shared_.draining->load() ? 1 : 0);
  out.push_back(std::move(draining));
  if (operations_.reloader != nullptr) {
    auto reloads =
        family("turnpike_config_reloads_total",
               "Config reloads (SIGHUP, /admin/reload), by result.", MetricType::Counter);
    add(reloads, static_cast<double>(operations_.reloader->succeeded()), {{"result", "success"}});
    add(reloads, static_cast<double>(operations_.reloader->failed()), {{"result", "failure"}});
    out.push_back(std::move(reloads));
  }
  if (operations_.usage != nullptr) {
    const RedisUsageStream& u = *operations_.usage;
    auto records = family("turnpike_usage_records_total",
                          "Usage records sent to Redis, by result (dropped: buffer full or "
                          "refused by Redis).",
                          MetricType::Counter);
    add(records, static_cast<double>(u.written()), {{"result", "written"}});
    add(records, static_cast<double>(u.dropped()), {{"result", "dropped"}});
    auto queued = family("turnpike_usage_records_queued", "Usage records waiting for Redis.",
                         MetricType::Gauge);
    add(queued, static_cast<double>(u.queued()));
    auto up = family("turnpike_redis_up", "1 while connected to store.redis.", MetricType::Gauge);
    add(up, u.connected() ? 1 : 0);
    for (auto* f : {&records, &queued, &up}) {
      out.push_back(std::move(*f));
    }
  }
}

void MetricsCollector::addTally(std::vector<MetricFamily>& out, std::uint64_t worker_errors) const {
  auto errors = family("turnpike_internal_errors_total",
                       "Exceptions caught at a thread's edge (logged; the thread carried on), "
                       "by component.",
                       MetricType::Counter);
  add(errors, static_cast<double>(worker_errors), {{"component", "worker"}});
  if (operations_.tally != nullptr) {
    const ProcessTally& t = *operations_.tally;
    add(errors, static_cast<double>(t.control_errors.load()), {{"component", "control"}});
    add(errors, static_cast<double>(t.metrics_errors.load()), {{"component", "metrics"}});
    add(errors, static_cast<double>(t.redis_errors.load()), {{"component", "redis"}});
    auto responses = family("turnpike_control_responses_total",
                            "HTTP answers on control.listen, by status code.", MetricType::Counter);
    for (std::size_t i = 0; i < ProcessTally::kStatuses.size(); ++i) {
      const int code = ProcessTally::kStatuses[i];
      add(responses, static_cast<double>(t.control_responses[i].load()),
          {{"code", code == 0 ? "other" : std::to_string(code)}});
    }
    out.push_back(std::move(responses));
  }
  out.push_back(std::move(errors));
}

// Runs on a civetweb thread: nothing thrown may leave it.
std::vector<MetricFamily> MetricsCollector::Collect() const {
  try {
    return collectAll();
  } catch (const std::exception& error) {
    spdlog::error("metrics: internal error while collecting: {}", error.what());
  } catch (...) {
    spdlog::error("metrics: internal error while collecting");
  }
  if (operations_.tally != nullptr) {
    ++operations_.tally->metrics_errors;
  }
  return {};
}

// The kernel data path: whether it is on, its flows, and its packets by
// verdict; what it relayed is in turnpike_relay_* too, as if user space had.
void MetricsCollector::addFastPath(std::vector<MetricFamily>& out,
                                   const turn::ServerCounters& c) const {
  const FastPathStats stats = fastPathStats(shared_.kernel.get());
  auto on =
      family("turnpike_fast_path_enabled",
             "1 when the kernel data path is loaded (relay.fast_path), else 0.", MetricType::Gauge);
  add(on, stats.on ? 1 : 0);
  auto flows = family("turnpike_fast_path_flows", "Channel bindings relayed in the kernel now.",
                      MetricType::Gauge);
  add(flows, static_cast<double>(stats.flows));
  auto interfaces = family("turnpike_fast_path_interfaces",
                           "Interfaces the kernel data path is attached to.", MetricType::Gauge);
  add(interfaces, static_cast<double>(stats.interfaces));
  auto installs = family("turnpike_fast_path_flow_installs_total",
                         "Channels handed to the kernel, and those it refused (they stay in "
                         "user space; a refused channel counts once).",
                         MetricType::Counter);
  add(installs, static_cast<double>(c.kernel_flows_installed), {{"result", "installed"}});
  add(installs, static_cast<double>(c.kernel_flows_refused), {{"result", "refused"}});
  auto bytes = family("turnpike_fast_path_relayed_bytes_total",
                      "Payload bytes the kernel relayed (part of turnpike_relay_bytes_total).",
                      MetricType::Counter);
  add(bytes, static_cast<double>(c.kernel_relayed.bytes_to_peer),
      {{"direction", "client_to_peer"}});
  add(bytes, static_cast<double>(c.kernel_relayed.bytes_from_peer),
      {{"direction", "peer_to_client"}});
  auto packets = family("turnpike_fast_path_packets_total",
                        "Packets the kernel program saw, by verdict (relayed, or left to user "
                        "space and why).",
                        MetricType::Counter);
  for (const auto& [verdict, n] : stats.verdicts) {
    add(packets, static_cast<double>(n), {{"verdict", verdict}});
  }
  for (auto* f : {&on, &flows, &interfaces, &installs, &bytes, &packets}) {
    out.push_back(std::move(*f));
  }
}

std::vector<MetricFamily> MetricsCollector::collectAll() const {
  net::WorkerSnapshot total;
  for (const net::Worker* w : workers_) {
    const net::WorkerSnapshot s = w->snapshot();
    total.counters += s.counters;
    for (std::size_t i = 0; i < 3; ++i) {
      total.allocations_active[i] += s.allocations_active[i];
    }
    total.permissions_active += s.permissions_active;
    total.channels_active += s.channels_active;
    total.loop_errors += s.loop_errors;
  }
  const turn::ServerCounters& c = total.counters;
  std::vector<MetricFamily> out;

  auto bytes =
      family("turnpike_relay_bytes_total",
             "Payload bytes relayed, by direction and client transport.", MetricType::Counter);
  auto packets = family("turnpike_relay_packets_total",
                        "Datagrams (or TCP reads, for RFC 6062 data connections) relayed.",
                        MetricType::Counter);
  auto active = family("turnpike_allocations_active", "Allocations open now, by transport.",
                       MetricType::Gauge);
  auto requests = family("turnpike_stun_requests_total", "STUN requests, by method and transport.",
                         MetricType::Counter);
  for (const auto t : kTransports) {
    const auto i = static_cast<std::size_t>(t);
    const auto& r = c.relayed[i];
    const std::string tl = transportLabel(t);
    add(bytes, static_cast<double>(r.bytes_to_peer),
        {{"direction", "client_to_peer"}, {"transport", tl}});
    add(bytes, static_cast<double>(r.bytes_from_peer),
        {{"direction", "peer_to_client"}, {"transport", tl}});
    add(packets, static_cast<double>(r.packets_to_peer),
        {{"direction", "client_to_peer"}, {"transport", tl}});
    add(packets, static_cast<double>(r.packets_from_peer),
        {{"direction", "peer_to_client"}, {"transport", tl}});
    add(active, static_cast<double>(total.allocations_active[i]), {{"transport", tl}});
    for (std::size_t m = 0; m < kMethodNames.size(); ++m) {
      add(requests, static_cast<double>(c.requests_by_method[m][i]),
          {{"method", kMethodNames[m]}, {"transport", tl}});
    }
  }
  auto errors = family("turnpike_turn_errors_total", "Error responses, by method and code.",
                       MetricType::Counter);
  for (std::size_t m = 0; m < kMethodNames.size(); ++m) {
    for (std::size_t e = 0; e < turn::ServerCounters::kErrorCodes.size(); ++e) {
      const std::uint64_t n = c.errors_by_code[m][e];
      if (n != 0) {
        const std::uint16_t code = turn::ServerCounters::kErrorCodes[e];
        add(errors, static_cast<double>(n),
            {{"method", kMethodNames[m]}, {"code", code == 0 ? "other" : std::to_string(code)}});
      }
    }
  }
  // The 401/438 challenge is part of every allocation; anything else failed it.
  const auto allocate = turn::ServerCounters::methodIndex(0x003);
  std::uint64_t failed = 0;
  for (std::size_t e = 0; e < turn::ServerCounters::kErrorCodes.size(); ++e) {
    const std::uint16_t code = turn::ServerCounters::kErrorCodes[e];
    if (code != 401 && code != 438) {
      failed += c.errors_by_code[allocate][e];
    }
  }
  auto allocations =
      family("turnpike_allocations_total", "Allocate outcomes.", MetricType::Counter);
  add(allocations, static_cast<double>(c.allocations_created), {{"result", "success"}});
  add(allocations, static_cast<double>(failed), {{"result", "error"}});
  auto kept = family("turnpike_relay_sockets_kept_total",
                     "Relay sockets of ended allocations given to a new one (reused), and "
                     "those closed instead because a peer still sent to them (spoilt).",
                     MetricType::Counter);
  add(kept, static_cast<double>(c.relay_sockets_reused), {{"result", "reused"}});
  add(kept, static_cast<double>(c.relay_sockets_spoilt), {{"result", "spoilt"}});

  MetricFamily duration = family("turnpike_allocation_duration_seconds",
                                 "Lifetime of deleted allocations.", MetricType::Histogram);
  {
    ClientMetric m;
    std::uint64_t cumulative = 0;
    const auto& h = c.allocation_durations;
    for (std::size_t i = 0; i < h.counts.size(); ++i) {
      cumulative += h.counts[i];
      ClientMetric::Bucket b;
      b.cumulative_count = cumulative;
      b.upper_bound = i < h.kBounds.size() ? h.kBounds[i] : std::numeric_limits<double>::infinity();
      m.histogram.bucket.push_back(b);
    }
    m.histogram.sample_count = cumulative;
    m.histogram.sample_sum = h.sum_seconds;
    duration.metric.push_back(std::move(m));
  }
  auto permissions =
      family("turnpike_permissions_active", "Permissions in force now.", MetricType::Gauge);
  add(permissions, static_cast<double>(total.permissions_active));
  auto channels =
      family("turnpike_channels_active", "Channel bindings in force now.", MetricType::Gauge);
  add(channels, static_cast<double>(total.channels_active));
  addFastPath(out, c);

  auto auth = family("turnpike_auth_failures_total", "Authentication failures, by reason.",
                     MetricType::Counter);
  add(auth, static_cast<double>(c.auth_bad_integrity), {{"reason", "bad_integrity"}});
  add(auth, static_cast<double>(c.auth_stale_nonce), {{"reason", "stale_nonce"}});
  add(auth, static_cast<double>(c.auth_expired_username), {{"reason", "expired_username"}});
  add(auth, static_cast<double>(c.auth_call_ended), {{"reason", "call_ended"}});
  add(auth, static_cast<double>(c.auth_unknown_user), {{"reason", "unknown_user"}});
  add(auth, static_cast<double>(c.auth_quota), {{"reason", "quota"}});

  auto dropped =
      family("turnpike_dropped_packets_total", "Packets dropped, by reason.", MetricType::Counter);
  add(dropped, static_cast<double>(c.no_permission), {{"reason", "no_permission"}});
  add(dropped, static_cast<double>(c.no_allocation), {{"reason", "no_allocation"}});
  add(dropped, static_cast<double>(c.malformed), {{"reason", "malformed"}});
  add(dropped, static_cast<double>(c.bandwidth_limit), {{"reason", "bandwidth_limit"}});
  add(dropped, static_cast<double>(c.denied_peer), {{"reason", "denied_peer"}});
  add(dropped, static_cast<double>(c.rate_limited), {{"reason", "rate_limited"}});
  add(dropped, static_cast<double>(c.slow_reader), {{"reason", "slow_reader"}});
  add(dropped, static_cast<double>(c.too_big), {{"reason", "too_big"}});

  auto refused = family("turnpike_connections_refused_total",
                        "TCP/TLS connections closed at once: over the per-source or total cap, "
                        "or out of file descriptors but for the reserve.",
                        MetricType::Counter);
  add(refused, static_cast<double>(c.connections_refused));
  auto timed_out = family("turnpike_connections_timed_out_total",
                          "TCP/TLS connections closed by the server: idle, output left unread, a "
                          "frame left incomplete, a TLS handshake or a close not finished in time.",
                          MetricType::Counter);
  add(timed_out, static_cast<double>(c.connections_timed_out));
  auto tcp_peers_refused =
      family("turnpike_tcp_peers_refused_total",
             "Incoming RFC 6062 peer connections closed: over limits.tcp_peers_per_allocation or "
             "limits.tcp_peers_per_user, or out of file descriptors but for the reserve.",
             MetricType::Counter);
  add(tcp_peers_refused, static_cast<double>(c.tcp_peers_refused));
  std::size_t in_use = 0;
  std::size_t capacity = 0;
  for (const auto& pool : shared_.port_pools) {
    in_use += pool->inUse();
    capacity += pool->capacity();
  }
  auto ports_in_use =
      family("turnpike_relay_ports_in_use", "Relay ports held now.", MetricType::Gauge);
  add(ports_in_use, static_cast<double>(in_use));
  auto ports_total =
      family("turnpike_relay_ports_total", "Relay ports configured.", MetricType::Gauge);
  add(ports_total, static_cast<double>(capacity));
  auto build =
      family("turnpike_build_info", "Always 1; the version is the label.", MetricType::Gauge);
  add(build, 1, {{"version", TURNPIKE_VERSION}});
  auto expiry = family("turnpike_tls_certificate_expiry_timestamp_seconds",
                       "notAfter of the certificate served, Unix seconds, by listener (turn: "
                       "listen.tls, api: the call API).",
                       MetricType::Gauge);
  using Listener = std::pair<const char*, const net::TlsContext*>;
  for (const auto& [listener, tls] :
       {Listener{"turn", shared_.tls.get()}, Listener{"api", operations_.api_tls}}) {
    if (tls != nullptr && tls->notAfter() != 0) {
      add(expiry, static_cast<double>(tls->notAfter()), {{"listener", listener}});
    }
  }

  for (auto* f : {&bytes, &packets, &active, &requests, &errors, &allocations, &duration,
                  &permissions, &channels, &auth, &dropped, &refused, &timed_out,
                  &tcp_peers_refused, &ports_in_use, &ports_total, &build, &expiry}) {
    out.push_back(std::move(*f));
  }
  addOperations(out);
  if (operations_.calls != nullptr) {
    addCallMetrics(out, *operations_.calls);
  }
  addTally(out, total.loop_errors);
  addProcessMetrics(out, started_);
  return out;
}

}  // namespace turnpike::app
