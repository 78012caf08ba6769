#include "relay/stun/address_attribute.h"
#include "relay/stun/error_code_attribute.h"
#include "relay/turn/response.h"
#include "relay/turn/turn_handlers.h"

namespace turnpike::turn {

namespace ec = stun::error_codes;

Allocation* allocationFor(const RequestContext& ctx, const auth::AuthResult& auth, TurnCore& core,
                          Outcome& error) {
  Allocation* a = core.allocations.find(ctx.five_tuple);
  if (a == nullptr) {
    error = errorResponse(ctx, core.settings.software, ec::kAllocationMismatch, &auth);
    return nullptr;
  }
  // RFC 8656 §5: requests on an allocation must use the credential that
  // created it: "441 (Wrong Credentials)".
  if (a->username != auth.credential.username) {
    error = errorResponse(ctx, core.settings.software, ec::kWrongCredentials, &auth);
    return nullptr;
  }
  return a;
}

PeerCheck checkPeer(const stun::RawAttribute& attr, const stun::MessageView& request,
                    const Allocation& allocation, TurnCore& core) {
  const auto peer = stun::decodeXorAddress(attr.value, request.transactionId());
  if (!peer) {
    return {std::nullopt, ec::kBadRequest};
  }
  // Policy first: an IPv4 address hidden in an IPv6 form is refused as what
  // it is, not as a family mismatch.
  if (!core.policy->permits(peer.value())) {
    ++core.counters.denied_peer;
    return {std::nullopt, ec::kForbidden};
  }
  if (!allocation.servesFamily(peer->family)) {
    return {std::nullopt, ec::kPeerAddressFamilyMismatch};
  }
  return {peer.value(), 0};
}

}  // namespace turnpike::turn
