#include "relay/turn/stun_server.h"

#include <array>

#include "relay/stun/byte_io.h"
#include "relay/stun/channel_data.h"
#include "relay/stun/error_code_attribute.h"
#include "relay/stun/unknown_attributes.h"
#include "relay/turn/binding_handler.h"
#include "relay/turn/error_response.h"

namespace turnpike::turn {
namespace {

using Handler = Outcome (*)(const RequestContext&, const ServerOptions&);

struct Route {
  stun::Method method;
  Handler handler;
};

// Requests the server answers. TURN methods join this table as they are built.
constexpr std::array kRequestRoutes = {
    Route{stun::Method::Binding, &handleBindingRequest},
};

Handler findRoute(stun::Method method) {
  for (const auto& route : kRequestRoutes) {
    if (route.method == method) {
      return route.handler;
    }
  }
  return nullptr;
}

// RFC 8489 §6.3.1: unknown comprehension-required attributes are collected
// for a 420 response.
std::size_t collectUnknown(const stun::MessageView& message,
                           std::array<std::uint16_t, stun::kMaxUnknownAttributes>& unknown) {
  std::size_t n = 0;
  message.forEachAttribute([&](const stun::RawAttribute& attr) {
    if (stun::isComprehensionRequired(attr.type) && !stun::isKnownAttribute(attr.type) &&
        n < unknown.size()) {
      unknown[n++] = attr.type;
    }
    return true;
  });
  return n;
}

}  // namespace

StunCounters& StunCounters::operator+=(const StunCounters& o) {
  requests += o.requests;
  indications += o.indications;
  success_responses += o.success_responses;
  error_responses += o.error_responses;
  malformed += o.malformed;
  unexpected += o.unexpected;
  no_allocation += o.no_allocation;
  return *this;
}

Outcome StunServer::handleDatagram(std::span<const std::uint8_t> packet,
                                   const stun::TransportAddress& source,
                                   std::span<std::uint8_t> out) {
  if (packet.empty()) {
    ++counters_.malformed;
    return Outcome::drop();
  }
  if (stun::looksLikeChannelData(packet[0])) {
    return handleChannelData(packet);
  }
  return handleStun(packet, source, Transport::Udp, out);
}

Outcome StunServer::handleFrame(const stun::Frame& frame, const stun::TransportAddress& source,
                                Transport transport, std::span<std::uint8_t> out) {
  if (frame.kind == stun::FrameKind::ChannelData) {
    return handleChannelData(frame.bytes);
  }
  return handleStun(frame.bytes, source, transport, out);
}

Outcome StunServer::handleChannelData(std::span<const std::uint8_t> bytes) {
  if (!stun::parseChannelData(bytes)) {
    ++counters_.malformed;
    return Outcome::drop();
  }
  // No allocations exist yet, so no channel is bound (RFC 8656 §12.6).
  ++counters_.no_allocation;
  return Outcome::drop();
}

Outcome StunServer::handleStun(std::span<const std::uint8_t> bytes,
                               const stun::TransportAddress& source, Transport transport,
                               std::span<std::uint8_t> out) {
  const auto parsed = stun::MessageView::parse(bytes, {.accept_rfc3489 = true});
  if (!parsed) {
    ++counters_.malformed;
    return Outcome::drop();
  }
  const stun::MessageView& message = parsed.value();
  // Only Binding requests make sense from an RFC 3489 client (§12).
  if (message.isRfc3489() && (message.method() != stun::Method::Binding ||
                              message.messageClass() != stun::MessageClass::Request)) {
    ++counters_.malformed;
    return Outcome::drop();
  }
  switch (message.messageClass()) {
    case stun::MessageClass::Request:
      ++counters_.requests;
      return handleRequest(RequestContext{message, source, transport, out});
    case stun::MessageClass::Indication:
      // Binding indications are keepalives (§7.3.2): nothing to do.
      ++counters_.indications;
      if (message.method() != stun::Method::Binding) {
        ++counters_.unexpected;
      }
      return Outcome::ignore();
    case stun::MessageClass::SuccessResponse:
    case stun::MessageClass::ErrorResponse: break;
  }
  ++counters_.unexpected;
  return Outcome::drop();
}

Outcome StunServer::handleRequest(const RequestContext& ctx) {
  std::array<std::uint16_t, stun::kMaxUnknownAttributes> unknown{};
  const std::size_t n = collectUnknown(ctx.request, unknown);
  if (n > 0) {
    return counted(errorResponse(ctx, options_, stun::error_codes::kUnknownAttribute,
                                 std::span(unknown).first(n)),
                   true);
  }
  const Handler handler = findRoute(ctx.request.method());
  if (handler == nullptr) {
    return counted(errorResponse(ctx, options_, stun::error_codes::kBadRequest), true);
  }
  const Outcome outcome = handler(ctx, options_);
  const bool is_error = outcome.kind == Outcome::Kind::Reply &&
                        stun::decodeMessageType(stun::readU16(ctx.response_buffer.data())).cls ==
                            stun::MessageClass::ErrorResponse;
  return counted(outcome, is_error);
}

Outcome StunServer::counted(Outcome outcome, bool is_error) {
  if (outcome.kind == Outcome::Kind::Reply) {
    ++(is_error ? counters_.error_responses : counters_.success_responses);
  }
  return outcome;
}

}  // namespace turnpike::turn
