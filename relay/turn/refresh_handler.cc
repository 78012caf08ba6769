// RFC 8656 §8: Refresh.

#include "relay/stun/error_code_attribute.h"
#include "relay/stun/turn_attributes.h"
#include "relay/turn/response.h"
#include "relay/turn/turn_handlers.h"

namespace turnpike::turn {

Outcome handleRefresh(const RequestContext& ctx, const auth::AuthResult& auth, TurnCore& core) {
  Outcome error;
  Allocation* a = allocationFor(ctx, auth, core, error);
  if (a == nullptr) {
    return error;
  }
  // §8.2: a REQUESTED-ADDRESS-FAMILY the allocation has no address of gets 443.
  if (const auto family = ctx.request.find(stun::AttributeType::RequestedAddressFamily)) {
    const auto f = stun::decodeAddressFamily(family->value);
    if (!f || !a->servesFamily(f.value())) {
      return errorResponse(ctx, core.settings.software,
                           stun::error_codes::kPeerAddressFamilyMismatch, &auth);
    }
  }
  std::chrono::seconds lifetime = core.settings.default_lifetime;
  if (const auto attr = ctx.request.find(stun::AttributeType::Lifetime)) {
    const auto value = stun::decodeU32(attr->value);
    if (!value) {
      return errorResponse(ctx, core.settings.software, stun::error_codes::kBadRequest, &auth);
    }
    const std::chrono::seconds requested{value.value()};
    lifetime = requested.count() == 0 ? requested
                                      : std::max(core.settings.default_lifetime,
                                                 std::min(requested, core.settings.max_lifetime));
  }
  auto b = successBuilder(ctx);
  b.addU32(stun::AttributeType::Lifetime, static_cast<std::uint32_t>(lifetime.count()));
  if (lifetime.count() == 0) {
    // "If the requested lifetime is zero, the server deletes the allocation".
    core.deleteAllocation(*a, DeletionReason::Refresh);
  } else {
    const auto now = core.clock.now();
    core.allocations.setExpiry(*a, now + lifetime);
    syncKernelChannels(*a, core, now);
    core.observer.onAllocationRefreshed(*a);
  }
  return seal(b, ctx, core.settings.software, &auth);
}

}  // namespace turnpike::turn
