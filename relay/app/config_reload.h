#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "conf/config.h"
#include "relay/app/reload_outcome.h"
#include "relay/net/shared_state.h"
#include "relay/net/worker.h"

namespace turnpike::app {

/// Re-reads the config file and applies what can change while running
/// (conf/reload_rules.h): credentials, peer policy, limits, log level, TLS
/// certificate. All or nothing: an invalid file, or one changing a
/// restart-only key, changes nothing. Open allocations keep their
/// credentials and relay on. Thread-safe (SIGHUP on the main thread, the
/// admin API on the control thread).
class ConfigReloader {
 public:
  ConfigReloader(std::string path, conf::Config running, net::SharedState& shared,
                 std::vector<net::Worker*> workers)
      : path_(std::move(path)),
        running_(std::move(running)),
        shared_(shared),
        workers_(std::move(workers)) {}

  ReloadOutcome reload();
  /// Also called with each config that was applied (set before reloads can
  /// happen): for parts that live outside the workers, like the admin token.
  void onApplied(std::function<void(const conf::Config&)> callback) {
    std::lock_guard lock(mutex_);
    on_applied_.push_back(std::move(callback));
  }

  /// The call API's TLS context: reloaded with the TURN one.
  void alsoReload(net::TlsContext* tls) {
    std::lock_guard lock(mutex_);
    extra_tls_.push_back(tls);
  }
  /// The certificate or key file changed on disk: both are re-read, with
  /// the settings running now (the config file is not read). A bad pair is
  /// refused, counted as a failed reload, and the old one stays.
  ReloadOutcome reloadCertificates();

  [[nodiscard]] std::uint64_t succeeded() const { return succeeded_.load(); }
  [[nodiscard]] std::uint64_t failed() const { return failed_.load(); }

 private:
  ReloadOutcome refuse(ReloadOutcome outcome);
  /// Every TLS context re-reads `tls`' files; false with `error` on a bad pair.
  bool reloadTls(const conf::TlsConfig& tls, std::string& error);
  void applyToWorkers(const std::shared_ptr<const net::ReloadedPolicy>& policy);

  const std::string path_;  ///< empty: started on the built-in defaults
  std::mutex mutex_;
  conf::Config running_;  // guarded by mutex_
  net::SharedState& shared_;
  std::vector<net::Worker*> workers_;
  std::vector<net::TlsContext*> extra_tls_;                           // guarded by mutex_
  std::vector<std::function<void(const conf::Config&)>> on_applied_;  // guarded by mutex_
  std::atomic<std::uint64_t> succeeded_{0};
  std::atomic<std::uint64_t> failed_{0};
};

}  // namespace turnpike::app
