#include "conf/config_loader.h"

#include <gtest/gtest.h>

#include "conf/duration.h"

namespace turnpike::conf {
namespace {

std::string onlyError(const LoadResult& r) {
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(r.errors.size(), 1U);
  return r.errors.empty() ? "" : r.errors.front().toString();
}

TEST(ConfigLoader, EmptyFileMeansDefaults) {
  const auto r = loadConfig("");
  ASSERT_TRUE(r.config.has_value());
  EXPECT_EQ(r.config->listen.udp.size(), 1U);
  EXPECT_EQ(r.config->listen.udp[0].toString(), "0.0.0.0:3478");
  EXPECT_EQ(r.config->log.level, LogLevel::Info);
  EXPECT_TRUE(r.config->server.software.empty());
}

TEST(ConfigLoader, ReadsTypedValues) {
  const auto r = loadConfig(R"(
server:
  software: "turnpike test"
  shutdown_grace: 2s
  tcp_idle_timeout: 10m
listen:
  udp: ["127.0.0.1:0", "[::1]:3478"]
  tcp: []
relay:
  workers: 3
log:
  level: debug
  format: json
)");
  ASSERT_TRUE(r.config.has_value()) << r.errors.front().toString();
  const Config& c = *r.config;
  EXPECT_EQ(c.server.software, "turnpike test");
  EXPECT_EQ(c.server.shutdown_grace, std::chrono::seconds{2});
  EXPECT_EQ(c.server.tcp_idle_timeout, std::chrono::minutes{10});
  ASSERT_EQ(c.listen.udp.size(), 2U);
  EXPECT_TRUE(c.listen.udp[1].ipv6);
  EXPECT_EQ(c.listen.udp[1].toString(), "[::1]:3478");
  EXPECT_TRUE(c.listen.tcp.empty());
  EXPECT_EQ(c.relay.workers, 3U);
  EXPECT_EQ(effectiveWorkers(c), 3U);
  EXPECT_EQ(c.log.format, LogFormat::Json);
}

TEST(ConfigLoader, SocketBuffers) {
  const auto r = loadConfig(
      "server:\n  socket_buffers: {udp_receive: 8388608, relay_send: 65536, udp_send: 0}\n");
  ASSERT_TRUE(r.config.has_value()) << r.errors.front().toString();
  const SocketBuffers& b = r.config->server.socket_buffers;
  EXPECT_EQ(b.udp_receive, 8388608U);
  EXPECT_EQ(b.udp_send, 0U);
  EXPECT_EQ(b.relay_receive, 0U);  // default: the kernel's
  EXPECT_EQ(b.relay_send, 65536U);

  const auto bad = loadConfig("server:\n  socket_buffers:\n    udp_receive: -1\n");
  ASSERT_FALSE(bad.config.has_value());
  EXPECT_EQ(bad.errors.front().path, "server.socket_buffers.udp_receive");
  EXPECT_EQ(bad.errors.front().line, 3);
}

TEST(ConfigLoader, TlsKeys) {
  const auto r = loadConfig(
      "listen:\n  tls: [\"0.0.0.0:443\"]\ntls:\n  certificate: /c.pem\n  private_key: /k.pem\n"
      "  min_version: \"1.3\"\n  ciphersuites: TLS_AES_128_GCM_SHA256\n");
  ASSERT_TRUE(r.config.has_value()) << r.errors.front().toString();
  EXPECT_EQ(r.config->listen.tls.front().port, 443);
  EXPECT_EQ(r.config->tls.min_version, "1.3");
  EXPECT_EQ(r.config->tls.ciphersuites, "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(onlyError(loadConfig("tls:\n  min_version: \"1.4\"\n")),
            "tls.min_version: line 2: must be \"1.2\" or \"1.3\" (\"1.0\", \"1.1\": legacy clients "
            "only)");
  EXPECT_EQ(onlyError(loadConfig("tls:\n  certificate: /c.pem\n")),
            "tls: line 2: certificate and private_key go together");
  EXPECT_EQ(r.config->tls.watch_interval, std::chrono::seconds{60});  // the default
  EXPECT_EQ(loadConfig("tls:\n  watch_interval: 0s\n").config->tls.watch_interval.count(), 0);
  EXPECT_EQ(onlyError(loadConfig("tls:\n  watch_interval: 500ms\n")),
            "tls.watch_interval: line 2: must be 0 (off) or at least 1s");
}

