#include "relay/app/service_notify.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstdint>
#include <ctime>
#include <string>

namespace turnpike::app {

ServiceNotify::ServiceNotify() {
  std::uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set (and WATCHDOG_PID, if set, is ours).
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_interval_ = std::chrono::microseconds{usec / 2};
  }
}

void ServiceNotify::send(const std::string& state) const {
  const int sent = sd_notify(0, state.c_str());
  if (sent < 0) {
    spdlog::warn("notify: NOTIFY_SOCKET refused {}: error {}", state.substr(0, state.find('\n')),
                 -sent);
  }
}

void ServiceNotify::ready(std::string_view status) const {
  send("READY=1\nSTATUS=" + std::string(status));
}

void ServiceNotify::reloading() const {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const auto usec = static_cast<std::uint64_t>(now.tv_sec) * 1'000'000U +
                    static_cast<std::uint64_t>(now.tv_nsec) / 1000U;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\nSTATUS=reloading");
}

void ServiceNotify::stopping(std::string_view status) const {
  send("STOPPING=1\nSTATUS=" + std::string(status));
}

void ServiceNotify::watchdog() const { send("WATCHDOG=1"); }

}  // namespace turnpike::app
