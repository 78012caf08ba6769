#include "conf/reload_rules.h"

namespace turnpike::conf {
namespace {

template <typename T>
void compare(std::vector<std::string>& out, const char* key, const T& a, const T& b) {
  if (!(a == b)) {
    out.emplace_back(key);
  }
}

}  // namespace

std::vector<std::string> restartOnlyChanges(const Config& running, const Config& next) {
  std::vector<std::string> out;
  const auto& a = running;
  const auto& b = next;
  compare(out, "server.shutdown_grace", a.server.shutdown_grace, b.server.shutdown_grace);
  compare(out, "server.tcp_idle_timeout", a.server.tcp_idle_timeout, b.server.tcp_idle_timeout);
  compare(out, "server.socket_buffers", a.server.socket_buffers, b.server.socket_buffers);
  compare(out, "listen.udp", a.listen.udp, b.listen.udp);
  compare(out, "listen.tcp", a.listen.tcp, b.listen.tcp);
  compare(out, "listen.tls", a.listen.tls, b.listen.tls);
  compare(out, "realm", a.realm, b.realm);
  compare(out, "relay.addresses", a.relay.addresses, b.relay.addresses);
  compare(out, "relay.ports", a.relay.ports, b.relay.ports);
  compare(out, "relay.workers", a.relay.workers, b.relay.workers);
  compare(out, "relay.fast_path", a.relay.fast_path, b.relay.fast_path);
  compare(out, "tls.min_version", a.tls.min_version, b.tls.min_version);
  compare(out, "tls.ciphers", a.tls.ciphers, b.tls.ciphers);
  compare(out, "tls.ciphersuites", a.tls.ciphersuites, b.tls.ciphersuites);
  compare(out, "tls.handshake_timeout", a.tls.handshake_timeout, b.tls.handshake_timeout);
  compare(out, "tls.watch_interval", a.tls.watch_interval, b.tls.watch_interval);
  // A TLS listener started without a certificate made a self-signed one;
  // switching between generated and configured needs a restart.
  compare(out, "tls.certificate", a.tls.certificate.empty(), b.tls.certificate.empty());
  compare(out, "metrics.listen", a.metrics_listen, b.metrics_listen);
  compare(out, "metrics.basic_auth", a.metrics_auth, b.metrics_auth);
  compare(out, "control.listen", a.control.listen, b.control.listen);
  compare(out, "drain.deadline", a.drain.deadline, b.drain.deadline);
  compare(out, "log.format", a.log.format, b.log.format);
  compare(out, "node", a.node, b.node);
  compare(out, "usage", a.usage, b.usage);
  compare(out, "store", a.redis, b.redis);
  compare(out, "store.sqlite", a.store, b.store);
  compare(out, "api", a.api, b.api);
  compare(out, "calls", a.calls, b.calls);
  compare(out, "call_tokens", a.call_tokens, b.call_tokens);
  // The provider connections' trust and health checks are set when they are
  // built; keys and limits reload.
  compare(out, "push.ca_file", a.push.ca_file, b.push.ca_file);
  compare(out, "push.ping_interval", a.push.ping_interval, b.push.ping_interval);
  return out;
}

std::vector<std::string> reloadableChanges(const Config& running, const Config& next) {
  std::vector<std::string> out;
  const auto& a = running;
  const auto& b = next;
  compare(out, "server.software", a.server.software, b.server.software);
  compare(out, "auth.rest_secrets", a.auth.rest_secrets, b.auth.rest_secrets);
  compare(out, "auth.static_users", a.auth.static_users, b.auth.static_users);
  compare(out, "auth.max_ttl", a.auth.max_ttl, b.auth.max_ttl);
  compare(out, "auth.nonce_lifetime", a.auth.nonce_lifetime, b.auth.nonce_lifetime);
  compare(out, "relay.peers", a.relay.peers, b.relay.peers);
  compare(out, "relay.max_lifetime", a.relay.max_lifetime, b.relay.max_lifetime);
  compare(out, "relay.rfc5766_channel_numbers", a.relay.rfc5766_channel_numbers,
          b.relay.rfc5766_channel_numbers);
  compare(out, "limits", a.limits, b.limits);
  compare(out, "tls.certificate", a.tls.certificate, b.tls.certificate);
  compare(out, "tls.private_key", a.tls.private_key, b.tls.private_key);
  compare(out, "drain.alternate_servers", a.drain.alternate_servers, b.drain.alternate_servers);
  compare(out, "control.admin_token", a.control.admin_token, b.control.admin_token);
  compare(out, "log.level", a.log.level, b.log.level);
  compare(out, "push", a.push, b.push);
  return out;
}

}  // namespace turnpike::conf