TEST(ConfigLoader, OperationsKeys) {
  const auto r = loadConfig(
      "node:\n  name: edge-1\n  region: eu-west\nusage:\n  interval: 30s\n  buffer: 500\n"
      "store:\n  redis:\n    address: \"127.0.0.1:6379\"\n    stream: usage\n"
      "    max_length: 1000\nmetrics:\n  basic_auth:\n    username: prom\n    password: pw\n");
  ASSERT_TRUE(r.config.has_value()) << r.errors.front().toString();
  EXPECT_EQ(r.config->node.name, "edge-1");
  EXPECT_EQ(r.config->node.region, "eu-west");
  EXPECT_EQ(r.config->usage.interval, std::chrono::seconds{30});
  EXPECT_EQ(r.config->usage.buffer, 500U);
  ASSERT_TRUE(r.config->redis.address.has_value());
  EXPECT_EQ(r.config->redis.address->port, 6379);
  EXPECT_EQ(r.config->redis.stream, "usage");
  EXPECT_EQ(r.config->metrics_auth.username, "prom");
  EXPECT_FALSE(loadConfig("").config->redis.address.has_value());  // no Redis by default
  EXPECT_EQ(onlyError(loadConfig("usage:\n  interval: 500ms\n")),
            "usage.interval: line 2: must be 0 (only when an allocation ends) or at least 1s");
  EXPECT_EQ(onlyError(loadConfig("store:\n  redis:\n    adress: \"127.0.0.1:1\"\n")),
            "store.redis.adress: line 3: unknown key (did you mean \"store.redis.address\"?)");
  EXPECT_EQ(onlyError(loadConfig("metrics:\n  basic_auth:\n    username: prom\n")),
            "metrics.basic_auth: line 3: username and password go together");
}

TEST(ConfigLoader, DuplicateKeysAreErrors) {
  EXPECT_EQ(onlyError(loadConfig("metrics:\n  listen: \"127.0.0.1:0\"\nmetrics:\n  listen: x\n")),
            "metrics: line 3: duplicate key (first at line 1)");
  EXPECT_EQ(loadConfig(": x\n").errors.front().toString(), "\"\": line 1: empty or missing key");
}

TEST(ConfigLoader, WorkersAuto) {
  const auto r = loadConfig("relay:\n  workers: auto\n");
  ASSERT_TRUE(r.config.has_value());
  EXPECT_EQ(r.config->relay.workers, 0U);
  EXPECT_GE(effectiveWorkers(*r.config), 1U);
}

TEST(ConfigLoader, PortOutOfRangeNamesPathAndLine) {
  const auto r = loadConfig(R"(listen:
  udp:
    - "0.0.0.0:3478"
    - "0.0.0.0:70000"
)");
  EXPECT_EQ(onlyError(r), "listen.udp[1]: line 4: port 70000 is out of range");
}

TEST(ConfigLoader, ListenPortInsideRelayPortsIsAnError) {
  const auto r = loadConfig(R"(listen:
  udp: ["0.0.0.0:3478"]
  tls:
    - "0.0.0.0:5349"
    - "0.0.0.0:50010"
relay:
  ports: {min: 50000, max: 50100}
)");
  EXPECT_EQ(onlyError(r),
            "listen.tls[1]: line 5: port 50010 lies inside relay.ports (50000-50100)");
}

