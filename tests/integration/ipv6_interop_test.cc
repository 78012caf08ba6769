// IPv6 (RFC 6156 as folded into RFC 8656) against the real binary: a ::1
// listener answering Binding, and turnutils_uclient over ::1 getting an IPv6
// relay (-x) toward an IPv6 peer, and an IPv4 relay toward an IPv4 peer.

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "tests/integration/interop_tools.h"
#include "tests/integration/turnpike_server.h"
#include "tests/support/subprocess.h"

namespace turnpike::testing {
namespace {

class Ipv6Interop : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server.ready()) << server.process().output();
    std::smatch m;
    const std::string log = server.process().output();
    ASSERT_TRUE(std::regex_search(log, m, std::regex("listening on udp \\[::1\\]:(\\d+)"))) << log;
    port6 = m[1];
  }

  TurnpikeServer server{kTurnTop,
                        kTurnRelay + "  addresses: [{bind: 127.0.0.1}, {bind: \"::1\"}]\n",
                        "listen:\n  udp: [\"127.0.0.1:0\", \"[::1]:0\"]\n"
                        "  tcp: [\"127.0.0.1:0\"]\n  tls: [\"127.0.0.1:0\"]\n"};
  std::string port6;
};

TEST_F(Ipv6Interop, BindingOnTheIpv6Listener) {
  const auto r = runCommand({"turnutils_stunclient", "-p", port6, "::1"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("UDP reflexive addr: ::1:"), std::string::npos) << r.output;
}

TEST_F(Ipv6Interop, UclientGetsAnIpv6RelayAndAnIpv4Relay) {
  const std::uint16_t peer_port = freeLoopbackPort();
  Subprocess peer6({"turnutils_peer", "-L", "::1", "-p", std::to_string(peer_port)});
  Subprocess peer4({"turnutils_peer", "-L", "127.0.0.1", "-p", std::to_string(peer_port)});
  // -x: REQUESTED-ADDRESS-FAMILY IPv6, peer on ::1.
  const auto v6 = runCommand(
      {"turnutils_uclient", "-x", "-W", "s3cret", "-e", "::1", "-r", std::to_string(peer_port),
       "-m", "5", "-n", "50", "-l", "172", "-c", "-p", port6, "::1"},
      std::chrono::seconds{60});
  EXPECT_EQ(v6.exit_code, 0) << v6.output;
  EXPECT_NE(v6.output.find("tot_send_msgs=250, tot_recv_msgs=250"), std::string::npos) << v6.output;
  // An IPv6 client with the default (IPv4) relay, peer on 127.0.0.1.
  const auto v4 = runCommand(
      {"turnutils_uclient", "-W", "s3cret", "-e", "127.0.0.1", "-r", std::to_string(peer_port),
       "-m", "5", "-n", "50", "-l", "172", "-c", "-p", port6, "::1"},
      std::chrono::seconds{60});
  EXPECT_EQ(v4.exit_code, 0) << v4.output;
  EXPECT_NE(v4.output.find("tot_send_msgs=250, tot_recv_msgs=250"), std::string::npos) << v4.output;
  EXPECT_EQ(server.stop(), 0);
  const std::string log = server.process().output();
  EXPECT_NE(log.find(R"("relayed":"[::1]:)"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("client":"[::1]:)"), std::string::npos) << log;
}

}  // namespace
}  // namespace turnpike::testing
