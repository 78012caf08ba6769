#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/subprocess.h"

namespace turnpike::testing {

/// The real turnpike binary on loopback port 0, its ports read from its log.
class TurnpikeServer {
 public:
  static inline const std::string kLoopbackControl = "control:\n  listen: \"127.0.0.1:0\"\n";
  static inline const std::string kLoopbackMetrics = "metrics:\n  listen: \"127.0.0.1:0\"\n";
  static inline const std::string kLoopbackListen =
      "listen:\n  udp: [\"127.0.0.1:0\"]\n  tcp: [\"127.0.0.1:0\"]\n  tls: [\"127.0.0.1:0\"]\n";

  /// `extra_yaml` follows the server: section (indent to add server keys, or
  /// start a new top-level key); `relay_yaml` goes inside relay:; `listen_yaml`
  /// replaces the listen: section (one loopback port 0 per transport);
  /// `launcher` is a command that execs the server (prlimit, say).
  explicit TurnpikeServer(const std::string& extra_yaml = "", const std::string& relay_yaml = "",
                          const std::string& listen_yaml = kLoopbackListen,
                          const std::string& control_yaml = kLoopbackControl,
                          const std::string& metrics_yaml = kLoopbackMetrics,
                          std::vector<std::string> launcher = {}) {
    config_path_ = ::testing::TempDir() + "turnpike-" + std::to_string(::getpid()) + "-" +
                   std::to_string(counter_++) + ".yaml";
    rewrite(extra_yaml, relay_yaml, listen_yaml, control_yaml, metrics_yaml);
    // `launcher` runs first (prlimit, say) and execs the server.
    launcher.insert(launcher.end(), {TURNPIKE_BINARY, "--config", config_path_});
    process_ = std::make_unique<Subprocess>(std::move(launcher));
    ready_ = process_->waitForOutput("running with", std::chrono::seconds{10});
    const std::string out = process_->output();
    std::smatch m;
    if (std::regex_search(out, m, std::regex("listening on udp 127\\.0\\.0\\.1:(\\d+)"))) {
      udp_port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
    }
    if (std::regex_search(out, m, std::regex("listening on tcp 127\\.0\\.0\\.1:(\\d+)"))) {
      tcp_port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
    }
    if (std::regex_search(out, m, std::regex("listening on tls 127\\.0\\.0\\.1:(\\d+)"))) {
      tls_port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
    }
    if (std::regex_search(out, m, std::regex("metrics on http://127\\.0\\.0\\.1:(\\d+)"))) {
      metrics_port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
    }
    if (std::regex_search(out, m, std::regex("control on http://127\\.0\\.0\\.1:(\\d+)"))) {
      control_port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
    }
    if (std::regex_search(out, m, std::regex("api on https?://127\\.0\\.0\\.1:(\\d+)"))) {
      api_port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
    }
  }
  ~TurnpikeServer() { std::remove(config_path_.c_str()); }

  /// Writes the config file again (the server reads it on SIGHUP or POST
  /// /admin/reload), with the same arguments as the constructor.
  void rewrite(const std::string& extra_yaml, const std::string& relay_yaml = "",
               const std::string& listen_yaml = kLoopbackListen,
               const std::string& control_yaml = kLoopbackControl,
               const std::string& metrics_yaml = kLoopbackMetrics) {
    // The call API stays off unless a test turns it on: tests run in
    // parallel and its default port is fixed.
    const bool api =
        extra_yaml.rfind("api:", 0) == 0 || extra_yaml.find("\napi:") != std::string::npos;
    std::ofstream(config_path_) << listen_yaml << metrics_yaml << control_yaml
                                << "relay:\n  workers: 2\n"
                                << relay_yaml << "server:\n  shutdown_grace: 2s\n"
                                << extra_yaml << (api ? "" : "\napi:\n  listen: []\n");
  }

  [[nodiscard]] bool ready() const {
    return ready_ && udp_port_ != 0 && tcp_port_ != 0 && tls_port_ != 0;
  }
  [[nodiscard]] std::uint16_t udpPort() const { return udp_port_; }
  [[nodiscard]] std::uint16_t tcpPort() const { return tcp_port_; }
  [[nodiscard]] std::uint16_t tlsPort() const { return tls_port_; }
  [[nodiscard]] std::uint16_t metricsPort() const { return metrics_port_; }
  [[nodiscard]] std::uint16_t controlPort() const { return control_port_; }
  /// The first call API port on 127.0.0.1 (0 when the API is off).
  [[nodiscard]] std::uint16_t apiPort() const { return api_port_; }
  Subprocess& process() { return *process_; }
  /// Resident memory of the server process, in kB (0 if unreadable).
  [[nodiscard]] long rssKb() const {
    std::ifstream status("/proc/" + std::to_string(process_->pid()) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
    return 0;
  }
  /// SIGINT stops at once (SIGTERM drains: drain_test.cc).
  int stop() { return process_->stop(SIGINT); }

 private:
  static inline int counter_ = 0;
  std::string config_path_;
  std::unique_ptr<Subprocess> process_;
  bool ready_ = false;
  std::uint16_t udp_port_ = 0;
  std::uint16_t tcp_port_ = 0;
  std::uint16_t tls_port_ = 0;
  std::uint16_t metrics_port_ = 0;
  std::uint16_t control_port_ = 0;
  std::uint16_t api_port_ = 0;
};

}  // namespace turnpike::testing