TEST(ConfigLoader, LimitsForPermissionsAndTcpPeers) {
  const auto r = loadConfig(
      "limits:\n  permissions_per_allocation: 20\n  tcp_peers_per_allocation: 4\n"
      "  tcp_peers_per_user: 9\n");
  ASSERT_TRUE(r.config.has_value()) << r.errors.front().toString();
  EXPECT_EQ(r.config->limits.permissions_per_allocation, 20U);
  EXPECT_EQ(r.config->limits.tcp_peers_per_allocation, 4U);
  EXPECT_EQ(r.config->limits.tcp_peers_per_user, 9U);
  EXPECT_EQ(onlyError(loadConfig("limits:\n  permissions_per_allocation: 0\n")),
            "limits.permissions_per_allocation: line 2: 0 is out of range (1..10000)");
}

TEST(ConfigLoader, TypoKeySuggestsTheRightOne) {
  const auto r = loadConfig("listen:\n  udpp: []\n");
  EXPECT_EQ(onlyError(r), "listen.udpp: line 2: unknown key (did you mean \"listen.udp\"?)");
}

TEST(ConfigLoader, WrongTypes) {
  EXPECT_EQ(onlyError(loadConfig("listen:\n  udp: \"0.0.0.0:3478\"\n")),
            "listen.udp: line 2: expected a list, got \"0.0.0.0:3478\"");
  EXPECT_EQ(onlyError(loadConfig("relay:\n  workers: many\n")),
            "relay.workers: line 2: expected a number, got \"many\"");
  EXPECT_EQ(onlyError(loadConfig("log: verbose\n")),
            "log: line 1: expected a mapping, got \"verbose\"");
  EXPECT_EQ(onlyError(loadConfig("server:\n  shutdown_grace: 5\n")),
            "server.shutdown_grace: line 2: \"5\" is not a duration (write 500ms, 30s, 10m, 1h "
            "or 1d)");
}

TEST(ConfigLoader, ReportsEveryError) {
  const auto r = loadConfig("bogus: 1\nlog:\n  level: loud\n  format: xml\n");
  ASSERT_EQ(r.errors.size(), 3U);
  EXPECT_EQ(r.errors[0].path, "bogus");
  EXPECT_EQ(r.errors[1].line, 3);
  EXPECT_EQ(r.errors[2].path, "log.format");
}

TEST(ConfigLoader, ControlAndDrainKeys) {
  const auto r = loadConfig(
      "control:\n  listen: 127.0.0.1:0\n  admin_token: 0123456789abcdef\n"
      "drain:\n  alternate_servers: [\"192.0.2.9:3478\"]\n  deadline: 30s\n");
  ASSERT_TRUE(r.config.has_value()) << r.errors.front().toString();
  EXPECT_EQ(r.config->control.admin_token, "0123456789abcdef");
  EXPECT_EQ(r.config->drain.alternate_servers.front().toString(), "192.0.2.9:3478");
  EXPECT_EQ(r.config->drain.deadline, std::chrono::seconds{30});
  EXPECT_EQ(onlyError(loadConfig("control:\n  listen: \"0.0.0.0:70000\"\n")),
            "control.listen: line 2: port 70000 is out of range");
  EXPECT_EQ(onlyError(loadConfig("control:\n  admin_token: short\n")),
            "control.admin_token: line 2: must be at least 16 characters");
}

TEST(ConfigLoader, TurnKeys) {
  const auto r = loadConfig(R"(
realm: example.org
auth:
  rest_secrets: [new, old]
  static_users:
    alice: pw
  max_ttl: 12h
  nonce_lifetime: 5m
relay:
  addresses:
    - bind: 10.0.0.5
      external: 203.0.113.5
  ports: {min: 50000, max: 50100}
  max_lifetime: 1h
  peers:
    allow_loopback: true
    allow: ["10.1.0.0/16"]
    deny: ["8.8.8.8/32"]
limits:
  allocations_per_user: 3
  total_allocations: 50
  allocation_bytes_per_second: 125000
  unauthenticated_per_second: 5
)");
  ASSERT_TRUE(r.config.has_value()) << r.errors.front().toString();
  const Config& c = *r.config;
  EXPECT_EQ(c.realm, "example.org");
  EXPECT_EQ(c.auth.rest_secrets, (std::vector<std::string>{"new", "old"}));
  EXPECT_EQ(c.auth.static_users.at("alice"), "pw");
  EXPECT_EQ(c.auth.max_ttl, std::chrono::hours{12});
  EXPECT_EQ(c.relay.addresses[0].external, "203.0.113.5");
  EXPECT_EQ(c.relay.ports.max, 50100);
  EXPECT_TRUE(c.relay.peers.allow_loopback);
  EXPECT_EQ(c.relay.peers.deny[0].prefix_length, 32U);
  EXPECT_EQ(c.limits.allocations_per_user, 3U);
  EXPECT_EQ(c.limits.allocation_bytes_per_second, 125000U);
}

