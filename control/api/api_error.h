#pragma once

#include <string_view>

#include "control/http/http_types.h"

namespace turnpike::control::api {

/// The contract's error shape: `{"error": {"code": "...", "message": "..."}}`
/// with a fitting status.
http::Response apiError(int status, std::string_view code, std::string_view message);

}  // namespace turnpike::control::api
