#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "auth/authenticator.h"
#include "relay/stun/message_builder.h"
#include "relay/turn/request_context.h"

namespace turnpike::turn {

/// A builder for the success response to ctx.request.
stun::MessageBuilder successBuilder(const RequestContext& ctx);

/// Adds what closes every response: SOFTWARE when configured,
/// MESSAGE-INTEGRITY(-SHA256) when the request authenticated (`signer`), and
/// FINGERPRINT when the request carried one.
Outcome seal(stun::MessageBuilder& b, const RequestContext& ctx, std::string_view software,
             const auth::AuthResult* signer);

/// The one place where protocol failures become ERROR-CODE. `unknown` fills
/// UNKNOWN-ATTRIBUTES for 420.
Outcome errorResponse(const RequestContext& ctx, std::string_view software, std::uint16_t code,
                      const auth::AuthResult* signer = nullptr,
                      std::span<const std::uint16_t> unknown = {});

/// 401 or 438 (RFC 8489 §9.2.4): ERROR-CODE, REALM, NONCE and, since our
/// nonces announce the feature, PASSWORD-ALGORITHMS.
Outcome challengeResponse(const RequestContext& ctx, std::string_view software, std::uint16_t code,
                          std::string_view realm, std::string_view nonce);

}  // namespace turnpike::turn
