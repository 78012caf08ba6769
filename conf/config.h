#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "conf/duration.h"
#include "conf/network_text.h"

namespace turnpike::conf {

enum class LogLevel { Trace, Debug, Info, Warn, Error, Critical, Off };
enum class LogFormat { Text, Json };

struct ServerConfig {
  /// SOFTWARE attribute in responses; empty = not sent (RFC 8489 §16.1.2:
  /// it reveals the version to attackers, so it is off by default).
  std::string software;
  /// How long a stopping worker waits for TCP output to drain.
  Duration shutdown_grace{std::chrono::seconds{5}};
  /// A TCP connection that sends nothing for this long is closed.
  Duration tcp_idle_timeout{std::chrono::seconds{30}};
};

struct ListenConfig {
  std::vector<Endpoint> udp{Endpoint{"0.0.0.0", 3478, false}};
  std::vector<Endpoint> tcp{Endpoint{"0.0.0.0", 3478, false}};
  std::vector<Endpoint> tls;
};

struct RelayAddress {
  std::string bind;
  std::string external;  ///< empty: advertise `bind`
};

struct PortRange {
  std::uint16_t min = 49152;
  std::uint16_t max = 65535;
};

struct PeerPolicy {
  bool allow_loopback = false;
  std::vector<Cidr> allow;
  std::vector<Cidr> deny;
};

struct RelayConfig {
  std::vector<RelayAddress> addresses;
  PortRange ports;
  unsigned workers = 0;  ///< 0 = one per core ("auto")
  PeerPolicy peers;
};

struct AuthConfig {
  std::vector<std::string> rest_secrets;
  std::map<std::string, std::string> static_users;
};

struct TlsConfig {
  std::string certificate;
  std::string private_key;
};

struct LogConfig {
  LogLevel level = LogLevel::Info;
  LogFormat format = LogFormat::Text;
};

/// The whole validated configuration. Built once at start-up (and later on
/// reload) and handed to components by const reference; never mutated.
struct Config {
  ServerConfig server;
  ListenConfig listen;
  std::string realm = "turnpike";
  AuthConfig auth;
  RelayConfig relay;
  TlsConfig tls;
  std::optional<Endpoint> metrics_listen;
  std::optional<Endpoint> control_listen;
  LogConfig log;
};

/// The number of workers to start: relay.workers, or one per core.
unsigned effectiveWorkers(const Config& config);

}  // namespace turnpike::conf
