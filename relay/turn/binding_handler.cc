#include "relay/turn/binding_handler.h"

#include "relay/stun/error_code_attribute.h"
#include "relay/stun/message_builder.h"
#include "relay/stun/turn_attributes.h"
#include "relay/turn/error_response.h"

namespace turnpike::turn {

Outcome handleBindingRequest(const RequestContext& ctx, const ServerOptions& options) {
  const auto& request = ctx.request;
  // RFC 5780 §7.2: a server without an alternate address cannot honour a
  // request to answer from another IP or port; with no flag set, the
  // attribute asks for nothing (RFC 3489 clients always send it).
  if (const auto change = request.find(stun::AttributeType::ChangeRequest)) {
    const auto flags = stun::decodeChangeRequest(change->value);
    if (!flags) {
      return errorResponse(ctx, options, stun::error_codes::kBadRequest);
    }
    if (flags->change_ip || flags->change_port) {
      const std::uint16_t unsupported[] = {change->type};
      return errorResponse(ctx, options, stun::error_codes::kUnknownAttribute, unsupported);
    }
  }

  stun::MessageBuilder b(ctx.response_buffer,
                         {stun::Method::Binding, stun::MessageClass::SuccessResponse},
                         request.transactionId(), request.magicCookie());
  if (request.isRfc3489()) {
    // §12.2: "insert a MAPPED-ADDRESS attribute instead of an XOR-MAPPED-ADDRESS".
    b.addAddress(stun::AttributeType::MappedAddress, ctx.source);
  } else {
    b.addXorAddress(stun::AttributeType::XorMappedAddress, ctx.source);
  }
  if (!options.software.empty()) {
    b.addText(stun::AttributeType::Software, options.software);
  }
  if (request.has(stun::AttributeType::Fingerprint)) {
    b.addFingerprint();
  }
  return b.overflowed() ? Outcome::drop() : Outcome::reply(b.size());
}

}  // namespace turnpike::turn
