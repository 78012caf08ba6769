#include "relay/app/config_reload.h"

#include <spdlog/spdlog.h>

#include "conf/config_loader.h"
#include "conf/reload_rules.h"
#include "relay/app/logging.h"
#include "relay/app/turn_setup.h"
#include "relay/app/worker_answers.h"

namespace turnpike::app {
namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& item : items) {
    s += (s.empty() ? "" : ", ") + item;
  }
  return s;
}

}  // namespace

// Hands every worker the new policy and waits (bounded) until each has it,
// so whoever asked for the reload can count on it once the answer comes.
void ConfigReloader::applyToWorkers(const std::shared_ptr<const net::ReloadedPolicy>& policy) {
  const auto applied = askEachWorker<bool>(
      workers_, [&policy](net::Worker& w, const std::function<void(bool)>& answer) {
        w.reload(policy, [answer] { answer(true); });
      });
  if (!applied) {
    spdlog::warn("reload: a worker has not taken the new settings yet; it will shortly");
  }
}

ReloadOutcome ConfigReloader::refuse(ReloadOutcome outcome) {
  ++failed_;
  spdlog::error("config not reloaded, nothing changed: {}{}", outcome.message,
                outcome.errors.empty() ? "" : ": " + joined(outcome.errors));
  return outcome;
}

bool ConfigReloader::reloadTls(const conf::TlsConfig& tls, std::string& error) {
  if (tls.certificate.empty()) {
    return true;  // generated at start: nothing on disk to re-read
  }
  std::vector<net::TlsContext*> contexts = extra_tls_;
  if (shared_.tls) {
    contexts.push_back(shared_.tls.get());
  }
  // Checked once before any is swapped, so the contexts never disagree.
  if (!contexts.empty() && !net::TlsContext::create(tls, error)) {
    return false;
  }
  for (auto* context : contexts) {
    if (!context->reload(tls, error)) {
      return false;
    }
  }
  if (!contexts.empty()) {
    spdlog::info("TLS certificate reloaded, sha256 {}", contexts.front()->fingerprint());
  }
  return true;
}

ReloadOutcome ConfigReloader::reloadCertificates() {
  std::lock_guard lock(mutex_);
  ReloadOutcome outcome;
  if (std::string error; !reloadTls(running_.tls, error)) {
    outcome.message = "TLS certificate changed on disk but not reloaded";
    outcome.invalid_file = true;
    outcome.errors.push_back(error);
    return refuse(std::move(outcome));
  }
  ++succeeded_;
  outcome.ok = true;
  outcome.changed.emplace_back("tls.certificate");
  outcome.message = "certificate reloaded";
  return outcome;
}

ReloadOutcome ConfigReloader::reload() {
  std::lock_guard lock(mutex_);
  ReloadOutcome outcome;
  if (path_.empty()) {
    outcome.message = "started without --config: there is no file to reload";
    return refuse(std::move(outcome));
  }
  auto loaded = conf::loadConfigFile(path_);
  if (!loaded.config) {
    outcome.message = path_ + " is not valid";
    outcome.invalid_file = true;
    for (const auto& error : loaded.errors) {
      outcome.errors.push_back(error.toString());
    }
    return refuse(std::move(outcome));
  }
  const conf::Config& next = *loaded.config;
  outcome.errors = conf::restartOnlyChanges(running_, next);
  if (!outcome.errors.empty()) {
    outcome.message = "these settings need a restart";
    return refuse(std::move(outcome));
  }
  // The certificate files are re-read even when their paths stay the same:
  // rotating the files in place is the usual way.
  if (std::string error; !reloadTls(next.tls, error)) {
    outcome.message = "TLS certificate not reloaded";
    outcome.invalid_file = true;
    outcome.errors.push_back(error);
    return refuse(std::move(outcome));
  }
  applyToWorkers(buildPolicy(next, shared_.nonce_key, shared_.call_credentials));
  shared_.quotas->setLimits(next.limits.allocations_per_user, next.limits.total_allocations);
  shared_.connections->setLimits(next.limits.connections_per_source, next.limits.total_connections);
  setLogLevel(next.log.level);
  for (const auto& callback : on_applied_) {
    callback(next);
  }
  outcome.ok = true;
  outcome.changed = conf::reloadableChanges(running_, next);
  outcome.message = outcome.changed.empty() ? "reloaded; no setting changed" : "reloaded";
  running_ = next;
  ++succeeded_;
  spdlog::info(
      "config reloaded from {}: {}", path_,
      outcome.changed.empty() ? "no setting changed" : "changed " + joined(outcome.changed));
  return outcome;
}

}  // namespace turnpike::app
