// Headless Chromium (Debian's) makes WebRTC calls through Turnpike over UDP,
// TCP and TLS with relay-only ICE (tests/browser/relay_call.mjs, driven by
// playwright-core). The test certificate is trusted explicitly by its key.

#include <gtest/gtest.h>

#include <string>

#include "tests/integration/interop_tools.h"
#include "tests/integration/turnpike_server.h"
#include "tests/support/subprocess.h"

namespace turnpike::testing {
namespace {

TEST(Browser, ChromiumCallsRelayOverUdpTcpAndTls) {
  const TestCertificate cert = makeCertificate(::testing::TempDir(), "turnpike-browser");
  TurnpikeServer server(kTurnTop + "tls:\n  certificate: " + cert.certificate +
                            "\n  private_key: " + cert.private_key + "\n",
                        kTurnRelay);
  ASSERT_TRUE(server.ready()) << server.process().output();
  const auto spki = runCommand(
      {"/bin/sh", "-c",
       "openssl x509 -in " + cert.certificate +
           " -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | "
           "base64"});
  ASSERT_EQ(spki.exit_code, 0) << spki.output;
  const RestCredentials user = restCredentials("browser-user");
  const auto r =
      runCommand({"node", std::string(TURNPIKE_SOURCE_DIR) + "/tests/browser/relay_call.mjs",
                  "127.0.0.1", std::to_string(server.udpPort()), std::to_string(server.tcpPort()),
                  std::to_string(server.tlsPort()), user.username, user.password,
                  spki.output.substr(0, spki.output.find('\n'))},
                 std::chrono::seconds{150});
  EXPECT_EQ(r.exit_code, 0) << r.output << server.process().output();
  for (const char* transport : {"udp", "tcp", "tls"}) {
    EXPECT_NE(r.output.find(
                  std::string("ok ") + transport +
                  " reply=echo:hello through turnpike pair=relay/relay relayProtocol=" + transport),
              std::string::npos)
        << r.output;
  }
  EXPECT_EQ(server.stop(), 0);
  const std::string log = server.process().output();
  for (const char* transport : {"udp", "tcp", "tls"}) {
    EXPECT_NE(log.find(std::string(R"("event":"allocation.created")")), std::string::npos);
    EXPECT_NE(log.find(std::string(R"("user":"browser-user","realm":"example.org","transport":")") +
                       transport + "\""),
              std::string::npos)
        << log;
  }
}

}  // namespace
}  // namespace turnpike::testing
