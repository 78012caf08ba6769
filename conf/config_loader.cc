#include "conf/config_loader.h"

#include "conf/control_sections.h"
#include "conf/text_file.h"
#include "conf/yaml_reader.h"

namespace turnpike::conf {
namespace {

void readSocketBuffers(YamlReader& r, const YAML::Node& node, const std::string& path,
                       SocketBuffers& out) {
  std::uint64_t v = 0;
  const auto bytes = [&](std::uint32_t& field) {
    return [&](const YAML::Node& n, const std::string& p) {
      if (r.integer(n, p, 0, 1u << 30, v)) {
        field = static_cast<std::uint32_t>(v);
      }
    };
  };
  r.map(node, path,
        {
            {"udp_receive", bytes(out.udp_receive)},
            {"udp_send", bytes(out.udp_send)},
            {"relay_receive", bytes(out.relay_receive)},
            {"relay_send", bytes(out.relay_send)},
        });
}

void readServer(YamlReader& r, const YAML::Node& node, const std::string& path, ServerConfig& out) {
  r.map(node, path,
        {
            {"socket_buffers",
             [&](auto& n, auto& p) { readSocketBuffers(r, n, p, out.socket_buffers); }},
            {"software",
             [&](auto& n, auto& p) {
               // RFC 8489 §14.14: "fewer than 128 characters (which can be as
               // long as 763 bytes)".
               if (r.string(n, p, out.software) && out.software.size() > 127) {
                 r.error(n, p, "must be fewer than 128 characters");
               }
             }},
            {"shutdown_grace", [&](auto& n, auto& p) { r.duration(n, p, out.shutdown_grace); }},
            {"tcp_idle_timeout",
             [&](auto& n, auto& p) {
               if (r.duration(n, p, out.tcp_idle_timeout) &&
                   out.tcp_idle_timeout < std::chrono::seconds{1}) {
                 r.error(n, p, "must be at least 1s");
               }
             }},
        });
}

void readListen(YamlReader& r, const YAML::Node& node, const std::string& path, ListenConfig& out) {
  r.map(node, path,
        {
            {"udp", [&](auto& n, auto& p) { r.endpointList(n, p, out.udp); }},
            {"tcp", [&](auto& n, auto& p) { r.endpointList(n, p, out.tcp); }},
            {"tls", [&](auto& n, auto& p) { r.endpointList(n, p, out.tls); }},
        });
}

void readRelayAddress(YamlReader& r, const YAML::Node& node, const std::string& path,
                      RelayAddress& out) {
  const auto ip = [&](const YAML::Node& n, const std::string& p, std::string& field) {
    if (r.string(n, p, field) && !isIpAddress(field)) {
      r.error(n, p, "\"" + field + "\" is not an IP address");
    }
  };
  r.map(node, path,
        {
            {"bind", [&](auto& n, auto& p) { ip(n, p, out.bind); }},
            {"external", [&](auto& n, auto& p) { ip(n, p, out.external); }},
        });
  if (node.IsMap() && !node["bind"]) {
    r.error(node, path + ".bind", "is required");
  }
}

void readPorts(YamlReader& r, const YAML::Node& node, const std::string& path, PortRange& out) {
  std::uint64_t v = 0;
  r.map(node, path,
        {
            {"min",
             [&](auto& n, auto& p) {
               if (r.integer(n, p, 1024, 65535, v)) {
                 out.min = static_cast<std::uint16_t>(v);
               }
             }},
            {"max",
             [&](auto& n, auto& p) {
               if (r.integer(n, p, 1024, 65535, v)) {
                 out.max = static_cast<std::uint16_t>(v);
               }
             }},
        });
  if (out.min > out.max) {
    r.error(node, path,
            "min " + std::to_string(out.min) + " is above max " + std::to_string(out.max));
  }
}

void readPeers(YamlReader& r, const YAML::Node& node, const std::string& path, PeerPolicy& out) {
  r.map(node, path,
        {
            {"allow_loopback", [&](auto& n, auto& p) { r.boolean(n, p, out.allow_loopback); }},
            {"allow", [&](auto& n, auto& p) { r.cidrList(n, p, out.allow); }},
            {"deny", [&](auto& n, auto& p) { r.cidrList(n, p, out.deny); }},
        });
}

// "on" and "off" are YAML 1.1 booleans too: both spellings are taken.
void readFastPath(YamlReader& r, const YAML::Node& node, const std::string& path,
                  FastPathMode& out) {
  const std::string word = node.IsScalar() ? node.Scalar() : std::string{};
  if (word == "auto") {
    out = FastPathMode::Auto;
  } else if (word == "on" || word == "true") {
    out = FastPathMode::On;
  } else if (word == "off" || word == "false") {
    out = FastPathMode::Off;
  } else {
    r.error(node, path, "expected auto, on or off");
  }
}

void readWorkers(YamlReader& r, const YAML::Node& node, const std::string& path, unsigned& out) {
  if (node.IsScalar() && node.Scalar() == "auto") {
    out = 0;
    return;
  }
  std::uint64_t v = 0;
  if (node.IsScalar() && r.integer(node, path, 1, 256, v)) {
    out = static_cast<unsigned>(v);
  } else if (!node.IsScalar()) {
    r.error(node, path, "expected \"auto\" or a number of workers");
  }
}

void readRelay(YamlReader& r, const YAML::Node& node, const std::string& path, RelayConfig& out) {
  r.map(node, path,
        {
            {"addresses",
             [&](auto& n, auto& p) {
               out.addresses.clear();
               r.sequence(n, p, [&](const YAML::Node& item, const std::string& ip) {
                 RelayAddress a;
                 readRelayAddress(r, item, ip, a);
                 bool bind_v6 = false;
                 bool external_v6 = false;
                 if (!a.external.empty() && isIpAddress(a.bind, &bind_v6) &&
                     isIpAddress(a.external, &external_v6) && bind_v6 != external_v6) {
                   r.error(item, ip + ".external", "must be of the same address family as bind");
                 }
                 out.addresses.push_back(a);
               });
             }},
            {"ports", [&](auto& n, auto& p) { readPorts(r, n, p, out.ports); }},
            {"max_lifetime",
             [&](auto& n, auto& p) {
               if (r.duration(n, p, out.max_lifetime) &&
                   out.max_lifetime < std::chrono::minutes{10}) {
                 r.error(n, p, "must be at least 10m (the RFC 8656 default lifetime)");
               }
             }},
            {"rfc5766_channel_numbers",
             [&](auto& n, auto& p) { r.boolean(n, p, out.rfc5766_channel_numbers); }},
            {"workers", [&](auto& n, auto& p) { readWorkers(r, n, p, out.workers); }},
            {"peers", [&](auto& n, auto& p) { readPeers(r, n, p, out.peers); }},
            {"fast_path", [&](auto& n, auto& p) { readFastPath(r, n, p, out.fast_path); }},
        });
}

void readAuth(YamlReader& r, const YAML::Node& node, const std::string& path, AuthConfig& out) {
  r.map(node, path,
        {
            {"rest_secrets",
             [&](auto& n, auto& p) {
               if (r.stringList(n, p, out.rest_secrets)) {
                 for (const auto& secret : out.rest_secrets) {
                   if (secret.empty()) {
                     r.error(n, p, "a secret must not be empty");
                   }
                 }
               }
             }},
            {"static_users",
             [&](auto& n, auto& p) {
               if (n.IsNull()) {
                 return;
               }
               if (!n.IsMap()) {
                 r.error(n, p, "expected a mapping of user name to password");
                 return;
               }
               for (const auto& entry : n) {
                 std::string password;
                 const std::string user_path = YamlReader::join(p, entry.first.Scalar());
                 if (r.string(entry.second, user_path, password)) {
                   out.static_users[entry.first.Scalar()] = password;
                 }
               }
             }},
            {"max_ttl", [&](auto& n, auto& p) { r.duration(n, p, out.max_ttl); }},
            {"nonce_lifetime",
             [&](auto& n, auto& p) {
               if (r.duration(n, p, out.nonce_lifetime) &&
                   out.nonce_lifetime < std::chrono::seconds{30}) {
                 r.error(n, p, "must be at least 30s");
               }
             }},
        });
}

void readLimits(YamlReader& r, const YAML::Node& node, const std::string& path, LimitsConfig& out) {
  std::uint64_t v = 0;
  const auto u32 = [&](std::uint32_t& field, std::uint64_t min, std::uint64_t max) {
    return [&, min, max](const YAML::Node& n, const std::string& p) {
      if (r.integer(n, p, min, max, v)) {
        field = static_cast<std::uint32_t>(v);
      }
    };
  };
  r.map(node, path,
        {
            {"allocations_per_user", u32(out.allocations_per_user, 1, 1'000'000)},
            {"total_allocations", u32(out.total_allocations, 1, 10'000'000)},
            {"allocation_bytes_per_second",
             [&](auto& n, auto& p) {
               r.integer(n, p, 0, 10'000'000'000ULL, out.allocation_bytes_per_second);
             }},
            {"unauthenticated_per_second", u32(out.unauthenticated_per_second, 0, 1'000'000)},
            {"connections_per_source", u32(out.connections_per_source, 1, 1'000'000)},
            {"total_connections", u32(out.total_connections, 1, 10'000'000)},
            {"permissions_per_allocation", u32(out.permissions_per_allocation, 1, 10'000)},
            {"tcp_peers_per_allocation", u32(out.tcp_peers_per_allocation, 1, 10'000)},
            {"tcp_peers_per_user", u32(out.tcp_peers_per_user, 1, 1'000'000)},
        });
}

void readTls(YamlReader& r, const YAML::Node& node, const std::string& path, TlsConfig& out) {
  r.map(
      node, path,
      {
          {"certificate", [&](auto& n, auto& p) { r.string(n, p, out.certificate); }},
          {"private_key", [&](auto& n, auto& p) { r.string(n, p, out.private_key); }},
          {"min_version",
           [&](auto& n, auto& p) {
             if (r.string(n, p, out.min_version) && out.min_version != "1.0" &&
                 out.min_version != "1.1" && out.min_version != "1.2" && out.min_version != "1.3") {
               r.error(n, p, "must be \"1.2\" or \"1.3\" (\"1.0\", \"1.1\": legacy clients only)");
             }
           }},
          {"ciphers", [&](auto& n, auto& p) { r.string(n, p, out.ciphers); }},
          {"ciphersuites", [&](auto& n, auto& p) { r.string(n, p, out.ciphersuites); }},
          {"handshake_timeout",
           [&](auto& n, auto& p) {
             if (r.duration(n, p, out.handshake_timeout) &&
                 out.handshake_timeout < std::chrono::seconds{1}) {
               r.error(n, p, "must be at least 1s");
             }
           }},
          {"watch_interval",
           [&](auto& n, auto& p) {
             if (r.duration(n, p, out.watch_interval) && out.watch_interval.count() != 0 &&
                 out.watch_interval < std::chrono::seconds{1}) {
               r.error(n, p, "must be 0 (off) or at least 1s");
             }
           }},
      });
  if (out.certificate.empty() != out.private_key.empty()) {
    r.error(node, path, "certificate and private_key go together");
  }
}

void readLog(YamlReader& r, const YAML::Node& node, const std::string& path, LogConfig& out) {
  r.map(node, path,
        {
            {"level",
             [&](auto& n, auto& p) {
               static const std::vector<std::pair<std::string, LogLevel>> kLevels = {
                   {"trace", LogLevel::Trace}, {"debug", LogLevel::Debug},
                   {"info", LogLevel::Info},   {"warn", LogLevel::Warn},
                   {"error", LogLevel::Error}, {"critical", LogLevel::Critical},
                   {"off", LogLevel::Off}};
               std::string s;
               if (!r.string(n, p, s)) {
                 return;
               }
               for (const auto& [name, level] : kLevels) {
                 if (name == s) {
                   out.level = level;
                   return;
                 }
               }
               r.error(n, p,
                       "\"" + s +
                           "\" is not one of trace, debug, info, warn, error, "
                           "critical, off");
             }},
            {"format",
             [&](auto& n, auto& p) {
               std::string s;
               if (!r.string(n, p, s)) {
                 return;
               }
               if (s == "text") {
                 out.format = LogFormat::Text;
               } else if (s == "json") {
                 out.format = LogFormat::Json;
               } else {
                 r.error(n, p, "\"" + s + "\" is not one of text, json");
               }
             }},
        });
}

void readMetrics(YamlReader& r, const YAML::Node& node, const std::string& path, Config& out) {
  r.map(node, path,
        {
            {"listen",
             [&](auto& n, auto& p) {
               Endpoint e;
               if (r.endpoint(n, p, e)) {
                 out.metrics_listen = e;
               }
             }},
            {"basic_auth",
             [&](auto& n, auto& p) {
               r.map(n, p,
                     {
                         {"username",
                          [&](auto& n2, auto& p2) { r.string(n2, p2, out.metrics_auth.username); }},
                         {"password",
                          [&](auto& n2, auto& p2) { r.string(n2, p2, out.metrics_auth.password); }},
                     });
               if (out.metrics_auth.username.empty() != out.metrics_auth.password.empty()) {
                 r.error(n, p, "username and password go together");
               }
             }},
        });
}

void readNode(YamlReader& r, const YAML::Node& node, const std::string& path, NodeConfig& out) {
  r.map(node, path,
        {
            {"name", [&](auto& n, auto& p) { r.string(n, p, out.name); }},
            {"region", [&](auto& n, auto& p) { r.string(n, p, out.region); }},
        });
}

void readUsage(YamlReader& r, const YAML::Node& node, const std::string& path, UsageConfig& out) {
  std::uint64_t v = 0;
  r.map(node, path,
        {
            {"interval",
             [&](auto& n, auto& p) {
               if (r.duration(n, p, out.interval) && out.interval.count() != 0 &&
                   out.interval < std::chrono::seconds{1}) {
                 r.error(n, p, "must be 0 (only when an allocation ends) or at least 1s");
               }
             }},
            {"buffer",
             [&](auto& n, auto& p) {
               if (r.integer(n, p, 1, 10'000'000, v)) {
                 out.buffer = static_cast<std::uint32_t>(v);
               }
             }},
        });
}

void readRedis(YamlReader& r, const YAML::Node& node, const std::string& path, RedisConfig& out) {
  std::uint64_t v = 0;
  r.map(node, path,
        {
            {"address",
             [&](auto& n, auto& p) {
               Endpoint e;
               if (r.endpoint(n, p, e)) {
                 out.address = e;
               }
             }},
            {"password", [&](auto& n, auto& p) { r.string(n, p, out.password); }},
            {"stream",
             [&](auto& n, auto& p) {
               if (r.string(n, p, out.stream) && out.stream.empty()) {
                 r.error(n, p, "must not be empty");
               }
             }},
            {"max_length",
             [&](auto& n, auto& p) {
               if (r.integer(n, p, 1, 1'000'000'000, v)) {
                 out.max_length = static_cast<std::uint32_t>(v);
               }
             }},
            {"timeout",
             [&](auto& n, auto& p) {
               if (r.duration(n, p, out.timeout) && out.timeout < std::chrono::milliseconds{10}) {
                 r.error(n, p, "must be at least 10ms");
               }
             }},
        });
}

void readControl(YamlReader& r, const YAML::Node& node, const std::string& path,
                 ControlConfig& out) {
  r.map(node, path,
        {
            {"listen",
             [&](auto& n, auto& p) {
               Endpoint e;
               if (r.endpoint(n, p, e)) {
                 out.listen = e;
               }
             }},
            {"admin_token",
             [&](auto& n, auto& p) {
               if (r.string(n, p, out.admin_token) && !out.admin_token.empty() &&
                   out.admin_token.size() < 16) {
                 r.error(n, p, "must be at least 16 characters");
               }
             }},
        });
}

void readDrain(YamlReader& r, const YAML::Node& node, const std::string& path, DrainConfig& out) {
  r.map(node, path,
        {
            {"alternate_servers",
             [&](auto& n, auto& p) { r.endpointList(n, p, out.alternate_servers); }},
            {"deadline", [&](auto& n, auto& p) { r.duration(n, p, out.deadline); }},
        });
}

void readRoot(YamlReader& r, const YAML::Node& root, Config& config) {
  r.map(root, "",
        {
            {"server", [&](auto& n, auto& p) { readServer(r, n, p, config.server); }},
            {"listen", [&](auto& n, auto& p) { readListen(r, n, p, config.listen); }},
            {"realm",
             [&](auto& n, auto& p) {
               if (r.string(n, p, config.realm) &&
                   (config.realm.empty() || config.realm.size() > 127)) {
                 r.error(n, p, "must be 1 to 127 characters");
               }
             }},
            {"limits", [&](auto& n, auto& p) { readLimits(r, n, p, config.limits); }},
            {"auth", [&](auto& n, auto& p) { readAuth(r, n, p, config.auth); }},
            {"relay", [&](auto& n, auto& p) { readRelay(r, n, p, config.relay); }},
            {"tls", [&](auto& n, auto& p) { readTls(r, n, p, config.tls); }},
            {"metrics", [&](auto& n, auto& p) { readMetrics(r, n, p, config); }},
            {"control", [&](auto& n, auto& p) { readControl(r, n, p, config.control); }},
            {"drain", [&](auto& n, auto& p) { readDrain(r, n, p, config.drain); }},
            {"log", [&](auto& n, auto& p) { readLog(r, n, p, config.log); }},
            {"node", [&](auto& n, auto& p) { readNode(r, n, p, config.node); }},
            {"usage", [&](auto& n, auto& p) { readUsage(r, n, p, config.usage); }},
            {"store",
             [&](auto& n, auto& p) {
               readStore(r, n, p, config.store,
                         [&](auto& n2, auto& p2) { readRedis(r, n2, p2, config.redis); });
             }},
            {"api", [&](auto& n, auto& p) { readApi(r, n, p, config.api); }},
            {"calls", [&](auto& n, auto& p) { readCalls(r, n, p, config.calls); }},
            {"call_tokens", [&](auto& n, auto& p) { readCallTokens(r, n, p, config.call_tokens); }},
            {"push", [&](auto& n, auto& p) { readPush(r, n, p, config.push); }},
        });
  if (config.listen.udp.empty() && config.listen.tcp.empty()) {
    r.error(root["listen"], "listen", "no udp or tcp listen address: the server would do nothing");
  }
  if (config.store.backend == StoreBackend::Redis && !config.redis.address) {
    const YAML::Node store = root["store"];
    r.error(store && store.IsMap() && store["backend"] ? store["backend"] : root, "store.backend",
            "redis needs store.redis.address");
  }
  // A listen port inside the relay range would be handed out as a relayed
  // address (or fail to bind as one at random).
  const auto& ports = config.relay.ports;
  for (const auto& [name, list] :
       {std::pair{"udp", &config.listen.udp}, std::pair{"tcp", &config.listen.tcp},
        std::pair{"tls", &config.listen.tls}}) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const auto port = (*list)[i].port;
      if (port != 0 && port >= ports.min && port <= ports.max) {
        const YAML::Node listen = root["listen"];
        const YAML::Node entries = listen && listen.IsMap() ? listen[name] : YAML::Node();
        r.error(entries && entries.IsSequence() && i < entries.size() ? entries[i] : root,
                "listen." + std::string(name) + "[" + std::to_string(i) + "]",
                "port " + std::to_string(port) + " lies inside relay.ports (" +
                    std::to_string(ports.min) + "-" + std::to_string(ports.max) + ")");
      }
    }
  }
}

}  // namespace

std::string ConfigError::toString() const {
  std::string s = path;
  if (line > 0) {
    s += ": line " + std::to_string(line);
  }
  return s + ": " + message;
}

LoadResult loadConfig(std::string_view yaml_text) {
  LoadResult result;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    result.errors.push_back(ConfigError{"(yaml)", e.mark.line + 1, e.msg});
    return result;
  }
  Config config;
  YamlReader reader(result.errors);
  readRoot(reader, root, config);
  if (result.errors.empty()) {
    result.config = std::move(config);
  }
  return result;
}

LoadResult loadConfigFile(const std::string& path) {
  const auto text = readTextFile(path);
  if (!text) {
    LoadResult result;
    result.errors.push_back(ConfigError{path, 0, "cannot be read"});
    return result;
  }
  return loadConfig(*text);
}

}  // namespace turnpike::conf
