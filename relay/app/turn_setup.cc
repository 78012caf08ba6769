#include "relay/app/turn_setup.h"

#include <spdlog/spdlog.h>

#include "auth/rest_credentials.h"
#include "auth/static_users.h"
#include "relay/app/host_addresses.h"
#include "relay/stun/crypto.h"

namespace turnpike::app {
namespace {

std::vector<turn::IpPrefix> prefixes(const std::vector<conf::Cidr>& cidrs) {
  std::vector<turn::IpPrefix> out;
  for (const auto& c : cidrs) {
    // Already validated by conf/; parse cannot fail here.
    if (auto p = turn::IpPrefix::parse(c.ip + "/" + std::to_string(c.prefix_length))) {
      out.push_back(*p);
    }
  }
  return out;
}

std::vector<conf::RelayAddress> relayAddresses(const conf::Config& config) {
  if (!config.relay.addresses.empty()) {
    return config.relay.addresses;
  }
  for (const auto& e : config.listen.udp) {
    if (!e.ipv6 && e.ip != "0.0.0.0") {
      return {conf::RelayAddress{e.ip, ""}};
    }
  }
  if (auto ip = firstHostIpv4()) {
    spdlog::info("relay.addresses not set: relaying on {}", *ip);
    return {conf::RelayAddress{*ip, ""}};
  }
  return {};
}

}  // namespace

std::shared_ptr<const net::ReloadedPolicy> buildPolicy(
    const conf::Config& config, const std::array<std::uint8_t, 32>& nonce_key,
    std::shared_ptr<const auth::CredentialProvider> call_credentials) {
  auto p = std::make_shared<net::ReloadedPolicy>();
  auto& settings = p->settings;
  settings.software = config.server.software;
  settings.max_lifetime =
      std::chrono::duration_cast<std::chrono::seconds>(config.relay.max_lifetime);
  settings.allocation_bandwidth = config.limits.allocation_bytes_per_second;
  settings.unauthenticated_rate = config.limits.unauthenticated_per_second;
  settings.permissions_per_allocation = config.limits.permissions_per_allocation;
  settings.tcp_peers_per_allocation = config.limits.tcp_peers_per_allocation;
  settings.tcp_peers_per_user = config.limits.tcp_peers_per_user;
  settings.rfc5766_channel_numbers = config.relay.rfc5766_channel_numbers;
  settings.usage_interval = std::chrono::duration_cast<std::chrono::seconds>(config.usage.interval);
  for (const auto& alternate : config.drain.alternate_servers) {
    if (auto address = stun::TransportAddress::parse(alternate.toString())) {
      settings.alternate_servers.push_back(*address);
    }
  }

  std::vector<std::shared_ptr<const auth::CredentialProvider>> providers;
  if (!config.auth.static_users.empty()) {
    providers.push_back(
        std::make_shared<auth::StaticUsers>(config.auth.static_users, config.realm));
  }
  if (!config.auth.rest_secrets.empty()) {
    providers.push_back(std::make_shared<auth::RestCredentials>(
        config.auth.rest_secrets,
        std::chrono::duration_cast<std::chrono::seconds>(config.auth.max_ttl),
        call_credentials != nullptr));
  }
  if (call_credentials) {
    providers.push_back(std::move(call_credentials));
  }
  if (providers.empty()) {
    spdlog::warn("no auth.rest_secrets or auth.static_users: every TURN request will be refused");
  }
  p->authenticator = std::make_shared<auth::Authenticator>(
      config.realm,
      auth::NonceCodec(
          nonce_key, std::chrono::duration_cast<std::chrono::seconds>(config.auth.nonce_lifetime)),
      std::move(providers));

  if (config.relay.peers.allow_loopback) {
    spdlog::warn(
        "relay.peers.allow_loopback is on: peers on 127.0.0.0/8 and ::1 are allowed. "
        "This is for tests only.");
  }
  std::vector<turn::IpPrefix> own;
  for (const auto& ip : ownAddresses(config)) {
    if (auto prefix = turn::IpPrefix::parse(ip)) {  // a whole address: /32 or /128
      own.push_back(*prefix);
    }
  }
  spdlog::info("peer policy: the host's own {} addresses are refused as peers unless allowed",
               own.size());
  p->policy = std::make_shared<turn::PeerPolicy>(config.relay.peers.allow_loopback,
                                                 prefixes(config.relay.peers.allow),
                                                 prefixes(config.relay.peers.deny), std::move(own));
  return p;
}

std::optional<net::SharedState> buildSharedState(
    const conf::Config& config, const Clock& clock,
    std::shared_ptr<const auth::CredentialProvider> call_credentials) {
  net::SharedState s;
  stun::crypto::randomBytes(s.nonce_key);
  s.call_credentials = std::move(call_credentials);
  s.policy = buildPolicy(config, s.nonce_key, s.call_credentials);
  s.peer_connections = std::make_unique<turn::PeerConnections>();
  s.connections = std::make_unique<net::ConnectionLedger>(config.limits.connections_per_source,
                                                          config.limits.total_connections);
  s.quotas = std::make_unique<turn::QuotaLedger>(config.limits.allocations_per_user,
                                                 config.limits.total_allocations);
  const auto withPortZero = [](const std::string& ip) {
    return ip.find(':') == std::string::npos ? ip + ":0" : "[" + ip + "]:0";
  };
  for (const auto& address : relayAddresses(config)) {
    auto bind = stun::TransportAddress::parse(withPortZero(address.bind));
    auto advertised = stun::TransportAddress::parse(
        withPortZero(address.external.empty() ? address.bind : address.external));
    if (!bind || !advertised) {
      continue;
    }
    s.port_pools.push_back(std::make_unique<turn::RelayPortPool>(config.relay.ports.min,
                                                                 config.relay.ports.max, clock));
    s.relays.push_back(turn::RelayEndpoint{*bind, *advertised, s.port_pools.back().get()});
    spdlog::info("relay address {} (advertised {}), ports {}-{}", address.bind,
                 address.external.empty() ? address.bind : address.external, config.relay.ports.min,
                 config.relay.ports.max);
  }
  if (s.relays.empty()) {
    spdlog::critical("no relay address: set relay.addresses");
    return std::nullopt;
  }
  return s;
}

}  // namespace turnpike::app
