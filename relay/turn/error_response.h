#pragma once

#include <cstdint>
#include <span>

#include "relay/turn/request_context.h"

namespace turnpike::turn {

/// Builds the error response to ctx.request, the one place where protocol
/// failures become ERROR-CODE. `unknown` fills UNKNOWN-ATTRIBUTES for 420.
/// FINGERPRINT is added when the request carried one (RFC 8489 §7.3).
Outcome errorResponse(const RequestContext& ctx, const ServerOptions& options, std::uint16_t code,
                      std::span<const std::uint16_t> unknown = {});

}  // namespace turnpike::turn