TEST(ConfigLoader, TurnKeysAreChecked) {
  EXPECT_EQ(onlyError(loadConfig("relay:\n  ports:\n    min: 60000\n    max: 50000\n")),
            "relay.ports: line 3: min 60000 is above max 50000");
  EXPECT_EQ(onlyError(loadConfig("relay:\n  addresses:\n    - external: 1.2.3.4\n")),
            "relay.addresses[0].bind: line 3: is required");
  EXPECT_EQ(onlyError(loadConfig("auth:\n  rest_secrets: [\"\"]\n")),
            "auth.rest_secrets: line 2: a secret must not be empty");
  EXPECT_EQ(onlyError(loadConfig("relay:\n  peers:\n    allow: [\"10.0.0.0/33\"]\n")),
            "relay.peers.allow[0]: line 3: prefix length \"33\" is out of range");
}

TEST(ConfigLoader, SoftwareIsBoundedAsTheRfcSays) {
  const std::string yaml = "server:\n  software: \"" + std::string(128, 's') + "\"\n";
  EXPECT_EQ(onlyError(loadConfig(yaml)),
            "server.software: line 2: must be fewer than 128 characters");
}

TEST(ConfigLoader, YamlSyntaxErrorHasALine) {
  const auto r = loadConfig("listen:\n  udp: [\n");
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_GT(r.errors[0].line, 0);
}

TEST(ConfigLoader, NothingToListenOnIsAnError) {
  const auto r = loadConfig("listen:\n  udp: []\n  tcp: []\n");
  EXPECT_NE(onlyError(r).find("no udp or tcp listen address"), std::string::npos);
}

TEST(Duration, ParsesUnits) {
  EXPECT_EQ(parseDuration("30s"), std::chrono::seconds{30});
  EXPECT_EQ(parseDuration("10m"), std::chrono::minutes{10});
  EXPECT_EQ(parseDuration("250ms"), std::chrono::milliseconds{250});
  EXPECT_EQ(parseDuration("2h"), std::chrono::hours{2});
  EXPECT_EQ(parseDuration("1d"), std::chrono::hours{24});
  EXPECT_FALSE(parseDuration("30").has_value());
  EXPECT_FALSE(parseDuration("s").has_value());
  EXPECT_FALSE(parseDuration("-5s").has_value());
  EXPECT_FALSE(parseDuration("5 s").has_value());
  EXPECT_FALSE(parseDuration("99999999999d").has_value());
}

TEST(Endpoint, ParsesBothFamilies) {
  Endpoint e;
  EXPECT_EQ(parseEndpoint("[::]:3478", e), "");
  EXPECT_TRUE(e.ipv6);
  EXPECT_EQ(e.ip, "::");
  EXPECT_EQ(parseEndpoint("::1:3478", e),
            "\"::1:3478\" is not ip:port (IPv6 is written [::1]:3478)");
  EXPECT_EQ(parseEndpoint("localhost:3478", e), "\"localhost\" is not an IP address");
  EXPECT_EQ(parseEndpoint("1.2.3.4:x", e), "\"x\" is not a port number");
  EXPECT_EQ(parseEndpoint("1.2.3.4:99999999999999999999", e),
            "port 99999999999999999999 is out of range");
}

}  // namespace
}  // namespace turnpike::conf
