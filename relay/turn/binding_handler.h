#pragma once

#include <string_view>

#include "relay/turn/request_context.h"

namespace turnpike::turn {

/// RFC 8489 §7.3: a Binding request gets the client's reflexive transport
/// address in XOR-MAPPED-ADDRESS (MAPPED-ADDRESS for RFC 3489 clients, §12.2).
Outcome handleBindingRequest(const RequestContext& ctx, std::string_view software);

}  // namespace turnpike::turn
