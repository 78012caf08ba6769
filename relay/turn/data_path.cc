// Relayed data: Send indications and ChannelData from the client (RFC 8656
// §11.3, §12.5), and datagrams from peers (§11.4, §12.6).

#include <cstring>

#include "relay/stun/address_attribute.h"
#include "relay/stun/channel_data.h"
#include "relay/stun/message_builder.h"
#include "relay/turn/turn_handlers.h"

namespace turnpike::turn {

namespace {

bool withinBandwidth(Allocation& a, std::size_t bytes, TurnCore& core, Clock::TimePoint now) {
  if (a.bandwidth.take(bytes, now)) {
    return true;
  }
  ++core.counters.bandwidth_limit;
  return false;
}

void countToPeer(Allocation& a, std::size_t bytes, TurnCore& core) {
  a.traffic.bytes_to_peer += bytes;
  ++a.traffic.packets_to_peer;
  auto& total = core.counters.relayed[static_cast<std::size_t>(a.five_tuple.transport)];
  total.bytes_to_peer += bytes;
  ++total.packets_to_peer;
}

}  // namespace

Outcome handleSendIndication(const stun::MessageView& indication, const FiveTuple& five_tuple,
                             TurnCore& core) {
  Allocation* a = core.allocations.find(five_tuple);
  if (a == nullptr || a->tcp) {  // RFC 6062: TCP allocations carry no Send indications
    ++core.counters.no_allocation;
    return Outcome::drop();
  }
  const auto peer_attr = indication.find(stun::AttributeType::XorPeerAddress);
  const auto data = indication.find(stun::AttributeType::Data);
  if (!peer_attr || !data) {
    ++core.counters.malformed;
    return Outcome::drop();
  }
  const auto peer = stun::decodeXorAddress(peer_attr->value, indication.transactionId());
  const auto now = core.clock.now();
  // §11.3: "If the indication ... does not have a permission ... the
  // indication is silently discarded".
  if (!peer || !a->hasPermission(peer.value(), now)) {
    ++core.counters.no_permission;
    return Outcome::drop();
  }
  if (!withinBandwidth(*a, data->value.size(), core, now)) {
    return Outcome::drop();
  }
  core.network.sendToPeer(a->socketFor(peer->family), peer.value(), data->value);
  countToPeer(*a, data->value.size(), core);
  return Outcome::ignore();
}

Outcome handleClientChannelData(std::span<const std::uint8_t> bytes, const FiveTuple& five_tuple,
                                TurnCore& core) {
  const auto cd = stun::parseChannelData(bytes);
  if (!cd) {
    ++core.counters.malformed;
    return Outcome::drop();
  }
  Allocation* a = core.allocations.find(five_tuple);
  if (a == nullptr) {
    ++core.counters.no_allocation;
    return Outcome::drop();
  }
  const auto now = core.clock.now();
  const ChannelBinding* binding = a->channelByNumber(cd->channel, now);
  if (binding == nullptr) {
    ++core.counters.no_permission;  // §12.5: unbound channel, discarded
    return Outcome::drop();
  }
  if (!withinBandwidth(*a, cd->data.size(), core, now)) {
    return Outcome::drop();
  }
  core.network.sendToPeer(a->socketFor(binding->peer.family), binding->peer, cd->data);
  countToPeer(*a, cd->data.size(), core);
  return Outcome::ignore();
}

void handlePeerData(RelaySocketId socket, const stun::TransportAddress& peer,
                    std::span<std::uint8_t> frame, TurnCore& core) {
  if (frame.size() < kPeerHeadroom) {
    return;
  }
  const std::span<const std::uint8_t> data = frame.subspan(kPeerHeadroom);
  Allocation* a = core.allocations.findBySocket(socket);
  if (a == nullptr) {
    ++core.counters.no_allocation;
    core.relaySocketTouched(socket);  // a kept socket a peer still sends to
    return;
  }
  const auto now = core.clock.now();
  // §11.4/§12.6: data from a peer without a permission never reaches the client.
  if (!a->hasPermission(peer, now)) {
    ++core.counters.no_permission;
    return;
  }
  if (!withinBandwidth(*a, data.size(), core, now)) {
    return;
  }
  std::span<const std::uint8_t> out;
  if (const ChannelBinding* binding = a->channelByPeer(peer, now)) {
    if (data.size() > 0xFFFF) {
      return;
    }
    // The header goes into the room in front of the data: no copy.
    static_assert(kPeerHeadroom == stun::kChannelDataHeaderSize);
    stun::writeChannelDataHeader(frame.data(), binding->channel,
                                 static_cast<std::uint16_t>(data.size()));
    out = frame;
  } else {
    // Indications need a transaction ID but nothing matches on it.
    stun::TransactionId tid{};
    const std::uint64_t n = ++core.indication_counter;
    std::memcpy(tid.data() + 4, &n, sizeof n);
    stun::MessageBuilder b(core.scratch, {stun::Method::Data, stun::MessageClass::Indication}, tid);
    b.addXorAddress(stun::AttributeType::XorPeerAddress, peer);
    b.add(stun::AttributeType::Data, data);
    if (b.overflowed()) {
      return;
    }
    out = b.bytes();
  }
  core.network.sendToClient(a->five_tuple, out);
  a->traffic.bytes_from_peer += data.size();
  ++a->traffic.packets_from_peer;
  auto& total = core.counters.relayed[static_cast<std::size_t>(a->five_tuple.transport)];
  total.bytes_from_peer += data.size();
  ++total.packets_from_peer;
}

}  // namespace turnpike::turn
