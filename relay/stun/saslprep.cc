#include "relay/stun/saslprep.h"

#include <stringprep.h>

#include <cstdlib>

namespace turnpike::stun {

std::optional<std::string> saslprep(std::string_view input) {
  if (input.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string in(input);
  char* out = nullptr;
  const int rc = stringprep_profile(in.c_str(), &out, "SASLprep", STRINGPREP_NO_UNASSIGNED);
  if (rc != STRINGPREP_OK || out == nullptr) {
    std::free(out);
    return std::nullopt;
  }
  std::string result(out);
  std::free(out);
  return result;
}

}  // namespace turnpike::stun
