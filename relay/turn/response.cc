#include "relay/turn/response.h"

#include "relay/stun/error_code_attribute.h"

namespace turnpike::turn {

stun::MessageBuilder successBuilder(const RequestContext& ctx) {
  return stun::MessageBuilder(ctx.response_buffer,
                              {ctx.request.method(), stun::MessageClass::SuccessResponse},
                              ctx.request.transactionId(), ctx.request.magicCookie());
}

Outcome seal(stun::MessageBuilder& b, const RequestContext& ctx, std::string_view software,
             const auth::AuthResult* signer) {
  if (!software.empty()) {
    b.addText(stun::AttributeType::Software, software);
  }
  if (signer != nullptr) {
    if (signer->sha256_integrity) {
      b.addMessageIntegritySha256(signer->credential.key);
    } else {
      b.addMessageIntegrity(signer->credential.key);
    }
  }
  if (ctx.request.has(stun::AttributeType::Fingerprint)) {
    b.addFingerprint();
  }
  return b.overflowed() ? Outcome::drop() : Outcome::reply(b.size());
}

Outcome errorResponse(const RequestContext& ctx, std::string_view software, std::uint16_t code,
                      const auth::AuthResult* signer, std::span<const std::uint16_t> unknown) {
  stun::MessageBuilder b(ctx.response_buffer,
                         {ctx.request.method(), stun::MessageClass::ErrorResponse},
                         ctx.request.transactionId(), ctx.request.magicCookie());
  b.addErrorCode(code, stun::defaultReason(code));
  if (!unknown.empty()) {
    b.addUnknownAttributes(unknown);
  }
  return seal(b, ctx, software, signer);
}

Outcome challengeResponse(const RequestContext& ctx, std::string_view software, std::uint16_t code,
                          std::string_view realm, std::string_view nonce) {
  stun::MessageBuilder b(ctx.response_buffer,
                         {ctx.request.method(), stun::MessageClass::ErrorResponse},
                         ctx.request.transactionId(), ctx.request.magicCookie());
  b.addErrorCode(code, stun::defaultReason(code));
  b.addText(stun::AttributeType::Realm, realm);
  b.addText(stun::AttributeType::Nonce, nonce);
  b.add(stun::AttributeType::PasswordAlgorithms, auth::Authenticator::passwordAlgorithmsValue());
  return seal(b, ctx, software, nullptr);
}

}  // namespace turnpike::turn
