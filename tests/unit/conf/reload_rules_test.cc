#include "conf/reload_rules.h"

#include <gtest/gtest.h>

#include "conf/config_loader.h"

namespace turnpike::conf {
namespace {

Config load(const std::string& yaml) {
  auto r = loadConfig(yaml);
  EXPECT_TRUE(r.config.has_value()) << (r.errors.empty() ? "" : r.errors.front().toString());
  return r.config.value_or(Config{});
}

using Keys = std::vector<std::string>;

TEST(ReloadRules, SameFileChangesNothing) {
  const auto a = load("auth:\n  rest_secrets: [a]\n");
  EXPECT_EQ(restartOnlyChanges(a, a), Keys{});
  EXPECT_EQ(reloadableChanges(a, a), Keys{});
}

TEST(ReloadRules, CredentialsPolicyLimitsAndLogLevelReload) {
  const auto a = load("auth:\n  rest_secrets: [a]\n");
  const auto b = load(
      "auth:\n  rest_secrets: [b]\n  static_users:\n    u: p\nrelay:\n  peers:\n"
      "    deny: [\"203.0.113.0/24\"]\nlimits:\n  total_allocations: 5\nlog:\n  level: warn\n"
      "drain:\n  alternate_servers: [\"192.0.2.1:3478\"]\n"
      "control:\n  admin_token: a-new-token-0123456789\n");
  EXPECT_EQ(restartOnlyChanges(a, b), Keys{});
  EXPECT_EQ(reloadableChanges(a, b),
            (Keys{"auth.rest_secrets", "auth.static_users", "relay.peers", "limits",
                  "drain.alternate_servers", "control.admin_token", "log.level"}));
}

TEST(ReloadRules, SocketsWorkersAndAddressesNeedARestart) {
  const auto a = load("");
  const auto b = load(
      "listen:\n  udp: [\"0.0.0.0:3479\"]\nrelay:\n  workers: 3\n  ports:\n    min: 50000\n"
      "realm: other\nnode:\n  name: n\nlog:\n  format: json\n");
  EXPECT_EQ(restartOnlyChanges(a, b),
            (Keys{"listen.udp", "realm", "relay.ports", "relay.workers", "log.format", "node"}));
}

TEST(ReloadRules, TlsFilesReloadButNotTheirPresence) {
  const auto generated = load("");
  const auto configured = load("tls:\n  certificate: /c.pem\n  private_key: /k.pem\n");
  const auto moved = load("tls:\n  certificate: /n.pem\n  private_key: /m.pem\n");
  EXPECT_EQ(restartOnlyChanges(generated, configured), Keys{"tls.certificate"});
  EXPECT_EQ(restartOnlyChanges(configured, moved), Keys{});
  EXPECT_EQ(reloadableChanges(configured, moved), (Keys{"tls.certificate", "tls.private_key"}));
}

}  // namespace
}  // namespace turnpike::conf
