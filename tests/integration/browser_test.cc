// Headless Chromium (Debian's) makes WebRTC calls through Turnpike over UDP,
// TCP and TLS with relay-only ICE (tests/browser/relay_call.mjs, driven by
// playwright-core). The test certificate is trusted explicitly by its key.
// Two Chromium pages also place and answer a call through the call API, with
// all signaling inside the pages (tests/browser/api_call.mjs).

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <regex>
#include <sstream>
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

// A real call in real browsers: two Chromium pages, alice and bob, each with
// its own user token, run a web app against the call API (fetch + one
// WebSocket each, all signaling inside the pages) and talk relay-only through
// Turnpike with the TURN credentials of their call (tests/browser/api_call.mjs).
// After alice hangs up, the relay holds no allocation of the call and the
// admin view shows the TURN allocations and the end.
TEST(Browser, TwoChromiumPagesCallThroughTheApi) {
  const std::string user_secret = "browser-user-secret-0123";
  const std::string admin_token = "browser-admin-token-0123";
  const std::string db =
      ::testing::TempDir() + "browser-calls-" + std::to_string(::getpid()) + ".db";
  std::remove(db.c_str());
  TurnpikeServer server(
      kTurnTop + "api:\n  listen: [\"127.0.0.1:0\"]\n  tls: false\n" +
          "  user_tokens:\n    hs256_secrets: [\"" + user_secret + "\"]\n" +
          "store:\n  sqlite:\n    path: \"" + db + "\"\n",
      kTurnRelay, TurnpikeServer::kLoopbackListen,
      "control:\n  listen: \"127.0.0.1:0\"\n  admin_token: \"" + admin_token + "\"\n");
  ASSERT_TRUE(server.ready()) << server.process().output();
  ASSERT_NE(server.apiPort(), 0) << server.process().output();
  ASSERT_NE(server.controlPort(), 0) << server.process().output();
  const auto r =
      runCommand({"node", std::string(TURNPIKE_SOURCE_DIR) + "/tests/browser/api_call.mjs",
                  "http://127.0.0.1:" + std::to_string(server.apiPort()), user_secret,
                  "http://127.0.0.1:" + std::to_string(server.controlPort()), admin_token},
                 std::chrono::seconds{90});
  EXPECT_EQ(r.exit_code, 0) << r.output << server.process().output();
  for (const char* line :
       {"ok call devices registered", "ok call each side has its own TURN credentials",
        "ok call signal.offer from alice and signal.answer from bob",
        "ok call data channel both ways", "ok call POST /connected -> state connected",
        "ok call alice selected pair relay/relay", "ok call bob selected pair relay/relay",
        "ok call POST /end -> state ended endReason hangup",
        "ok call bob got call.ended reason=hangup",
        "ok call allocations of the call left on the relay after the end: 0",
        "ok call admin view: state ended endReason hangup"}) {
    EXPECT_NE(r.output.find(line), std::string::npos) << line << "\n" << r.output;
  }
  EXPECT_EQ(server.stop(), 0);
  // The relay, not the browsers (their peer connections were still open),
  // deleted both allocations of the call: usage records say call_ended.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("ok call ([0-9a-f-]{36}): bob got")))
      << r.output;
  const std::string call_id = m[1];
  const std::string log = server.process().output();
  int created = 0;
  int revoked = 0;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(R"("callId":")" + call_id + "\"") == std::string::npos) continue;
    if (line.find(R"("event":"allocation.created")") != std::string::npos) ++created;
    if (line.find(R"("event":"allocation.deleted")") != std::string::npos &&
        line.find(R"("reason":"call_ended")") != std::string::npos) {
      ++revoked;
    }
  }
  EXPECT_GE(created, 2) << log;
  EXPECT_EQ(revoked, created) << log;
  std::remove(db.c_str());
  for (const char* suffix : {"-wal", "-shm"}) {
    std::remove((db + suffix).c_str());
  }
}

}  // namespace
}  // namespace turnpike::testing
