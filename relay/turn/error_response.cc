#include "relay/turn/error_response.h"

#include "relay/stun/error_code_attribute.h"
#include "relay/stun/message_builder.h"

namespace turnpike::turn {

Outcome errorResponse(const RequestContext& ctx, const ServerOptions& options, std::uint16_t code,
                      std::span<const std::uint16_t> unknown) {
  const auto& request = ctx.request;
  stun::MessageBuilder b(ctx.response_buffer, {request.method(), stun::MessageClass::ErrorResponse},
                         request.transactionId(), request.magicCookie());
  b.addErrorCode(code, stun::defaultReason(code));
  if (!unknown.empty()) {
    b.addUnknownAttributes(unknown);
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
