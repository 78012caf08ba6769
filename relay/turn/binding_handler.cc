#include "relay/turn/binding_handler.h"

#include "relay/stun/error_code_attribute.h"
#include "relay/stun/turn_attributes.h"
#include "relay/turn/response.h"

namespace turnpike::turn {

Outcome handleBindingRequest(const RequestContext& ctx, std::string_view software) {
  const auto& request = ctx.request;
  // RFC 5780 §7.2: a server without an alternate address cannot honour a
  // request to answer from another IP or port; with no flag set, the
  // attribute asks for nothing (RFC 3489 clients always send it).
  if (const auto change = request.find(stun::AttributeType::ChangeRequest)) {
    const auto flags = stun::decodeChangeRequest(change->value);
    if (!flags) {
      return errorResponse(ctx, software, stun::error_codes::kBadRequest);
    }
    if (flags->change_ip || flags->change_port) {
      const std::uint16_t unsupported[] = {change->type};
      return errorResponse(ctx, software, stun::error_codes::kUnknownAttribute, nullptr,
                           unsupported);
    }
  }
  auto b = successBuilder(ctx);
  if (request.isRfc3489()) {
    // §12.2: "insert a MAPPED-ADDRESS attribute instead of an XOR-MAPPED-ADDRESS".
    b.addAddress(stun::AttributeType::MappedAddress, ctx.source());
  } else {
    b.addXorAddress(stun::AttributeType::XorMappedAddress, ctx.source());
  }
  return seal(b, ctx, software, nullptr);
}

}  // namespace turnpike::turn
