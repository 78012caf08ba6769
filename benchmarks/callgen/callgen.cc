// turnpike-callgen: call-control load against Turnpike's call API (plain
// HTTP/1.1 + WebSocket). `--mode flows`: complete call flows between device
// pairs, open loop at --rate or closed loop with --concurrency, with the
// create -> call.incoming latency. `--mode idle`: many idle WebSockets and
// the server's VmRSS per connection. See benchmarks/README.md ("Calls").

#include <sys/resource.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "benchmarks/callgen/device_fleet.h"
#include "benchmarks/callgen/flow_runner.h"
#include "benchmarks/callgen/idle_runner.h"

namespace turnpike::callgen {
namespace {

struct Options {
  std::string server = "127.0.0.1:8443";
  std::string callee_server;  ///< flows: callees' API listener; empty: --server
  std::string secret;
  std::string mode = "flows";
  std::string user_prefix;
  std::string json;
  double setup_timeout = 120;
  std::size_t parallel = 100;  // below the API listener's accept backlog: no SYN retries
  int server_pid = 0;
  // flows
  std::size_t users = 100;  // caller/callee pairs
  FlowOptions flows;
  // idle
  std::size_t connections = 1000;
  std::size_t devices_per_user = 5;
  std::size_t http_connections = 16;
  double hold = 5;
};

/// Raises the soft descriptor limit to the hard one; returns the new limit.
rlim_t raiseFileLimit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

double field(const nlohmann::json& j, const char* a, const char* b) {
  return j.contains(a) && j[a].contains(b) ? j[a][b].get<double>() : 0.0;
}

/// ", 3 errors (timeout_incoming 2, create_500 1)": the kinds, most frequent first.
std::string errorSummary(const ErrorCounts& errors) {
  std::string out = ", " + std::to_string(errors.total()) + " errors";
  if (errors.total() == 0) {
    return out;
  }
  std::vector<std::pair<std::uint64_t, std::string>> kinds;
  const nlohmann::json by_kind = errors.toJson();
  for (const auto& [kind, n] : by_kind.items()) {
    kinds.emplace_back(n.get<std::uint64_t>(), kind);
  }
  std::sort(kinds.rbegin(), kinds.rend());
  out += " (";
  for (std::size_t i = 0; i < kinds.size() && i < 4; ++i) {
    out += (i > 0 ? ", " : "") + kinds[i].second + " " + std::to_string(kinds[i].first);
  }
  return out + (kinds.size() > 4 ? ", ...)" : ")");
}

void printFlowsLine(const nlohmann::json& j, const ErrorCounts& errors) {
  const double ms = 1000.0;
  std::fprintf(stderr,
               "flows (%s loop): %.1f/s completed (%llu in %.1f s)%s; call.incoming "
               "p50 %.2f ms p90 %.2f ms p99 %.2f ms max %.2f ms",
               j["loop"].get<std::string>().c_str(), j["flows_per_second"].get<double>(),
               j["completed_in_window"].get<unsigned long long>(), j["duration_s"].get<double>(),
               errorSummary(errors).c_str(), field(j, "incoming_latency", "p50_us") / ms,
               field(j, "incoming_latency", "p90_us") / ms,
               field(j, "incoming_latency", "p99_us") / ms,
               field(j, "incoming_latency", "max_us") / ms);
  if (j.contains("offered")) {
    std::fprintf(stderr, "; %llu offered, %llu skipped, start lag p99 %.2f ms",
                 j["offered"].get<unsigned long long>(), j["skipped"].get<unsigned long long>(),
                 field(j, "start_lag", "p99_us") / ms);
  }
  if (j.contains("server_cpu_us_per_flow")) {
    std::fprintf(stderr, "; server %.0f us CPU/flow (%.0f%% of a core)",
                 j["server_cpu_us_per_flow"].get<double>(), j["server_cpu_percent"].get<double>());
  }
  std::fprintf(stderr, "; generator %.0f%%, others on the machine %.0f%% of a core\n",
               j["generator_cpu_percent"].get<double>(), j["other_busy_cpu_percent"].get<double>());
}

void printIdleLine(const nlohmann::json& j, const ErrorCounts& errors) {
  std::fprintf(stderr, "idle: %llu of %llu WebSockets open (%.0f upgrades+hello/s)%s",
               j["open"].get<unsigned long long>(), j["connections"].get<unsigned long long>(),
               j["upgrades_per_second"].get<double>(), errorSummary(errors).c_str());
  if (j.contains("rss_growth_bytes_per_connection")) {
    std::fprintf(stderr, "; server VmRSS %llu -> %llu KiB = %.0f bytes per connection",
                 j["rss_before_kib"].get<unsigned long long>(),
                 j["rss_after_kib"].get<unsigned long long>(),
                 j["rss_growth_bytes_per_connection"].get<double>());
  }
  if (j.contains("server_cpu_percent")) {
    std::fprintf(stderr, "; server %.2f%% CPU while idle", j["server_cpu_percent"].get<double>());
  }
  std::fprintf(stderr, "; others on the machine %.0f%% of a core\n",
               j["other_busy_cpu_percent"].get<double>());
}

int run(const Options& opt) {
  const auto target = parseTarget(opt.server);
  if (!target) {
    std::cerr << "--server: not an IPv4 ip:port: " << opt.server << "\n";
    return 2;
  }
  const bool flows = opt.mode == "flows";
  // Callers are devices 2i, callees 2i+1 (FlowRunner): two targets taking
  // turns put each caller on --server and its callee on --callee-server.
  std::vector<Target> targets{*target};
  if (!opt.callee_server.empty()) {
    const auto callee_target = parseTarget(opt.callee_server);
    if (!callee_target || !flows) {
      std::cerr << "--callee-server: needs --mode flows and an IPv4 ip:port: " << opt.callee_server
                << "\n";
      return 2;
    }
    targets.push_back(*callee_target);
  }
  FleetOptions fleet_options;
  fleet_options.secret = opt.secret;
  fleet_options.user_prefix =
      opt.user_prefix.empty() ? "cg" + std::to_string(getpid()) + "-" : opt.user_prefix;
  fleet_options.devices = flows ? 2 * opt.users : opt.connections;
  fleet_options.devices_per_user = flows ? 1 : opt.devices_per_user;
  fleet_options.http_connections = flows ? 0 : opt.http_connections;
  fleet_options.parallel = opt.parallel;

  // Flows: an HTTP connection and a WebSocket per device; idle: a WebSocket each.
  const rlim_t needed = (flows ? 2 * fleet_options.devices : opt.connections) + 64;
  const rlim_t limit = raiseFileLimit();
  if (limit < needed) {
    std::cerr << "need " << needed << " file descriptors, the hard limit is " << limit << "\n";
    return 2;
  }

  EventLoop loop;
  ErrorCounts errors;
  DeviceFleet fleet(loop, std::move(targets), fleet_options, errors);
  nlohmann::json result;
  if (flows) {
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(opt.setup_timeout));
    if (!fleet.registerAll(deadline) || !fleet.connectAll(deadline)) {
      std::cerr << "setup failed: " << errors.toJson().dump() << "\n";
    }
    FlowOptions flow_options = opt.flows;
    flow_options.server_pid = opt.server_pid;
    FlowRunner runner(loop, fleet, flow_options, errors);
    result = runner.run();
  } else {
    IdleOptions idle;
    idle.hold = opt.hold;
    idle.setup_timeout = opt.setup_timeout;
    idle.server_pid = opt.server_pid;
    result = runIdle(loop, fleet, idle, errors);
  }
  if (!opt.callee_server.empty()) {
    result["callee_server"] = opt.callee_server;
  }
  result["errors"] = {{"total", errors.total()}, {"by_kind", errors.toJson()}};
  if (flows) {
    printFlowsLine(result, errors);
  } else {
    printIdleLine(result, errors);
  }
  std::cout << result.dump(2) << std::endl;
  if (!opt.json.empty()) {
    std::ofstream(opt.json) << result.dump(2) << "\n";
  }
  const bool useful = flows ? result["completed"].get<std::uint64_t>() > 0
                            : result["open"].get<std::size_t>() == opt.connections;
  return errors.total() == 0 && useful ? 0 : 1;
}

int parseAndRun(int argc, char** argv) {
  Options opt;
  CLI::App cli{"turnpike-callgen: call-control load against Turnpike's call API"};
  cli.add_option("--server", opt.server, "API listener ip:port (plain HTTP, api.tls: false)");
  cli.add_option("--callee-server", opt.callee_server,
                 "flows: callees register, listen and answer here (another node); callers on "
                 "--server");
  cli.add_option("--secret", opt.secret, "an api.user_tokens.hs256_secrets entry")->required();
  cli.add_option("--mode", opt.mode, "flows or idle")->check(CLI::IsMember({"flows", "idle"}));
  cli.add_option("--server-pid", opt.server_pid, "server PID: VmRSS and CPU from /proc");
  cli.add_option("--json", opt.json, "also write the JSON summary to this file");
  cli.add_option("--user-prefix", opt.user_prefix, "user ids are <prefix>u<n> (default cg<pid>-)");
  cli.add_option("--setup-timeout", opt.setup_timeout, "seconds for registration and upgrades")
      ->check(CLI::Range(1.0, 600.0));
  cli.add_option("--parallel", opt.parallel, "registrations / upgrades in flight during setup")
      ->check(CLI::Range(1U, 10000U));
  cli.add_option("--users", opt.users, "flows: caller/callee user pairs (one device each)")
      ->check(CLI::Range(1U, 20000U));
  cli.add_option("--rate", opt.flows.rate, "flows: flows/s, open loop; 0 = closed loop")
      ->check(CLI::Range(0.0, 1e6));
  cli.add_option("--duration", opt.flows.duration, "flows: seconds during which flows start")
      ->check(CLI::Range(0.1, 600.0));
  cli.add_option("--concurrency", opt.flows.concurrency, "flows: closed loop, flows in flight")
      ->check(CLI::Range(1U, 20000U));
  cli.add_option("--max-in-flight", opt.flows.max_in_flight,
                 "flows: open loop, a tick finding this many in flight is skipped (0: --users)");
  cli.add_option("--flow-timeout", opt.flows.flow_timeout, "flows: seconds before a flow fails")
      ->check(CLI::Range(0.1, 120.0));
  cli.add_option("--drain", opt.flows.drain, "flows: seconds to finish flows after --duration")
      ->check(CLI::Range(0.0, 120.0));
  cli.add_option("--type", opt.flows.call_type, "flows: call type")
      ->check(CLI::IsMember({"audio", "video"}));
  cli.add_option("--connections", opt.connections, "idle: WebSockets, one device each")
      ->check(CLI::Range(1U, 200000U));
  cli.add_option("--devices-per-user", opt.devices_per_user, "idle: devices sharing a user")
      ->check(CLI::Range(1U, 1000U));
  cli.add_option("--http-connections", opt.http_connections, "idle: connections for registration")
      ->check(CLI::Range(1U, 1000U));
  cli.add_option("--hold", opt.hold, "idle: seconds the sockets stay open")
      ->check(CLI::Range(0.1, 600.0));
  CLI11_PARSE(cli, argc, argv);
  return run(opt);
}

}  // namespace
}  // namespace turnpike::callgen

int main(int argc, char** argv) {
  try {
    return turnpike::callgen::parseAndRun(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "turnpike-callgen: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "turnpike-callgen: unknown exception\n";
  }
  return 2;
}
