// Fuzzes the STUN message parser, every typed attribute decoder, integrity
// checks, and the protocol layer's handling of whatever parses.

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "auth/static_users.h"
#include "relay/base/clock.h"
#include "relay/stun/address_attribute.h"
#include "relay/stun/error_code_attribute.h"
#include "relay/stun/integrity.h"
#include "relay/stun/message_view.h"
#include "relay/stun/password_algorithms.h"
#include "relay/stun/text_attributes.h"
#include "relay/stun/turn_attributes.h"
#include "relay/stun/unknown_attributes.h"
#include "relay/turn/relay_port_pool.h"
#include "relay/turn/turn_server.h"

namespace {

using turnpike::stun::AttributeType;

void decodeAll(const turnpike::stun::MessageView& view) {
  using namespace turnpike::stun;
  view.forEachAttribute([&](const RawAttribute& attr) {
    const auto type = static_cast<AttributeType>(attr.type);
    switch (type) {
      case AttributeType::MappedAddress:
      case AttributeType::AlternateServer: (void)decodeAddress(attr.value); break;
      case AttributeType::XorMappedAddress:
      case AttributeType::XorPeerAddress:
      case AttributeType::XorRelayedAddress:
        (void)decodeXorAddress(attr.value, view.transactionId());
        break;
      case AttributeType::ErrorCode: (void)decodeErrorCode(attr.value); break;
      case AttributeType::UnknownAttributes: {
        const auto n = decodeUnknownAttributes(attr.value);
        for (std::size_t i = 0; n && i < n.value(); ++i) (void)unknownAttributeAt(attr.value, i);
        break;
      }
      case AttributeType::PasswordAlgorithms: (void)countPasswordAlgorithms(attr.value); break;
      case AttributeType::PasswordAlgorithm: (void)decodePasswordAlgorithm(attr.value); break;
      case AttributeType::Userhash: (void)decodeUserhash(attr.value); break;
      case AttributeType::ChannelNumber: (void)decodeChannelNumber(attr.value); break;
      case AttributeType::Lifetime:
      case AttributeType::ConnectionId: (void)decodeU32(attr.value); break;
      case AttributeType::RequestedTransport: (void)decodeRequestedTransport(attr.value); break;
      case AttributeType::EvenPort: (void)decodeEvenPort(attr.value); break;
      case AttributeType::RequestedAddressFamily:
      case AttributeType::AdditionalAddressFamily: (void)decodeAddressFamily(attr.value); break;
      case AttributeType::DontFragment: (void)decodeDontFragment(attr.value); break;
      case AttributeType::ReservationToken: (void)decodeReservationToken(attr.value); break;
      case AttributeType::AddressErrorCode: (void)decodeAddressErrorCode(attr.value); break;
      case AttributeType::Icmp: (void)decodeIcmp(attr.value); break;
      case AttributeType::ChangeRequest: (void)decodeChangeRequest(attr.value); break;
      case AttributeType::Username:
      case AttributeType::Realm:
      case AttributeType::Nonce:
      case AttributeType::Software:
      case AttributeType::AlternateDomain: (void)decodeText(type, attr.value); break;
      default: break;
    }
    return true;
  });
  const std::uint8_t key[] = {'k', 'e', 'y'};
  (void)verifyMessageIntegrity(view, key);
  (void)verifyMessageIntegritySha256(view, key);
}

class NullNetwork final : public turnpike::turn::RelayNetwork {
 public:
  std::optional<turnpike::turn::RelaySocketId> openRelaySocket(
      const turnpike::stun::TransportAddress&, bool) override {
    return next_++;
  }
  void closeRelaySocket(turnpike::turn::RelaySocketId) override {}
  void sendToPeer(turnpike::turn::RelaySocketId, const turnpike::stun::TransportAddress&,
                  std::span<const std::uint8_t>) override {}
  void sendToClient(const turnpike::turn::FiveTuple&, std::span<const std::uint8_t>) override {}

 private:
  turnpike::turn::RelaySocketId next_ = 1;
};

// One long-lived TURN server, so sequences of inputs can build allocations.
struct FuzzServer {
  FuzzServer() { core.peer_connections = &connections; }

  turnpike::SteadyClock clock;
  turnpike::turn::PeerConnections connections;  // RFC 6062 paths too
  NullNetwork network;
  turnpike::auth::Authenticator authenticator{
      "example.org",
      turnpike::auth::NonceCodec({}, std::chrono::minutes{10}),
      {std::make_shared<turnpike::auth::StaticUsers>(
          std::map<std::string, std::string>{{"alice", "pw"}})}};
  turnpike::turn::PeerPolicy policy{true, {}, {}};
  turnpike::turn::QuotaLedger quotas{100, 1000};
  turnpike::turn::RelayPortPool pool{50000, 50999, clock};
  turnpike::turn::AllocationObserver observer;
  turnpike::turn::TurnCore core{{},
                                clock,
                                authenticator,
                                network,
                                policy,
                                quotas,
                                {{turnpike::stun::TransportAddress::ipv4({10, 0, 0, 1}, 0),
                                  turnpike::stun::TransportAddress::ipv4({10, 0, 0, 1}, 0), &pool}},
                                observer};
  turnpike::turn::TurnServer server{core};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  const auto strict = turnpike::stun::MessageView::parse(bytes);
  if (strict) {
    decodeAll(strict.value());
  }
  static FuzzServer fuzz;
  std::array<std::uint8_t, 2048> out{};
  const turnpike::turn::FiveTuple tuple{
      turnpike::stun::TransportAddress::ipv4({192, 0, 2, 1}, 3478),
      turnpike::stun::TransportAddress::ipv4({10, 0, 0, 1}, 3478),
      // Odd-sized inputs arrive as if over TCP, where TCP allocations and
      // ConnectionBind are allowed.
      size % 2 == 0 ? turnpike::turn::Transport::Udp : turnpike::turn::Transport::Tcp};
  const auto outcome = fuzz.server.handleDatagram(bytes, tuple, out);
  if (outcome.kind == turnpike::turn::Outcome::Kind::Reply) {
    // Whatever we send must itself parse.
    const auto reply = turnpike::stun::MessageView::parse(std::span(out).first(outcome.size),
                                                          {.accept_rfc3489 = true});
    if (!reply) __builtin_trap();
  }
  // Peer data for whatever allocation exists.
  std::vector<std::uint8_t> frame(turnpike::turn::kPeerHeadroom + bytes.size());
  std::copy(bytes.begin(), bytes.end(), frame.begin() + turnpike::turn::kPeerHeadroom);
  fuzz.server.handlePeerDatagram(1, turnpike::stun::TransportAddress::ipv4({8, 8, 8, 8}, 53),
                                 frame);
  return 0;
}
