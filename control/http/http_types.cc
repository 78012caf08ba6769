#include "control/http/http_types.h"

#include "control/http/percent.h"

namespace turnpike::control::http {

std::string_view Request::header(std::string_view lowercase_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lowercase_name) {
      return value;
    }
  }
  return {};
}

std::string Request::queryParam(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    // Names are compared decoded so that "call%5Fid" and "call_id" agree.
    if (percentDecode(pair.substr(0, eq), /*plus_as_space=*/true) == name) {
      return eq == std::string_view::npos
                 ? std::string{}
                 : percentDecode(pair.substr(eq + 1), /*plus_as_space=*/true);
    }
  }
  return {};
}

}  // namespace turnpike::control::http
