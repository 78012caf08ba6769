// TURN over UDP against the real binary on loopback, with clients none of us
// wrote: coturn's turnutils_uclient (with turnutils_peer), pion/turn and
// aioice. Plus a bounded flood of unauthenticated Allocates.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>

#include "relay/stun/message_builder.h"
#include "relay/stun/turn_attributes.h"
#include "tests/integration/interop_tools.h"
#include "tests/integration/loopback_client.h"
#include "tests/integration/turnpike_server.h"
#include "tests/support/subprocess.h"

namespace turnpike::testing {
namespace {

// uclient pairs each RTP-like stream with an RTCP one unless given -c, so
// without -c it binds twice as many channels (numbers up to 0x7FFF).
CommandResult uclient(const TurnpikeServer& server, std::uint16_t peer_port, bool send_indications,
                      bool rtcp = false) {
  std::vector<std::string> args = {"turnutils_uclient",
                                   "-W",
                                   "s3cret",
                                   "-e",
                                   "127.0.0.1",
                                   "-r",
                                   std::to_string(peer_port),
                                   "-m",
                                   "20",
                                   "-n",
                                   "100",
                                   "-l",
                                   "172",
                                   "-p",
                                   std::to_string(server.udpPort())};
  if (!rtcp) args.push_back("-c");
  if (send_indications) args.push_back("-s");
  args.push_back("127.0.0.1");
  return runCommand(args, std::chrono::seconds{90});
}

class TurnInterop : public ::testing::Test {
 protected:
  TurnpikeServer server{kTurnTop, kTurnRelay};
};

TEST_F(TurnInterop, TurnutilsUclientThroughChannelsAndSendIndications) {
  ASSERT_TRUE(server.ready()) << server.process().output();
  const std::uint16_t peer_port = freeLoopbackPort();
  Subprocess peer({"turnutils_peer", "-L", "127.0.0.1", "-p", std::to_string(peer_port)});
  // Default server settings: with and without -c, channels and Send indications.
  for (const auto& [send_indications, rtcp] :
       {std::pair{false, false}, std::pair{true, false}, std::pair{false, true}}) {
    const auto r = uclient(server, peer_port, send_indications, rtcp);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("tot_send_msgs=2000, tot_recv_msgs=2000"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("Total lost packets 0 (0.000000%)"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("error 400"), std::string::npos) << r.output;
  }
  EXPECT_EQ(server.stop(), 0);
  const std::string log = server.process().output();
  EXPECT_NE(log.find("channel bound"), std::string::npos);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log, m, std::regex("(\\d+) indications"))) << log;
  EXPECT_GE(std::stoul(m[1]), 2000UL);  // the -s run went through Send indications
}

TEST_F(TurnInterop, TurnutilsUclientOverTcp) {
  // A TCP client connection relaying to UDP peers (RFC 8656 §3.1).
  ASSERT_TRUE(server.ready()) << server.process().output();
  const std::uint16_t peer_port = freeLoopbackPort();
  Subprocess peer({"turnutils_peer", "-L", "127.0.0.1", "-p", std::to_string(peer_port)});
  const auto r = runCommand({"turnutils_uclient", "-t", "-W", "s3cret", "-e", "127.0.0.1", "-r",
                             std::to_string(peer_port), "-m", "10", "-n", "100", "-l", "172", "-c",
                             "-p", std::to_string(server.tcpPort()), "127.0.0.1"},
                            std::chrono::seconds{90});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("tot_send_msgs=1000, tot_recv_msgs=1000"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Total lost packets 0 (0.000000%)"), std::string::npos) << r.output;
}

TEST_F(TurnInterop, PionClientAllocatesRelaysAndDeletes) {
  ASSERT_TRUE(server.ready()) << server.process().output();
  const auto r =
      runCommand({PION_CLIENT, "-server", "127.0.0.1:" + std::to_string(server.udpPort()), "-user",
                  "alice", "-password", "alice-pw", "-realm", "example.org", "-count", "20"},
                 std::chrono::seconds{60});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ok 20"), std::string::npos) << r.output;
  EXPECT_EQ(server.stop(), 0);
  const std::string log = server.process().output();
  EXPECT_NE(log.find("channel bound"), std::string::npos) << log;  // later messages by channel
  EXPECT_NE(log.find("1 indications"), std::string::npos) << log;  // the first by indication
  EXPECT_NE(log.find(R"("reason":"refresh","bytes_client_to_peer":290,"packets_client_to_peer":20,)"
                     R"("bytes_peer_to_client":290,"packets_peer_to_client":20})"),
            std::string::npos)
      << log;
}

TEST_F(TurnInterop, AioiceClientExchangesDataWithAnEchoPeer) {
  ASSERT_TRUE(server.ready()) << server.process().output();
  const auto r = aioice({"127.0.0.1", std::to_string(server.udpPort()), "20"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ok 20"), std::string::npos) << r.output;
  EXPECT_EQ(server.stop(), 0);
  const std::string log = server.process().output();
  EXPECT_NE(log.find(R"("event":"allocation.created")"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("user":"user-42")"), std::string::npos) << log;
}

// At log.level warn nobody reads event lines, so none are built or written;
// the relay works the same. (Started at info: the harness reads the ports
// off the log; then reloaded to warn.)
TEST(TurnInteropQuiet, NoEventLinesAtWarn) {
  const std::string token = "quiet-test-token-0123";
  const std::string control = "control:\n  listen: \"127.0.0.1:0\"\n  admin_token: " + token + "\n";
  const auto top = [](const char* level) {
    return std::string("realm: example.org\nauth:\n  rest_secrets: [\"s3cret\"]\nlog:\n  level: ") +
           level + "\n";
  };
  TurnpikeServer server(top("info"), kTurnRelay, TurnpikeServer::kLoopbackListen, control);
  ASSERT_TRUE(server.ready() && server.controlPort() != 0) << server.process().output();
  server.rewrite(top("warn"), kTurnRelay, TurnpikeServer::kLoopbackListen, control);
  const auto reloaded = httpRequest(server.controlPort(), "POST", "/admin/reload",
                                    "Authorization: Bearer " + token + "\r\n");
  ASSERT_EQ(reloaded.status, 200) << reloaded.body;
  const std::size_t mark = server.process().output().size();
  const auto r = aioice({"127.0.0.1", std::to_string(server.udpPort()), "5"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ok 5"), std::string::npos) << r.output;
  EXPECT_EQ(server.stop(), 0);
  const std::string log = server.process().output().substr(mark);
  EXPECT_EQ(log.find("\"event\":\"allocation."), std::string::npos) << log;
}

TEST(TurnFlood, UnauthenticatedFloodGetsBoundedAnswersAndNoMemory) {
  // The default: 10 unauthenticated answers per second per source IP (per worker).
  TurnpikeServer server("realm: example.org\nauth:\n  rest_secrets: [\"s3cret\"]\n");
  ASSERT_TRUE(server.ready()) << server.process().output();
  std::array<std::uint8_t, 128> buf{};
  const auto start = std::chrono::steady_clock::now();
  const long rss_before = server.rssKb();
  constexpr int kSockets = 100;
  constexpr int kPerSocket = 50;
  std::vector<std::unique_ptr<LoopbackSocket>> sockets;
  for (int i = 0; i < kSockets; ++i) {
    sockets.push_back(std::make_unique<LoopbackSocket>(SOCK_DGRAM, server.udpPort()));
  }
  for (int round = 0; round < kPerSocket; ++round) {
    for (auto& s : sockets) {
      stun::TransactionId tid{};
      tid[0] = static_cast<std::uint8_t>(round);
      stun::MessageBuilder b(buf, {stun::Method::Allocate, stun::MessageClass::Request}, tid);
      b.add(stun::AttributeType::RequestedTransport,
            stun::encodeRequestedTransport(stun::kProtocolUdp));
      s->send(b.bytes());
    }
  }
  int answers = 0;
  for (auto& s : sockets) {
    while (s->receive(answers == 0 ? 500 : 50)) ++answers;
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const long rss_after = server.rssKb();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(elapsed).count() + 1;
  // 5000 requests; at most 10 per second per worker (2 workers) get an answer.
  EXPECT_GT(answers, 0);
  EXPECT_LE(answers, 10 * 2 * (seconds + 1)) << "in " << seconds << " s";
  EXPECT_LT(rss_after - rss_before, 1024) << rss_before << " kB -> " << rss_after << " kB";
  EXPECT_EQ(server.stop(), 0);
  std::smatch m;
  const std::string log = server.process().output();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("(\\d+) rate limited"))) << log;
  // The limiter, not luck, kept the answers down (the kernel may also drop
  // some requests on a full socket buffer).
  EXPECT_GE(std::stol(m[1]), 1000L);
  EXPECT_LE(std::stol(m[1]) + answers, kSockets * kPerSocket);
}

}  // namespace
}  // namespace turnpike::testing
