// Micro-benchmarks for the codec: the base figures later hot-path work is
// measured against. Run: build/benchmarks/turnpike_codec_bench

#include <benchmark/benchmark.h>

#include <array>
#include <vector>

#include "auth/authenticator.h"
#include "relay/base/clock.h"
#include "relay/stun/channel_data.h"
#include "relay/stun/integrity.h"
#include "relay/stun/long_term_key.h"
#include "relay/stun/message_builder.h"
#include "relay/stun/message_view.h"
#include "relay/stun/turn_attributes.h"
#include "relay/turn/relay_port_pool.h"
#include "relay/turn/turn_server.h"

namespace {

using namespace turnpike::stun;

const TransactionId kTid = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
const std::vector<std::uint8_t> kKey =
    *longTermKey(PasswordAlgorithmId::Md5, "1700000000:alice", "example.org", "secret");

// An authenticated Allocate as browsers send it: REQUESTED-TRANSPORT,
// LIFETIME, USERNAME, REALM, NONCE, MESSAGE-INTEGRITY, FINGERPRINT.
std::vector<std::uint8_t> allocateRequest(bool sha256) {
  std::array<std::uint8_t, 512> buf{};
  MessageBuilder b(buf, {Method::Allocate, MessageClass::Request}, kTid);
  b.add(AttributeType::RequestedTransport, encodeRequestedTransport(kProtocolUdp));
  b.addU32(AttributeType::Lifetime, 600);
  b.addText(AttributeType::Username, "1700000000:alice");
  b.addText(AttributeType::Realm, "example.org");
  b.addText(AttributeType::Nonce, "obMatJos2AAABadcafe0123456789abcdef0123456789");
  if (sha256) {
    b.addMessageIntegritySha256(kKey);
  } else {
    b.addMessageIntegrity(kKey);
  }
  b.addFingerprint();
  return {b.bytes().begin(), b.bytes().end()};
}

void BM_ParseAllocateRequest(benchmark::State& state) {
  const auto msg = allocateRequest(false);
  for (auto _ : state) {
    auto view = MessageView::parse(msg);
    benchmark::DoNotOptimize(view.ok());
    benchmark::DoNotOptimize(view->find(AttributeType::Username));
  }
}
BENCHMARK(BM_ParseAllocateRequest);

void BM_VerifyIntegritySha1(benchmark::State& state) {
  const auto msg = allocateRequest(false);
  const auto view = MessageView::parse(msg).value();
  for (auto _ : state) {
    benchmark::DoNotOptimize(verifyMessageIntegrity(view, kKey));
  }
}
BENCHMARK(BM_VerifyIntegritySha1);

void BM_VerifyIntegritySha256(benchmark::State& state) {
  const auto msg = allocateRequest(true);
  const auto view = MessageView::parse(msg).value();
  for (auto _ : state) {
    benchmark::DoNotOptimize(verifyMessageIntegritySha256(view, kKey));
  }
}
BENCHMARK(BM_VerifyIntegritySha256);

void BM_EncodeBindingResponse(benchmark::State& state) {
  const auto mapped = TransportAddress::ipv4({203, 0, 113, 9}, 50000);
  std::array<std::uint8_t, 256> buf{};
  for (auto _ : state) {
    MessageBuilder b(buf, {Method::Binding, MessageClass::SuccessResponse}, kTid);
    b.addXorAddress(AttributeType::XorMappedAddress, mapped);
    b.addFingerprint();
    benchmark::DoNotOptimize(b.size());
  }
}
BENCHMARK(BM_EncodeBindingResponse);

void BM_ParseChannelData(benchmark::State& state) {
  std::vector<std::uint8_t> packet(4 + 172);
  writeChannelDataHeader(packet.data(), 0x4001, 172);
  for (auto _ : state) {
    auto cd = parseChannelData(packet);
    benchmark::DoNotOptimize(cd.ok());
  }
}
BENCHMARK(BM_ParseChannelData);

class NullNetwork final : public turnpike::turn::RelayNetwork {
 public:
  std::optional<turnpike::turn::RelaySocketId> openRelaySocket(const TransportAddress&,
                                                               bool) override {
    return 1;
  }
  void closeRelaySocket(turnpike::turn::RelaySocketId) override {}
  void sendToPeer(turnpike::turn::RelaySocketId, const TransportAddress&,
                  std::span<const std::uint8_t>) override {}
  void sendToClient(const turnpike::turn::FiveTuple&, std::span<const std::uint8_t>) override {}
};

void BM_HandleBindingRequest(benchmark::State& state) {
  using namespace turnpike;
  std::array<std::uint8_t, 64> req{};
  MessageBuilder b(req, {Method::Binding, MessageClass::Request}, kTid);
  b.addFingerprint();
  const auto request = b.bytes();
  SteadyClock clock;
  NullNetwork network;
  const auth::Authenticator authenticator("example.org",
                                          auth::NonceCodec({}, std::chrono::minutes{10}), {});
  const turn::PeerPolicy policy(false, {}, {});
  turn::QuotaLedger quotas(10, 10);
  turn::AllocationObserver observer;
  turn::TurnCore core({}, clock, authenticator, network, policy, quotas, {}, observer);
  turn::TurnServer server(core);
  std::array<std::uint8_t, 256> out{};
  const turn::FiveTuple tuple{TransportAddress::ipv4({198, 51, 100, 7}, 40000),
                              TransportAddress::ipv4({10, 0, 0, 1}, 3478), turn::Transport::Udp};
  for (auto _ : state) {
    benchmark::DoNotOptimize(server.handleDatagram(request, tuple, out).size);
  }
}
BENCHMARK(BM_HandleBindingRequest);

// A worker's TURN state with `count` allocations inserted directly (auth is
// measured elsewhere), each with channel 0x4001 bound to one peer.
struct RelayBench {
  explicit RelayBench(std::uint16_t count)
      : core({}, clock, authenticator, network, policy, quotas,
             {{TransportAddress::ipv4({10, 0, 0, 1}, 0), TransportAddress::ipv4({10, 0, 0, 1}, 0),
               &pool}},
             observer),
        server(core) {
    for (std::uint16_t i = 0; i < count; ++i) {
      auto a = std::make_unique<turnpike::turn::Allocation>();
      a->five_tuple = {
          TransportAddress::ipv4({198, 51, 100, 7}, static_cast<std::uint16_t>(1000 + i)),
          TransportAddress::ipv4({10, 0, 0, 1}, 3478), turnpike::turn::Transport::Udp};
      a->socket = i + 1u;
      a->expires_at = clock.now() + std::chrono::hours{1};
      a->bindChannel(0x4001, peer, clock.now());
      last = a->five_tuple;
      last_socket = a->socket;
      core.allocations.insert(std::move(a));
    }
  }

