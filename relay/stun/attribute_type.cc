#include "relay/stun/attribute_type.h"

namespace turnpike::stun {

std::string_view attributeName(std::uint16_t type) {
  switch (static_cast<AttributeType>(type)) {
    case AttributeType::MappedAddress: return "MAPPED-ADDRESS";
    case AttributeType::Username: return "USERNAME";
    case AttributeType::MessageIntegrity: return "MESSAGE-INTEGRITY";
    case AttributeType::ErrorCode: return "ERROR-CODE";
    case AttributeType::UnknownAttributes: return "UNKNOWN-ATTRIBUTES";
    case AttributeType::Realm: return "REALM";
    case AttributeType::Nonce: return "NONCE";
    case AttributeType::MessageIntegritySha256: return "MESSAGE-INTEGRITY-SHA256";
    case AttributeType::PasswordAlgorithm: return "PASSWORD-ALGORITHM";
    case AttributeType::Userhash: return "USERHASH";
    case AttributeType::XorMappedAddress: return "XOR-MAPPED-ADDRESS";
    case AttributeType::ChannelNumber: return "CHANNEL-NUMBER";
    case AttributeType::Lifetime: return "LIFETIME";
    case AttributeType::XorPeerAddress: return "XOR-PEER-ADDRESS";
    case AttributeType::Data: return "DATA";
    case AttributeType::XorRelayedAddress: return "XOR-RELAYED-ADDRESS";
    case AttributeType::RequestedAddressFamily: return "REQUESTED-ADDRESS-FAMILY";
    case AttributeType::EvenPort: return "EVEN-PORT";
    case AttributeType::RequestedTransport: return "REQUESTED-TRANSPORT";
    case AttributeType::DontFragment: return "DONT-FRAGMENT";
    case AttributeType::ReservationToken: return "RESERVATION-TOKEN";
    case AttributeType::ConnectionId: return "CONNECTION-ID";
    case AttributeType::ChangeRequest: return "CHANGE-REQUEST";
    case AttributeType::PasswordAlgorithms: return "PASSWORD-ALGORITHMS";
    case AttributeType::AlternateDomain: return "ALTERNATE-DOMAIN";
    case AttributeType::Software: return "SOFTWARE";
    case AttributeType::AlternateServer: return "ALTERNATE-SERVER";
    case AttributeType::Fingerprint: return "FINGERPRINT";
    case AttributeType::AdditionalAddressFamily: return "ADDITIONAL-ADDRESS-FAMILY";
    case AttributeType::AddressErrorCode: return "ADDRESS-ERROR-CODE";
    case AttributeType::Icmp: return "ICMP";
  }
  return {};
}

bool isKnownAttribute(std::uint16_t type) { return !attributeName(type).empty(); }

}  // namespace turnpike::stun
