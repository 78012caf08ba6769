#include "benchmarks/callgen/idle_runner.h"

#include "benchmarks/callgen/process_probe.h"

namespace turnpike::callgen {
namespace {

void pumpFor(EventLoop& loop, double seconds) {
  const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(seconds));
  while (Clock::now() < end) {
    loop.poll(std::chrono::milliseconds(20));
  }
}

Clock::time_point after(double seconds) {
  return Clock::now() +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

nlohmann::json runIdle(EventLoop& loop, DeviceFleet& fleet, const IdleOptions& options,
                       ErrorCounts& errors) {
  const int pid = options.server_pid;
  fleet.registerAll(after(options.setup_timeout));
  // The baseline holds the registered devices but no connection of ours.
  fleet.closeHttp();
  pumpFor(loop, 0.5);
  const std::uint64_t rss_before = pid > 0 ? residentKib(pid).value_or(0) : 0;

  const auto t0 = Clock::now();
  fleet.connectAll(after(options.setup_timeout));
  const double connect_s = secondsSince(t0);
  CpuWindow cpu(pid);
  pumpFor(loop, options.hold);
  cpu.stop();
  const std::uint64_t rss_after = pid > 0 ? residentKib(pid).value_or(0) : 0;

  std::size_t open = 0;
  for (const auto& d : fleet.devices()) {
    open += d.ready && !d.lost && d.ws && d.ws->isOpen() ? 1 : 0;
  }
  nlohmann::json j = {
      {"mode", "idle"},
      {"connections", fleet.devices().size()},
      {"open", open},
      {"connect_seconds", connect_s},
      {"upgrades_per_second",
       connect_s > 0 ? static_cast<double>(fleet.readyCount()) / connect_s : 0.0},
      {"hold_s", options.hold},
  };
  if (rss_before > 0 && rss_after > 0) {
    j["rss_before_kib"] = rss_before;
    j["rss_after_kib"] = rss_after;
    const double growth =
        (static_cast<double>(rss_after) - static_cast<double>(rss_before)) * 1024.0;
    j["rss_growth_bytes_per_connection"] = open > 0 ? growth / static_cast<double>(open) : 0.0;
  }
  cpu.addTo(j);  // over the idle hold
  if (open < fleet.devices().size()) {
    errors.add("idle_not_open");
  }
  return j;
}

}  // namespace turnpike::callgen
