#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>

namespace turnpike::callgen {

/// VmRSS of a process in KiB, from /proc/<pid>/status.
std::optional<std::uint64_t> residentKib(int pid);

/// CPU time of all of a process's threads in ns, from
/// /proc/<pid>/task/*/schedstat (precise on VMs where /proc/stat is not).
std::optional<std::uint64_t> cpuNs(int pid);

/// This process's own CPU time (user + system) in ns.
std::uint64_t selfCpuNs();

/// The whole machine's CPU time from /proc/stat (all CPUs, in ns; tick
/// resolution): busy = user + nice + system + irq + softirq, and steal.
struct MachineCpu {
  std::uint64_t busy_ns = 0;
  std::uint64_t steal_ns = 0;
};
MachineCpu machineCpu();

/// CPU spent over a window by the server, by the generator and by everything
/// else on the machine (other processes share these cores: a busy neighbour
/// or hypervisor steal makes a run's figures suspect).
class CpuWindow {
 public:
  /// Starts the window; `server_pid` 0 leaves the server out.
  explicit CpuWindow(int server_pid);
  /// Ends the window (only the first call counts).
  void stop();
  [[nodiscard]] std::uint64_t serverNs() const { return server_ns_; }
  [[nodiscard]] std::uint64_t selfNs() const { return self_ns_; }
  /// {server,generator,other_busy,steal}_cpu_percent, in % of one core.
  void addTo(nlohmann::json& summary) const;

 private:
  int pid_;
  bool stopped_ = false;
  std::uint64_t t0_ns_;
  std::uint64_t server0_ns_;
  std::uint64_t self0_ns_;
  MachineCpu machine0_;
  std::uint64_t window_ns_ = 0;
  std::uint64_t server_ns_ = 0;
  std::uint64_t self_ns_ = 0;
  MachineCpu machine_;
};

}  // namespace turnpike::callgen
