// Fuzzes the STUN message parser, every typed attribute decoder, integrity
// checks, and the protocol layer's handling of whatever parses.

#include <array>
#include <cstdint>
#include <span>

#include "relay/stun/address_attribute.h"
#include "relay/stun/error_code_attribute.h"
#include "relay/stun/integrity.h"
#include "relay/stun/message_view.h"
#include "relay/stun/password_algorithms.h"
#include "relay/stun/text_attributes.h"
#include "relay/stun/turn_attributes.h"
#include "relay/stun/unknown_attributes.h"
#include "relay/turn/stun_server.h"

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  const auto strict = turnpike::stun::MessageView::parse(bytes);
  if (strict) {
    decodeAll(strict.value());
  }
  static turnpike::turn::StunServer server{turnpike::turn::ServerOptions{"fuzz"}};
  std::array<std::uint8_t, 2048> out{};
  const auto source = turnpike::stun::TransportAddress::ipv4({192, 0, 2, 1}, 3478);
  const auto outcome = server.handleDatagram(bytes, source, out);
  if (outcome.kind == turnpike::turn::Outcome::Kind::Reply) {
    // Whatever we send must itself parse.
    const auto reply = turnpike::stun::MessageView::parse(std::span(out).first(outcome.size),
                                                          {.accept_rfc3489 = true});
    if (!reply) __builtin_trap();
  }
  return 0;
}
