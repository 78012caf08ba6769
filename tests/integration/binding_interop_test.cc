// The real turnpike binary on loopback, answering independent STUN clients
// (coturn's turnutils_stunclient, the classic `stun` client) and raw Binding
// requests over UDP and TCP, surviving a flood of garbage, stopping cleanly.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>

#include "relay/stun/address_attribute.h"
#include "relay/stun/message_builder.h"
#include "relay/stun/message_view.h"
#include "tests/integration/loopback_client.h"
#include "tests/integration/turnpike_server.h"
#include "tests/support/subprocess.h"

namespace turnpike::testing {
namespace {

std::vector<std::uint8_t> bindingRequest(const stun::TransactionId& tid, bool fingerprint = true) {
  std::array<std::uint8_t, 64> buf{};
  stun::MessageBuilder b(buf, {stun::Method::Binding, stun::MessageClass::Request}, tid);
  if (fingerprint) b.addFingerprint();
  return {b.bytes().begin(), b.bytes().end()};
}

// The XOR-MAPPED-ADDRESS port in a Binding success response for `tid`.
std::optional<stun::TransportAddress> mappedAddress(std::span<const std::uint8_t> response,
                                                    const stun::TransactionId& tid) {
  const auto view = stun::MessageView::parse(response);
  if (!view || view->transactionId() != tid ||
      view->messageClass() != stun::MessageClass::SuccessResponse) {
    return std::nullopt;
  }
  const auto attr = view->find(stun::AttributeType::XorMappedAddress);
  if (!attr) return std::nullopt;
  auto address = stun::decodeXorAddress(attr->value, tid);
  if (!address) return std::nullopt;
  return address.value();
}

TEST(BindingInterop, TurnutilsStunclientGetsItsReflexiveAddress) {
  TurnpikeServer server;
  ASSERT_TRUE(server.ready()) << server.process().output();
  const auto r =
      runCommand({"turnutils_stunclient", "-p", std::to_string(server.udpPort()), "127.0.0.1"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex("UDP reflexive addr: 127\\.0\\.0\\.1:\\d+")))
      << r.output;
  EXPECT_EQ(server.stop(), 0) << server.process().output();
}

TEST(BindingInterop, ClassicStunClientGetsItsMappedAddress) {
  TurnpikeServer server;
  ASSERT_TRUE(server.ready()) << server.process().output();
  // Test 1 of RFC 3489 from the `stun` client (Debian stun-client): a Binding
  // request without the magic cookie, answered with MAPPED-ADDRESS.
  const auto r = runCommand({"stun", "127.0.0.1:" + std::to_string(server.udpPort()), "1", "-v"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex("mappedAddr=127\\.0\\.0\\.1:\\d+")))
      << r.output;
  EXPECT_EQ(server.stop(), 0);
}

TEST(BindingInterop, UdpBindingReportsTheSourcePort) {
  TurnpikeServer server;
  ASSERT_TRUE(server.ready()) << server.process().output();
  LoopbackSocket s(SOCK_DGRAM, server.udpPort());
  const stun::TransactionId tid = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  ASSERT_TRUE(s.send(bindingRequest(tid)));
  const auto response = s.receive();
  ASSERT_TRUE(response.has_value());
  const auto mapped = mappedAddress(*response, tid);
  ASSERT_TRUE(mapped.has_value());
  EXPECT_EQ(mapped->toString(), "127.0.0.1:" + std::to_string(s.localPort()));
  EXPECT_TRUE(stun::MessageView::parse(*response)->has(stun::AttributeType::Fingerprint));
}

TEST(BindingInterop, TcpBindingWithSplitAndCoalescedRequests) {
  TurnpikeServer server;
  ASSERT_TRUE(server.ready()) << server.process().output();
  LoopbackSocket s(SOCK_STREAM, server.tcpPort());
  ASSERT_TRUE(s.connected());
  const stun::TransactionId a = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  const stun::TransactionId b = {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
  const stun::TransactionId c = {3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3};
  const auto ra = bindingRequest(a);
  const auto rb = bindingRequest(b, false);
  const auto rc = bindingRequest(c);
  // a and b in one write; c split across two writes.
  std::vector<std::uint8_t> first(ra);
  first.insert(first.end(), rb.begin(), rb.end());
  first.insert(first.end(), rc.begin(), rc.begin() + 7);
  ASSERT_TRUE(s.send(first));
  ASSERT_TRUE(s.send(std::span(rc).subspan(7)));

  // Responses: with FINGERPRINT 32+8 bytes, without 32.
  const auto all = s.receiveExactly(40 + 32 + 40);
  ASSERT_TRUE(all.has_value());
  const std::string expected = "127.0.0.1:" + std::to_string(s.localPort());
  EXPECT_EQ(mappedAddress(std::span(*all).first(40), a)->toString(), expected);
  EXPECT_EQ(mappedAddress(std::span(*all).subspan(40, 32), b)->toString(), expected);
  EXPECT_EQ(mappedAddress(std::span(*all).subspan(72, 40), c)->toString(), expected);
}

TEST(BindingInterop, TcpGarbageClosesOnlyThatConnection) {
  TurnpikeServer server;
  ASSERT_TRUE(server.ready()) << server.process().output();
  LoopbackSocket bad(SOCK_STREAM, server.tcpPort());
  ASSERT_TRUE(bad.connected());
  const std::vector<std::uint8_t> garbage = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
  ASSERT_TRUE(bad.send(garbage));
  const auto eof = bad.receive();
  ASSERT_TRUE(eof.has_value());
  EXPECT_TRUE(eof->empty());  // the server closed the stream

  LoopbackSocket good(SOCK_STREAM, server.tcpPort());
  const stun::TransactionId tid = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
  ASSERT_TRUE(good.send(bindingRequest(tid)));
  const auto response = good.receiveExactly(40);
  ASSERT_TRUE(response.has_value());
  EXPECT_TRUE(mappedAddress(*response, tid).has_value());
}

TEST(BindingInterop, SurvivesOneHundredThousandBadDatagrams) {
  TurnpikeServer server;
  ASSERT_TRUE(server.ready()) << server.process().output();
  LoopbackSocket s(SOCK_DGRAM, server.udpPort());
  std::mt19937 rng(12345);
  const stun::TransactionId tid = {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4};
  const auto valid = bindingRequest(tid);
  std::vector<std::uint8_t> packet;
  constexpr int kPackets = 100'000;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
  int sent = 0;
  for (; sent < kPackets && std::chrono::steady_clock::now() < deadline; ++sent) {
    switch (sent % 4) {
      case 0:  // random bytes of random length
        packet.resize(rng() % 600);
        for (auto& byte : packet) byte = static_cast<std::uint8_t>(rng());
        break;
      case 1:  // a valid request with a few bytes flipped
        packet = valid;
        for (int k = 0; k < 3; ++k)
          packet[rng() % packet.size()] ^= static_cast<std::uint8_t>(rng());
        break;
      case 2:  // STUN header with a random length and random attributes
        packet = valid;
        packet.resize(20 + (rng() % 64) * 4);
        for (std::size_t i = 20; i < packet.size(); ++i)
          packet[i] = static_cast<std::uint8_t>(rng());
        packet[2] = static_cast<std::uint8_t>((packet.size() - 20) >> 8);
        packet[3] = static_cast<std::uint8_t>(packet.size() - 20);
        break;
      default:  // ChannelData-looking bytes
        packet.resize(4 + rng() % 100);
        for (auto& byte : packet) byte = static_cast<std::uint8_t>(rng());
        packet[0] = static_cast<std::uint8_t>(0x40 | (packet[0] & 0x3f));
        break;
    }
    s.send(packet);
    // Drain answers (mutated packets may still be valid requests).
    if (sent % 256 == 0) {
      while (s.receive(0)) {
      }
    }
  }
  EXPECT_EQ(sent, kPackets);
  while (s.receive(0)) {
  }
  ASSERT_TRUE(server.process().running()) << server.process().output();

  LoopbackSocket fresh(SOCK_DGRAM, server.udpPort());
  ASSERT_TRUE(fresh.send(valid));
  const auto response = fresh.receive();
  ASSERT_TRUE(response.has_value());
  EXPECT_TRUE(mappedAddress(*response, tid).has_value());

  EXPECT_EQ(server.stop(), 0);
  // The shutdown summary counts what was dropped as malformed.
  std::smatch m;
  const std::string out = server.process().output();
  ASSERT_TRUE(std::regex_search(out, m, std::regex("(\\d+) malformed"))) << out;
  EXPECT_GT(std::stoul(m[1]), 10'000UL) << out;
}

TEST(Process, SigtermStopsCleanlyWithAnOpenConnection) {
  TurnpikeServer server;
  ASSERT_TRUE(server.ready()) << server.process().output();
  LoopbackSocket idle(SOCK_STREAM, server.tcpPort());
  ASSERT_TRUE(idle.connected());
  // One round trip, so the connection is accepted (not just queued) before SIGTERM.
  const stun::TransactionId tid = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
  ASSERT_TRUE(idle.send(bindingRequest(tid)));
  ASSERT_TRUE(idle.receiveExactly(40).has_value());
  EXPECT_EQ(server.stop(), 0) << server.process().output();
  EXPECT_NE(server.process().output().find("stopped:"), std::string::npos);
  const auto eof = idle.receive();
  ASSERT_TRUE(eof.has_value());
  EXPECT_TRUE(eof->empty());
}

TEST(Process, IdleTcpConnectionsAreClosed) {
  TurnpikeServer server("  tcp_idle_timeout: 1s\n");
  ASSERT_TRUE(server.ready()) << server.process().output();
  LoopbackSocket idle(SOCK_STREAM, server.tcpPort());
  ASSERT_TRUE(idle.connected());
  // The server closes it after about 1-2 s of silence; wait up to 10 s for EOF.
  const auto eof = idle.receive(10'000);
  ASSERT_TRUE(eof.has_value());
  EXPECT_TRUE(eof->empty());
}

TEST(Process, JsonLogsAreOneObjectPerLine) {
  TurnpikeServer server("log:\n  format: json\n  level: debug\n");
  ASSERT_TRUE(server.ready()) << server.process().output();
  EXPECT_EQ(server.stop(), 0);
  std::istringstream lines(server.process().output());
  std::string line;
  int parsed = 0;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_TRUE(j.contains("time") && j.contains("level") && j.contains("msg")) << line;
    ++parsed;
  }
  EXPECT_GE(parsed, 4);  // listening x2, running, signal, stopped
}

TEST(Process, DefaultsAnswerOn3478) {
  // The README run command: no --config, the embedded defaults.
  Subprocess server({TURNPIKE_BINARY});
  ASSERT_TRUE(server.waitForOutput("running with", std::chrono::seconds{10})) << server.output();
  EXPECT_NE(server.output().find("listening on udp 0.0.0.0:3478"), std::string::npos);
  const auto r = runCommand({"turnutils_stunclient", "127.0.0.1"});
  EXPECT_TRUE(std::regex_search(r.output, std::regex("UDP reflexive addr: 127\\.0\\.0\\.1:\\d+")))
      << r.output;
  EXPECT_EQ(server.stop(SIGINT), 0) << server.output();
}

}  // namespace
}  // namespace turnpike::testing
