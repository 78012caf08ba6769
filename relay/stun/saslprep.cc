#include "relay/stun/saslprep.h"

#include <stringprep.h>

#include <algorithm>
#include <cstdlib>

namespace turnpike::stun {

std::optional<std::string> saslprep(std::string_view input) {
  // Printable ASCII (0x20-0x7E) is left unchanged by every SASLprep step: no
  // mapping applies, NFKC keeps it, nothing in it is prohibited, and it has no
  // right-to-left characters. TURN REST passwords (base64) and most realms
  // and user names are such strings, so skip libidn's UCS-4 round trip.
  const bool printable_ascii = std::all_of(input.begin(), input.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) <= 0x7E;
  });
  if (printable_ascii) {
    return std::string(input);
  }
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
