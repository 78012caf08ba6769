#include "benchmarks/callgen/process_probe.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "benchmarks/callgen/event_loop.h"

namespace turnpike::callgen {

std::optional<std::uint64_t> residentKib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stoull(line.substr(6));
    }
  }
  return std::nullopt;
}

std::optional<std::uint64_t> cpuNs(int pid) {
  std::error_code ec;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  std::uint64_t total = 0;
  bool any = false;
  for (const auto& entry : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream in(entry.path() / "schedstat");
    std::uint64_t on_cpu = 0;
    if (in >> on_cpu) {
      total += on_cpu;
      any = true;
    }
  }
  return any ? std::optional<std::uint64_t>(total) : std::nullopt;
}

std::uint64_t selfCpuNs() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const auto ns = [](const timeval& tv) {
    return static_cast<std::uint64_t>(tv.tv_sec) * 1'000'000'000ULL +
           static_cast<std::uint64_t>(tv.tv_usec) * 1000ULL;
  };
  return ns(ru.ru_utime) + ns(ru.ru_stime);
}

MachineCpu machineCpu() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  std::uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  const auto tick_ns = 1'000'000'000ULL / static_cast<std::uint64_t>(sysconf(_SC_CLK_TCK));
  return {(user + nice + system + irq + softirq) * tick_ns, steal * tick_ns};
}

CpuWindow::CpuWindow(int server_pid)
    : pid_(server_pid),
      t0_ns_(nowNs()),
      server0_ns_(server_pid > 0 ? cpuNs(server_pid).value_or(0) : 0),
      self0_ns_(selfCpuNs()),
      machine0_(machineCpu()) {}

void CpuWindow::stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  window_ns_ = nowNs() - t0_ns_;
  if (pid_ > 0) {
    const std::uint64_t now = cpuNs(pid_).value_or(server0_ns_);
    server_ns_ = now > server0_ns_ ? now - server0_ns_ : 0;
  }
  self_ns_ = selfCpuNs() - self0_ns_;
  const MachineCpu m = machineCpu();
  machine_.busy_ns = m.busy_ns - machine0_.busy_ns;
  machine_.steal_ns = m.steal_ns - machine0_.steal_ns;
}

void CpuWindow::addTo(nlohmann::json& summary) const {
  const auto percent = [&](std::uint64_t ns) {
    return window_ns_ == 0 ? 0.0
                           : 100.0 * static_cast<double>(ns) / static_cast<double>(window_ns_);
  };
  if (pid_ > 0) {
    summary["server_cpu_percent"] = percent(server_ns_);
  }
  summary["generator_cpu_percent"] = percent(self_ns_);
  const std::uint64_t ours = server_ns_ + self_ns_;
  summary["other_busy_cpu_percent"] =
      percent(machine_.busy_ns > ours ? machine_.busy_ns - ours : 0);
  summary["steal_cpu_percent"] = percent(machine_.steal_ns);
}

}  // namespace turnpike::callgen
