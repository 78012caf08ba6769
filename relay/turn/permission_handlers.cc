// RFC 8656 §10 CreatePermission and §11 ChannelBind.

#include <array>

#include "relay/stun/channel_data.h"
#include "relay/stun/error_code_attribute.h"
#include "relay/stun/turn_attributes.h"
#include "relay/turn/response.h"
#include "relay/turn/turn_handlers.h"

namespace turnpike::turn {

namespace ec = stun::error_codes;

Outcome handleCreatePermission(const RequestContext& ctx, const auth::AuthResult& auth,
                               TurnCore& core) {
  Outcome error;
  Allocation* a = allocationFor(ctx, auth, core, error);
  if (a == nullptr) {
    return error;
  }
  // §10.2: several XOR-PEER-ADDRESS may come in one request, and either all
  // are installed or none is. Validate first, install after.
  constexpr std::size_t kMaxPeers = 32;
  std::array<stun::TransportAddress, kMaxPeers> peers{};
  std::size_t count = 0;
  std::uint16_t failure = 0;
  ctx.request.forEachAttribute([&](const stun::RawAttribute& attr) {
    if (attr.type != static_cast<std::uint16_t>(stun::AttributeType::XorPeerAddress)) {
      return true;
    }
    const auto checked = checkPeer(attr, ctx.request, *a, core);
    if (checked.error != 0 || count == kMaxPeers) {
      failure = checked.error != 0 ? checked.error : ec::kBadRequest;
      return false;
    }
    peers[count++] = *checked.peer;
    return true;
  });
  if (failure == 0 && count == 0) {
    failure = ec::kBadRequest;
  }
  if (failure != 0) {
    return errorResponse(ctx, core.settings.software, failure, &auth);
  }
  const auto now = core.clock.now();
  a->prune(now);  // what is left is in force
  if (a->permissions.size() + a->newPermissions(std::span(peers).first(count), now) >
      core.settings.permissions_per_allocation) {
    return errorResponse(ctx, core.settings.software, ec::kInsufficientCapacity, &auth);
  }
  for (std::size_t i = 0; i < count; ++i) {
    a->installPermission(peers[i], now);
    core.observer.onPermissionInstalled(*a, peers[i]);
  }
  syncKernelChannels(*a, core, now);  // a refreshed permission may extend a flow
  auto b = successBuilder(ctx);
  return seal(b, ctx, core.settings.software, &auth);
}

Outcome handleChannelBind(const RequestContext& ctx, const auth::AuthResult& auth, TurnCore& core) {
  Outcome error;
  Allocation* a = allocationFor(ctx, auth, core, error);
  if (a == nullptr) {
    return error;
  }
  const auto& software = core.settings.software;
  const auto number_attr = ctx.request.find(stun::AttributeType::ChannelNumber);
  const auto peer_attr = ctx.request.find(stun::AttributeType::XorPeerAddress);
  if (!number_attr || !peer_attr || a->tcp) {  // RFC 6062: no channels on TCP allocations
    return errorResponse(ctx, software, ec::kBadRequest, &auth);
  }
  const auto channel = stun::decodeChannelNumber(number_attr->value);
  // §11.2: "The request contains both a CHANNEL-NUMBER and an
  // XOR-PEER-ADDRESS attribute", the channel number in 0x4000 through 0x4FFF.
  const std::uint16_t max_channel =
      core.settings.rfc5766_channel_numbers ? stun::kMaxRfc5766Channel : stun::kMaxChannel;
  if (!channel || channel.value() < stun::kMinChannel || channel.value() > max_channel) {
    return errorResponse(ctx, software, ec::kBadRequest, &auth);
  }
  const auto checked = checkPeer(*peer_attr, ctx.request, *a, core);
  if (checked.error != 0) {
    return errorResponse(ctx, software, checked.error, &auth);
  }
  const auto now = core.clock.now();
  a->prune(now);
  if (!a->hasPermission(*checked.peer, now) &&
      a->permissions.size() >= core.settings.permissions_per_allocation) {
    return errorResponse(ctx, software, ec::kInsufficientCapacity, &auth);
  }
  if (!a->bindChannel(channel.value(), *checked.peer, now)) {
    return errorResponse(ctx, software, ec::kBadRequest, &auth);
  }
  a->installPermission(*checked.peer, now);
  // Bound and permitted: from here the kernel may relay it.
  syncKernelChannels(*a, core, now);
  core.observer.onChannelBound(*a, channel.value(), *checked.peer);
  auto b = successBuilder(ctx);
  return seal(b, ctx, software, &auth);
}

}  // namespace turnpike::turn