  turnpike::SteadyClock clock;
  NullNetwork network;
  const turnpike::auth::Authenticator authenticator{
      "example.org", turnpike::auth::NonceCodec({}, std::chrono::minutes{10}), {}};
  const turnpike::turn::PeerPolicy policy{true, {}, {}};
  turnpike::turn::QuotaLedger quotas{100000, 100000};
  turnpike::turn::RelayPortPool pool{40000, 60000, clock};
  turnpike::turn::AllocationObserver observer;
  turnpike::turn::TurnCore core;
  turnpike::turn::TurnServer server;
  const TransportAddress peer = TransportAddress::ipv4({8, 8, 8, 8}, 5000);
  turnpike::turn::FiveTuple last;
  turnpike::turn::RelaySocketId last_socket = 0;
};

// The relay step for ChannelData from a client: find the allocation by
// five-tuple, the binding by channel, hand the payload to the network.
void BM_RelayChannelData(benchmark::State& state) {
  RelayBench bench(static_cast<std::uint16_t>(state.range(0)));
  std::vector<std::uint8_t> packet(4 + 172);
  writeChannelDataHeader(packet.data(), 0x4001, 172);
  std::array<std::uint8_t, 256> out{};
  for (auto _ : state) {
    benchmark::DoNotOptimize(bench.server.handleDatagram(packet, bench.last, out).kind);
  }
}
BENCHMARK(BM_RelayChannelData)->Arg(1)->Arg(10000);

// The way back: a peer's datagram, received after the header room, becomes
// ChannelData in place (allocation by socket, permission, binding by peer).
void BM_RelayPeerToChannel(benchmark::State& state) {
  RelayBench bench(static_cast<std::uint16_t>(state.range(0)));
  std::vector<std::uint8_t> frame(turnpike::turn::kPeerHeadroom + 172);
  for (auto _ : state) {
    bench.server.handlePeerDatagram(bench.last_socket, bench.peer, frame);
    benchmark::DoNotOptimize(frame.data());
  }
}
BENCHMARK(BM_RelayPeerToChannel)->Arg(1)->Arg(10000);

// Allocation lookup by five-tuple alone (hash of addresses and transport).
void BM_AllocationLookup(benchmark::State& state) {
  RelayBench bench(static_cast<std::uint16_t>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(bench.core.allocations.find(bench.last));
  }
}
BENCHMARK(BM_AllocationLookup)->Arg(1)->Arg(10000);

}  // namespace

BENCHMARK_MAIN();
