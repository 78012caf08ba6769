#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "conf/control_config.h"
#include "conf/duration.h"
#include "conf/network_text.h"

namespace turnpike::conf {

enum class LogLevel { Trace, Debug, Info, Warn, Error, Critical, Off };
enum class LogFormat { Text, Json };

/// SO_RCVBUF / SO_SNDBUF in bytes; 0 keeps the kernel's default. The kernel
/// caps them at net.core.rmem_max / wmem_max.
struct SocketBuffers {
  /// UDP listen sockets take every client's traffic: room for bursts.
  std::uint32_t udp_receive = 4u << 20;
  std::uint32_t udp_send = 4u << 20;
  /// Relay sockets carry one allocation each: the kernel default suffices.
  std::uint32_t relay_receive = 0;
  std::uint32_t relay_send = 0;

  bool operator==(const SocketBuffers&) const = default;
};

struct ServerConfig {
  /// SOFTWARE attribute in responses; empty = not sent (RFC 8489 §16.1.2:
  /// it reveals the version to attackers, so it is off by default).
  std::string software;
  /// How long a stopping worker waits for TCP output to drain.
  Duration shutdown_grace{std::chrono::seconds{5}};
  /// A TCP connection that sends nothing for this long is closed.
  Duration tcp_idle_timeout{std::chrono::seconds{30}};
  SocketBuffers socket_buffers;

  bool operator==(const ServerConfig&) const = default;
};

struct ListenConfig {
  std::vector<Endpoint> udp{Endpoint{"0.0.0.0", 3478, false}};
  std::vector<Endpoint> tcp{Endpoint{"0.0.0.0", 3478, false}};
  std::vector<Endpoint> tls{Endpoint{"0.0.0.0", 5349, false}};

  bool operator==(const ListenConfig&) const = default;
};

struct RelayAddress {
  std::string bind;
  std::string external;  ///< empty: advertise `bind`

  bool operator==(const RelayAddress&) const = default;
};

struct PortRange {
  std::uint16_t min = 49152;
  std::uint16_t max = 65535;

  bool operator==(const PortRange&) const = default;
};

struct PeerPolicy {
  bool allow_loopback = false;
  std::vector<Cidr> allow;
  std::vector<Cidr> deny;

  bool operator==(const PeerPolicy&) const = default;
};

/// relay.fast_path: the kernel (eBPF) data path for UDP channel bindings.
enum class FastPathMode : std::uint8_t {
  Auto,  ///< on when the kernel and the privileges allow, else off (one log line)
  On,    ///< start-up fails when it cannot be attached
  Off,
};

struct RelayConfig {
  /// Empty: the first specific IPv4 UDP listen address, else the host's first
  /// non-loopback IPv4 address.
  std::vector<RelayAddress> addresses;
  PortRange ports;
  Duration max_lifetime{std::chrono::seconds{3600}};
  /// Also bind channels 0x5000-0x7FFF (RFC 5766's range; RFC 8656 reserves it).
  bool rfc5766_channel_numbers = true;
  unsigned workers = 0;  ///< 0 = one per core ("auto")
  PeerPolicy peers;
  FastPathMode fast_path = FastPathMode::Auto;

  bool operator==(const RelayConfig&) const = default;
};

struct AuthConfig {
  std::vector<std::string> rest_secrets;
  std::map<std::string, std::string> static_users;  ///< user -> password
  /// A TURN REST username whose expiry is further ahead than this is refused.
  Duration max_ttl{std::chrono::hours{24}};
  Duration nonce_lifetime{std::chrono::minutes{10}};

  bool operator==(const AuthConfig&) const = default;
};

struct LimitsConfig {
  std::uint32_t allocations_per_user = 10;
  std::uint32_t total_allocations = 100'000;
  std::uint64_t allocation_bytes_per_second = 0;  ///< 0 = unlimited
  std::uint32_t unauthenticated_per_second = 10;  ///< error responses per source IP
  /// Open TCP/TLS connections from one IP address, and in total.
  std::uint32_t connections_per_source = 64;
  std::uint32_t total_connections = 10'000;
  /// Peers one allocation may hold permissions for (508 beyond).
  std::uint32_t permissions_per_allocation = 100;
  /// RFC 6062 peer connections per allocation and per user id (508 beyond).
  std::uint32_t tcp_peers_per_allocation = 32;
  std::uint32_t tcp_peers_per_user = 128;

