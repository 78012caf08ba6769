#pragma once

#include <chrono>
#include <string_view>

namespace turnpike::app {

/// What a systemd `Type=notify` unit (or anything listening on
/// NOTIFY_SOCKET) is told about the process: sd_notify(3) through
/// libsystemd. Without NOTIFY_SOCKET every call does nothing.
class ServiceNotify {
 public:
  ServiceNotify();

  /// READY=1: every listener is bound; also after a reload, good or bad.
  void ready(std::string_view status) const;
  /// RELOADING=1 (with MONOTONIC_USEC, as systemd 253+ wants it).
  void reloading() const;
  /// STOPPING=1: a drain or a stop began.
  void stopping(std::string_view status) const;
  /// WATCHDOG=1: the main loop still turns.
  void watchdog() const;
  /// How often to send WATCHDOG=1 (half of WATCHDOG_USEC); zero when the
  /// service manager asked for none.
  [[nodiscard]] std::chrono::microseconds watchdogInterval() const { return watchdog_interval_; }

 private:
  void send(const std::string& state) const;

  std::chrono::microseconds watchdog_interval_{0};
};

}  // namespace turnpike::app
