// TURN over TCP and TLS against the real binary: coturn's turnutils_uclient
// (-t, -t -S), aioice over TCP and TLS, OpenSSL's s_client for the handshake
// (ALPN, the certificate presented), and certificate reload under an open TLS
// allocation. Certificates are made per test by the openssl command line and
// trusted explicitly; verification is never switched off.

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "relay/stun/message_builder.h"
#include "tests/integration/interop_tools.h"
#include "tests/integration/loopback_client.h"
#include "tests/integration/turnpike_server.h"
#include "tests/support/subprocess.h"

namespace turnpike::testing {
namespace {

std::string tlsSection(const TestCertificate& c) {
  return "tls:\n  certificate: " + c.certificate + "\n  private_key: " + c.private_key + "\n";
}

// What `openssl s_client` sees on the TLS port: the handshake summary, and
// the SHA-256 fingerprint of the certificate presented.
std::string handshake(std::uint16_t port, const std::string& cafile) {
  return runCommand(
             {"/bin/sh", "-c",
              "openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                  " -alpn stun.turn -CAfile " + cafile + " -verify_return_error </dev/null 2>&1"},
             std::chrono::seconds{10})
      .output;
}
std::string presentedFingerprint(std::uint16_t port) {
  return runCommand({"/bin/sh", "-c",
                     "openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                         " </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256"},
                    std::chrono::seconds{10})
      .output;
}
std::string fileFingerprint(const std::string& certificate) {
  return runCommand({"openssl", "x509", "-in", certificate, "-noout", "-fingerprint", "-sha256"})
      .output;
}

class TlsInterop : public ::testing::Test {
 protected:
  TestCertificate cert = makeCertificate(::testing::TempDir(), "turnpike-test-a");
  TurnpikeServer server{kTurnTop + tlsSection(cert), kTurnRelay};
};

// turnutils_uclient -S picks a random SSL context per connection (TLS 1.0,
// 1.1, 1.2 or any) and gives a client up after a few failed handshakes, so a
// run against a TLS 1.2+ server loses clients at random. Its runs therefore
// go to a server in the legacy setting (tls.min_version 1.0), and uclient's
// own OpenSSL is allowed the old versions too (Debian's default forbids them).
class UclientTls : public ::testing::Test {
 protected:
  UclientTls() {
    std::ofstream(openssl_conf) << "openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\n"
                                   "system_default = tls\n[tls]\n"
                                   "CipherString = DEFAULT@SECLEVEL=0\nMinProtocol = TLSv1\n";
  }
  /// turnutils_uclient with `args`, under the legacy client config.
  CommandResult uclient(std::vector<std::string> args) {
    args.insert(args.begin(), {"env", "OPENSSL_CONF=" + openssl_conf, "turnutils_uclient"});
    return runCommand(args, std::chrono::seconds{90});
  }

  TestCertificate cert = makeCertificate(::testing::TempDir(), "turnpike-test-u");
  std::string openssl_conf = ::testing::TempDir() + "turnpike-uclient-openssl.cnf";
  TurnpikeServer server{
      kTurnTop + tlsSection(cert) + "  min_version: \"1.0\"\n  ciphers: \"DEFAULT@SECLEVEL=0\"\n",
      kTurnRelay};
};

TEST_F(TlsInterop, HandshakeVerifiesAndNegotiatesStunTurn) {
  ASSERT_TRUE(server.ready()) << server.process().output();
  const std::string out = handshake(server.tlsPort(), cert.certificate);
  EXPECT_NE(out.find("Verify return code: 0 (ok)"), std::string::npos) << out;
  EXPECT_NE(out.find("ALPN protocol: stun.turn"), std::string::npos) << out;
  // TLS 1.1 is below the default minimum (1.2).
  const auto old =
      runCommand({"/bin/sh", "-c",
                  "openssl s_client -connect 127.0.0.1:" + std::to_string(server.tlsPort()) +
                      " -tls1_1 </dev/null 2>&1"},
                 std::chrono::seconds{10});
  EXPECT_NE(old.output.find("alert protocol version"), std::string::npos) << old.output;
}

TEST_F(UclientTls, TurnutilsUclientOverTls) {
  ASSERT_TRUE(server.ready()) << server.process().output();
  const std::uint16_t peer_port = freeLoopbackPort();
  Subprocess peer({"turnutils_peer", "-L", "127.0.0.1", "-p", std::to_string(peer_port)});
  const auto r = uclient({"-t",
                          "-S",
                          "-E",
                          cert.certificate,
                          "-W",
                          "s3cret",
                          "-e",
                          "127.0.0.1",
                          "-r",
                          std::to_string(peer_port),
                          "-m",
                          "10",
                          "-n",
                          "100",
                          "-l",
                          "172",
                          "-c",
                          "-p",
                          std::to_string(server.tlsPort()),
                          "127.0.0.1"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("tot_send_msgs=1000, tot_recv_msgs=1000"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Total lost packets 0 (0.000000%)"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("cannot connect"), std::string::npos) << r.output;  // every version
  EXPECT_EQ(server.stop(), 0);
  EXPECT_NE(server.process().output().find(R"("transport":"tls")"), std::string::npos);
}

TEST_F(TlsInterop, AioiceOverTcpAndTls) {
  ASSERT_TRUE(server.ready()) << server.process().output();
  const auto tcp = aioice({"127.0.0.1", std::to_string(server.tcpPort()), "20", "tcp"});
  EXPECT_EQ(tcp.exit_code, 0) << tcp.output;
  EXPECT_NE(tcp.output.find("ok 20"), std::string::npos) << tcp.output;
  const auto tls =
      aioice({"127.0.0.1", std::to_string(server.tlsPort()), "20", "tls", cert.certificate});
  EXPECT_EQ(tls.exit_code, 0) << tls.output;
  EXPECT_NE(tls.output.find("ok 20"), std::string::npos) << tls.output;
}

// RFC 6062 TCP relays: uclient's -T clients reach each other through their
// TCP relayed addresses (Connect one way, ConnectionAttempt the other, a
// ConnectionBind data connection for each), over TCP and over TLS.
TEST_F(UclientTls, TurnutilsUclientTcpRelays) {
  ASSERT_TRUE(server.ready()) << server.process().output();
  const auto tcp = uclient({"-T", "-W", "s3cret", "-m", "6", "-n", "50", "-l", "120", "-p",
                            std::to_string(server.tcpPort()), "127.0.0.1"});
  EXPECT_EQ(tcp.exit_code, 0) << tcp.output;
  EXPECT_NE(tcp.output.find("tot_send_msgs=300, tot_recv_msgs=300"), std::string::npos)
      << tcp.output;
  EXPECT_NE(tcp.output.find("Total lost packets 0 (0.000000%)"), std::string::npos) << tcp.output;
  const auto tls =
      uclient({"-T", "-S", "-E", cert.certificate, "-W", "s3cret", "-m", "4", "-n", "50", "-l",
               "120", "-p", std::to_string(server.tlsPort()), "127.0.0.1"});
  EXPECT_EQ(tls.exit_code, 0) << tls.output;
  EXPECT_NE(tls.output.find("tot_send_msgs=200, tot_recv_msgs=200"), std::string::npos)
      << tls.output;
  EXPECT_EQ(server.stop(), 0);
  // 500 messages of 120 bytes each way went through data connections.
  const std::string log = server.process().output();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log, m, std::regex("relayed (\\d+)B/\\d+p to peers"))) << log;
  EXPECT_GE(std::stoul(m[1]), 500UL * 120);
}

TEST_F(TlsInterop, PionOverTcpAndTls) {
  ASSERT_TRUE(server.ready()) << server.process().output();
  for (const std::string transport : {"tcp", "tls"}) {
    const auto port = transport == "tcp" ? server.tcpPort() : server.tlsPort();
    const auto r = runCommand({PION_CLIENT, "-server", "127.0.0.1:" + std::to_string(port), "-user",
                               "alice", "-password", "alice-pw", "-realm", "example.org", "-count",
                               "20", "-transport", transport, "-ca", cert.certificate},
                              std::chrono::seconds{60});
    EXPECT_EQ(r.exit_code, 0) << transport << ": " << r.output;
    EXPECT_NE(r.output.find("ok 20"), std::string::npos) << transport << ": " << r.output;
  }
}

TEST_F(TlsInterop, CertificateReloadKeepsTheOpenAllocation) {
  ASSERT_TRUE(server.ready()) << server.process().output();
  const TestCertificate next = makeCertificate(::testing::TempDir(), "turnpike-test-b");
  // 40 echoes, 100 ms apart, over one TLS allocation that spans the reload.
  const RestCredentials user = restCredentials("user-42");
  Subprocess client({"/bin/sh", "-c",
                     "exec /usr/bin/python3 " + std::string(TURNPIKE_SOURCE_DIR) +
                         "/tests/interop/aioice_client.py 127.0.0.1 " +
                         std::to_string(server.tlsPort()) + " '" + user.username + "' '" +
                         user.password + "' 40 tls " + cert.certificate + " 0.1"});
  ASSERT_TRUE(client.waitForOutput("relayed", std::chrono::seconds{15})) << client.output();
  EXPECT_EQ(presentedFingerprint(server.tlsPort()), fileFingerprint(cert.certificate));

  // A broken file is refused and the old certificate stays.
  std::ofstream(cert.certificate) << "not a certificate\n";
  ::kill(server.process().pid(), SIGHUP);
  ASSERT_TRUE(server.process().waitForOutput("not reloaded", std::chrono::seconds{5}));
  EXPECT_NE(presentedFingerprint(server.tlsPort()), "");

  // The new pair goes where the config points; SIGHUP loads it.
  runCommand({"cp", next.certificate, cert.certificate});
  runCommand({"cp", next.private_key, cert.private_key});
  ::kill(server.process().pid(), SIGHUP);
  ASSERT_TRUE(server.process().waitForOutput("TLS certificate reloaded", std::chrono::seconds{5}));
  EXPECT_EQ(presentedFingerprint(server.tlsPort()), fileFingerprint(next.certificate));

  // The allocation made before the reload kept relaying to the end.
  EXPECT_EQ(client.stop(0, std::chrono::seconds{20}), 0) << client.output();
  EXPECT_NE(client.output().find("ok 40"), std::string::npos) << client.output();
}

// A rotation as Kubernetes does it for a mounted secret (and cert-manager,
// certbot): new files, then the configured paths switched over by a symlink
// rename. No signal: the file watch notices within tls.watch_interval, and
// both the TURN listener and the call API present the new certificate; the
// expiry gauge follows.
TEST(TlsWatch, ARotatedCertificateReachesTurnAndTheApiWithoutASignal) {
  const std::string dir = ::testing::TempDir() + "turnpike-watch-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/a");
  std::filesystem::create_directories(dir + "/b");
  const TestCertificate a = makeCertificate(dir + "/a/", "turnpike-watch-a");
  // b expires later than a: the gauge must move.
  const TestCertificate b{dir + "/b/turnpike-watch-a-cert.pem",
                          dir + "/b/turnpike-watch-a-key.pem"};
  runCommand({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
              "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30", "-subj",
              "/CN=turnpike-watch-b", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
              b.private_key, "-out", b.certificate});
  std::filesystem::create_directory_symlink("a", dir + "/data");
  const std::string certificate = dir + "/data/turnpike-watch-a-cert.pem";
  const std::string key = dir + "/data/turnpike-watch-a-key.pem";
  TurnpikeServer server(kTurnTop + "tls:\n  certificate: " + certificate +
                            "\n  private_key: " + key + "\n  watch_interval: 1s\n" +
                            "api:\n  listen: [\"127.0.0.1:0\"]\n  tls: true\n" +
                            "store:\n  sqlite:\n    path: \"" + dir + "/t.db\"\n",
                        kTurnRelay);
  ASSERT_TRUE(server.ready() && server.apiPort() != 0) << server.process().output();
  EXPECT_EQ(presentedFingerprint(server.tlsPort()), fileFingerprint(a.certificate));
  EXPECT_EQ(presentedFingerprint(server.apiPort()), fileFingerprint(a.certificate));
  const double before = metricValue(
      server.metricsPort(), "turnpike_tls_certificate_expiry_timestamp_seconds{listener=\"api\"}");
  EXPECT_GT(before, 0);

  std::filesystem::create_directory_symlink("b", dir + "/data.new");
  std::filesystem::rename(dir + "/data.new", dir + "/data");  // atomic, as the kubelet does
  ASSERT_TRUE(server.process().waitForOutput("TLS certificate reloaded", std::chrono::seconds{10}))
      << server.process().output();
  EXPECT_EQ(presentedFingerprint(server.tlsPort()), fileFingerprint(b.certificate));
  EXPECT_EQ(presentedFingerprint(server.apiPort()), fileFingerprint(b.certificate));
  for (const char* listener : {"turn", "api"}) {
    EXPECT_GT(
        metricValue(server.metricsPort(),
                    std::string("turnpike_tls_certificate_expiry_timestamp_seconds{listener=\"") +
                        listener + "\"}"),
        before + 20 * 86400.0)
        << listener;
  }
  EXPECT_EQ(server.stop(), 0);
  std::filesystem::remove_all(dir);
}

TEST(TlsSelfSigned, GeneratedWhenNoCertificateIsConfigured) {
  TurnpikeServer server;
  ASSERT_TRUE(server.ready()) << server.process().output();
  EXPECT_NE(server.process().output().find("generated a self-signed one"), std::string::npos);
  const std::string out =
      runCommand({"/bin/sh", "-c",
                  "openssl s_client -connect 127.0.0.1:" + std::to_string(server.tlsPort()) +
                      " </dev/null 2>&1"},
                 std::chrono::seconds{10})
          .output;
  EXPECT_NE(out.find("turnpike self-signed"), std::string::npos) << out;
}

// Slowloris: a connection that never finishes its TLS handshake is closed
// after tls.handshake_timeout even though the idle timeout is far away.
TEST(ConnectionHygiene, StalledTlsHandshakeIsClosed) {
  TurnpikeServer server("  tcp_idle_timeout: 10m\ntls:\n  handshake_timeout: 1s\n");
  ASSERT_TRUE(server.ready()) << server.process().output();
  LoopbackSocket stalled(SOCK_STREAM, server.tlsPort());
  ASSERT_TRUE(stalled.connected());
  const std::array<std::uint8_t, 3> partial_record{0x16, 0x03, 0x01};  // a ClientHello begins
  ASSERT_TRUE(stalled.send(partial_record));
  const auto eof = stalled.receive(15'000);  // bounded wait; closed after about 1-2 s
  ASSERT_TRUE(eof.has_value());
  EXPECT_TRUE(eof->empty());
}

// Connections over the per-source cap are closed at once; those within it
// still answer, and a closed one frees its slot.
TEST(ConnectionHygiene, PerSourceConnectionCap) {
  TurnpikeServer server("limits:\n  connections_per_source: 2\n");
  ASSERT_TRUE(server.ready()) << server.process().output();
  const auto binding = [] {
    std::array<std::uint8_t, 20> buf{};
    stun::MessageBuilder b(buf, {stun::Method::Binding, stun::MessageClass::Request},
                           stun::TransactionId{1, 2, 3});
    return std::vector<std::uint8_t>(b.bytes().begin(), b.bytes().end());
  }();
  auto first = std::make_unique<LoopbackSocket>(SOCK_STREAM, server.tcpPort());
  LoopbackSocket second(SOCK_STREAM, server.tlsPort());  // TLS counts too
  ASSERT_TRUE(first->connected() && second.connected());
  ASSERT_TRUE(first->send(binding));
  ASSERT_TRUE(first->receiveExactly(32).has_value());  // answered: XOR-MAPPED-ADDRESS
  LoopbackSocket third(SOCK_STREAM, server.tcpPort());
  ASSERT_TRUE(third.connected());  // the kernel accepts; the server closes it
  const auto eof = third.receive(10'000);
  ASSERT_TRUE(eof.has_value());
  EXPECT_TRUE(eof->empty());
  first.reset();
  // The slot comes back once the server has seen the close.
  bool answered = false;
  for (int attempt = 0; attempt < 50 && !answered; ++attempt) {
    LoopbackSocket again(SOCK_STREAM, server.tcpPort());
    answered = again.send(binding) && again.receiveExactly(32, 200).has_value();
  }
  EXPECT_TRUE(answered);
}

}  // namespace
}  // namespace turnpike::testing