  bool operator==(const LimitsConfig&) const = default;
};

/// TLS on `listen.tls` (RFC 8656 §3.1 over TLS, RFC 7443 ALPN "stun.turn").
/// No certificate: a self-signed one is generated at start-up (local use).
struct TlsConfig {
  std::string certificate;  ///< PEM chain file, leaf first
  std::string private_key;  ///< PEM key file
  /// "1.2" or "1.3"; "1.0" and "1.1" only for legacy clients (Debian's
  /// OpenSSL then also needs `ciphers` with "@SECLEVEL=0").
  std::string min_version = "1.2";
  /// OpenSSL cipher list for TLS 1.2; empty = OpenSSL's default.
  std::string ciphers;
  /// TLS 1.3 cipher suites; empty = OpenSSL's default.
  std::string ciphersuites;
  /// A TLS connection whose handshake is not done by then is closed.
  Duration handshake_timeout{std::chrono::seconds{10}};
  /// How often the certificate and key files are checked for a change on
  /// disk (a rotation by cert-manager, certbot); a change reloads them. 0: off.
  Duration watch_interval{std::chrono::seconds{60}};

  bool operator==(const TlsConfig&) const = default;
};

struct LogConfig {
  LogLevel level = LogLevel::Info;
  LogFormat format = LogFormat::Text;

  bool operator==(const LogConfig&) const = default;
};

/// Health and admin HTTP endpoints.
struct ControlConfig {
  std::optional<Endpoint> listen = Endpoint{"127.0.0.1", 8088, false};
  /// Bearer token for /admin/*; empty: the admin endpoints are off.
  std::string admin_token;

  bool operator==(const ControlConfig&) const = default;
};

/// Draining before maintenance (SIGUSR1 or POST /admin/drain).
struct DrainConfig {
  /// Where new Allocates are sent (300 Try Alternate); empty: 403.
  std::vector<Endpoint> alternate_servers;
  /// The process exits when the last allocation is gone, or after this.
  Duration deadline{std::chrono::minutes{10}};

  bool operator==(const DrainConfig&) const = default;
};

/// Who this node is, in logs and usage records.
struct NodeConfig {
  std::string name;  ///< empty: the host name
  std::string region;

  bool operator==(const NodeConfig&) const = default;
};

/// Usage records: one when an allocation ends and one every `interval`
/// while it lives.
struct UsageConfig {
  Duration interval{std::chrono::seconds{60}};  ///< 0: only when it ends
  /// Records waiting for Redis, at most; beyond it the oldest are dropped (counted).
  std::uint32_t buffer = 10'000;

  bool operator==(const UsageConfig&) const = default;
};

/// Redis, for usage records (a stream written with XADD).
struct RedisConfig {
  std::optional<Endpoint> address;  ///< unset: no Redis
  std::string password;
  std::string stream = "turnpike:usage";
  std::uint32_t max_length = 1'000'000;  ///< XADD MAXLEN ~
  Duration timeout{std::chrono::seconds{2}};

  bool operator==(const RedisConfig&) const = default;
};

/// Basic auth on the metrics endpoint; both empty: open.
struct MetricsAuth {
  std::string username;
  std::string password;

  bool operator==(const MetricsAuth&) const = default;
};

/// The whole validated configuration. Built once at start-up (and later on
/// reload) and handed to components by const reference; never mutated.
struct Config {
  ServerConfig server;
  ListenConfig listen;
  std::string realm = "turnpike";
  AuthConfig auth;
  RelayConfig relay;
  LimitsConfig limits;
  TlsConfig tls;
  /// Prometheus exposition at http://metrics_listen/metrics.
  std::optional<Endpoint> metrics_listen = Endpoint{"0.0.0.0", 9641, false};
  MetricsAuth metrics_auth;
  ControlConfig control;
  DrainConfig drain;
  LogConfig log;
  NodeConfig node;
  UsageConfig usage;
  RedisConfig redis;  ///< store.redis
  StoreConfig store;  ///< store.backend, store.sqlite
  ApiConfig api;
  CallsConfig calls;
  CallTokensConfig call_tokens;
  PushConfig push;

  bool operator==(const Config&) const = default;
};

/// The number of workers to start: relay.workers, or one per core.
unsigned effectiveWorkers(const Config& config);

}  // namespace turnpike::conf
