#include "relay/turn/turn_server.h"

#include <array>

#include "relay/stun/byte_io.h"
#include "relay/stun/channel_data.h"
#include "relay/stun/error_code_attribute.h"
#include "relay/stun/unknown_attributes.h"
#include "relay/turn/binding_handler.h"
#include "relay/turn/response.h"
#include "relay/turn/turn_handlers.h"

namespace turnpike::turn {
namespace {

using TurnHandler = Outcome (*)(const RequestContext&, const auth::AuthResult&, TurnCore&);

struct Route {
  stun::Method method;
  TurnHandler handler;
};

// Authenticated requests, keyed by method. Binding is answered without
// authentication and is not in this table.
constexpr std::array kTurnRoutes = {
    Route{stun::Method::Allocate, &handleAllocate},
    Route{stun::Method::Refresh, &handleRefresh},
    Route{stun::Method::CreatePermission, &handleCreatePermission},
    Route{stun::Method::ChannelBind, &handleChannelBind},
    Route{stun::Method::Connect, &handleConnect},
    Route{stun::Method::ConnectionBind, &handleConnectionBind},
};

TurnHandler findRoute(stun::Method method) {
  for (const auto& route : kTurnRoutes) {
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

Outcome TurnServer::handleDatagram(std::span<const std::uint8_t> packet,
                                   const FiveTuple& five_tuple, std::span<std::uint8_t> out) {
  if (packet.empty()) {
    ++core_.counters.malformed;
    return Outcome::drop();
  }
  if (stun::looksLikeChannelData(packet[0])) {
    return handleClientChannelData(packet, five_tuple, core_);
  }
  return handleStun(packet, five_tuple, out);
}

Outcome TurnServer::handleFrame(const stun::Frame& frame, const FiveTuple& five_tuple,
                                std::span<std::uint8_t> out) {
  if (frame.kind == stun::FrameKind::ChannelData) {
    return handleClientChannelData(frame.bytes, five_tuple, core_);
  }
  return handleStun(frame.bytes, five_tuple, out);
}

void TurnServer::handlePeerDatagram(RelaySocketId socket, const stun::TransportAddress& peer,
                                    std::span<std::uint8_t> frame) {
  handlePeerData(socket, peer, frame, core_);
}

bool TurnServer::onPeerConnected(std::uint32_t id, int handle) {
  return turn::onPeerConnected(id, handle, core_);
}

bool TurnServer::onPeerConnectionAccepted(RelaySocketId socket, const stun::TransportAddress& peer,
                                          int handle) {
  return turn::onPeerConnectionAccepted(socket, peer, handle, core_);
}

void TurnServer::expireAllocations() {
  if (core_.peer_connections != nullptr) {
    expirePeerConnections(core_);
  }
  const auto now = core_.clock.now();
  core_.allocations.expire(
      now, [&](Allocation& expired) { core_.deleteAllocation(expired, DeletionReason::Expired); });
  if (core_.kernel_flows > 0) {
    // Within a second: the kernel's counts reach usage records and metrics,
    // and channels past their expiry leave the kernel (it already stopped
    // relaying them at the expiry itself).
    core_.allocations.forEachMutable([&](Allocation& a) { sweepKernelChannels(a, core_, now); });
  }
}

void TurnServer::deleteAllocationOf(const FiveTuple& five_tuple) {
  if (Allocation* a = core_.allocations.find(five_tuple)) {
    core_.deleteAllocation(*a, DeletionReason::ConnectionClosed);
  }
}

void TurnServer::deleteAllAllocations() {
  deleteAllocationsWhere([](const Allocation&) { return true; }, DeletionReason::Shutdown);
}

std::size_t TurnServer::deleteAllocationsWhere(const std::function<bool(const Allocation&)>& pick,
                                               DeletionReason reason) {
  std::vector<Allocation*> picked;
  core_.allocations.forEachMutable([&](Allocation& a) {
    if (pick(a)) {
      picked.push_back(&a);
    }
  });
  for (Allocation* a : picked) {
    core_.deleteAllocation(*a, reason);
  }
  return picked.size();
}

void TurnServer::reportUsage() {
  const auto interval = core_.settings.usage_interval;
  if (interval.count() == 0) {
    return;
  }
  const auto now = core_.clock.now();
  core_.allocations.forEachMutable([&](Allocation& a) {
    if (a.usage_due == Clock::TimePoint{}) {
      a.usage_due = a.created_at + interval;
    }
    if (now >= a.usage_due) {
      a.foldPeerTraffic();
      core_.observer.onAllocationUsage(a);
      a.usage_due = now + interval;
    }
  });
}

Outcome TurnServer::handleStun(std::span<const std::uint8_t> bytes, const FiveTuple& five_tuple,
                               std::span<std::uint8_t> out) {
  const auto parsed = stun::MessageView::parse(bytes, {.accept_rfc3489 = true});
  if (!parsed) {
    ++core_.counters.malformed;
    return Outcome::drop();
  }
  const stun::MessageView& message = parsed.value();
  // Only Binding requests make sense from an RFC 3489 client (§12).
  if (message.isRfc3489() && (message.method() != stun::Method::Binding ||
                              message.messageClass() != stun::MessageClass::Request)) {
    ++core_.counters.malformed;
    return Outcome::drop();
  }
  switch (message.messageClass()) {
    case stun::MessageClass::Request:
      ++core_.counters.requests;
      ++core_.counters.requests_by_method[ServerCounters::methodIndex(static_cast<std::uint16_t>(
          message.method()))][static_cast<std::size_t>(five_tuple.transport)];
      return counted(handleRequest(RequestContext{message, five_tuple, out}), out);
    case stun::MessageClass::Indication:
      ++core_.counters.indications;
      return handleIndication(message, five_tuple);
    case stun::MessageClass::SuccessResponse:
    case stun::MessageClass::ErrorResponse: break;
  }
  ++core_.counters.unexpected;
  return Outcome::drop();
}

Outcome TurnServer::handleIndication(const stun::MessageView& message,
                                     const FiveTuple& five_tuple) {
  switch (message.method()) {
    case stun::Method::Binding: return Outcome::ignore();  // keepalive (RFC 8489 §7.3.2)
    case stun::Method::Send: return handleSendIndication(message, five_tuple, core_);
    default: ++core_.counters.unexpected; return Outcome::drop();
  }
}

Outcome TurnServer::handleRequest(const RequestContext& ctx) {
  const auto& software = core_.settings.software;
  std::array<std::uint16_t, stun::kMaxUnknownAttributes> unknown{};
  const std::size_t n = collectUnknown(ctx.request, unknown);
  if (n > 0) {
    if (!unauthenticatedAnswerAllowed(ctx)) {
      return Outcome::drop();
    }
    return errorResponse(ctx, software, stun::error_codes::kUnknownAttribute, nullptr,
                         std::span(unknown).first(n));
  }
  if (ctx.request.method() == stun::Method::Binding) {
    return handleBindingRequest(ctx, software);
  }
  const TurnHandler handler = findRoute(ctx.request.method());
  if (handler == nullptr) {
    if (!unauthenticatedAnswerAllowed(ctx)) {
      return Outcome::drop();
    }
    return errorResponse(ctx, software, stun::error_codes::kBadRequest);
  }
  return authenticated(ctx, handler);
}

// Answers to requests nobody authenticated are rate limited per source IP:
// a flood of spoofed requests gets little traffic back and leaves no state.
bool TurnServer::unauthenticatedAnswerAllowed(const RequestContext& ctx) {
  if (core_.limiter.allow(ctx.source(), core_.clock.now())) {
    return true;
  }
  ++core_.counters.rate_limited;
  return false;
}

Outcome TurnServer::authenticated(const RequestContext& ctx, TurnHandler handler) {
  const auto& software = core_.settings.software;
  const auto unix_now = core_.clock.unixTime();
  const auth::AuthResult auth =
      core_.authenticator->authenticate(ctx.request, ctx.source(), unix_now);
  if (auth.action == auth::AuthResult::Action::Accept) {
    return handler(ctx, auth, core_);
  }
  countAuthFailure(auth.failure);
  // A 438 is only given once the integrity checked out: the client holds the
  // key, so it is not charged (forged requests from a victim's address must
  // not starve the victim's own refreshes).
  if (auth.action != auth::AuthResult::Action::Stale && !unauthenticatedAnswerAllowed(ctx)) {
    return Outcome::drop();
  }
  switch (auth.action) {
    case auth::AuthResult::Action::Reject:
      return errorResponse(ctx, software, stun::error_codes::kBadRequest);
    case auth::AuthResult::Action::Stale:
      return challengeResponse(ctx, software, stun::error_codes::kStaleNonce,
                               core_.authenticator->realm(),
                               core_.authenticator->nonceFor(ctx.source(), unix_now));
    default:
      // The call ended and took the client's allocation with it: say so
      // (437) rather than ask for credentials it can never have again. A
      // new Allocate with them still gets 401.
      if (auth.failure == auth::AuthFailure::CallEnded &&
          ctx.request.method() != stun::Method::Allocate &&
          core_.allocations.find(ctx.five_tuple) == nullptr) {
        return errorResponse(ctx, software, stun::error_codes::kAllocationMismatch);
      }
      return challengeResponse(ctx, software, stun::error_codes::kUnauthenticated,
                               core_.authenticator->realm(),
                               core_.authenticator->nonceFor(ctx.source(), unix_now));
  }
}

void TurnServer::countAuthFailure(auth::AuthFailure failure) {
  switch (failure) {
    case auth::AuthFailure::BadIntegrity: ++core_.counters.auth_bad_integrity; break;
    case auth::AuthFailure::StaleNonce: ++core_.counters.auth_stale_nonce; break;
    case auth::AuthFailure::ExpiredUsername: ++core_.counters.auth_expired_username; break;
    case auth::AuthFailure::CallEnded: ++core_.counters.auth_call_ended; break;
    case auth::AuthFailure::UnknownUser: ++core_.counters.auth_unknown_user; break;
    default: break;
  }
}

Outcome TurnServer::counted(Outcome outcome, std::span<const std::uint8_t> out) {
  if (outcome.kind == Outcome::Kind::Reply) {
    const auto type = stun::decodeMessageType(stun::readU16(out.data()));
    const bool is_error = type.cls == stun::MessageClass::ErrorResponse;
    ++(is_error ? core_.counters.error_responses : core_.counters.success_responses);
    if (is_error) {
      std::uint16_t code = 0;  // errors are rare: read the code back from what we built
      if (const auto parsed = stun::MessageView::parse(out.first(outcome.size))) {
        if (const auto attr = parsed.value().find(stun::AttributeType::ErrorCode)) {
          if (const auto decoded = stun::decodeErrorCode(attr->value)) {
            code = decoded.value().code;
          }
        }
      }
      ++core_.counters.errors_by_code[ServerCounters::methodIndex(
          static_cast<std::uint16_t>(type.method))][ServerCounters::errorIndex(code)];
    }
  }
  return outcome;
}

}  // namespace turnpike::turn
