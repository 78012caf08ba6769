// Feeds any bytes to what Turnpike reads from push providers and their
// files: APNs and FCM answers (status, Retry-After and JSON body), the OAuth
// token endpoint's answer and a service-account file. Each must give a
// verdict or an error, never crash or throw, and keep its bounds.
//
// Input: byte 0 picks the reader, bytes 1-2 the HTTP status, byte 3 the
// length of a Retry-After value that follows; the rest is the body.

#include <chrono>
#include <cstdint>
#include <string>

#include "control/push/apns.h"
#include "control/push/fcm.h"

namespace {

using namespace turnpike::control::push;

void check(const Answer& a) {
  if (a.retry_after && *a.retry_after > std::chrono::hours{1}) {
    __builtin_trap();
  }
  if (a.verdict == Verdict::Delivered && !a.reason.empty()) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) {
    return 0;
  }
  HttpResponse response;
  response.status = (data[1] << 8 | data[2]) % 600;
  std::size_t offset = 4;
  const std::size_t retry_length = std::min<std::size_t>(data[3], size - offset);
  if (retry_length > 0) {
    response.headers["retry-after"] =
        std::string(reinterpret_cast<const char*>(data + offset), retry_length);
    offset += retry_length;
  }
  response.body.assign(reinterpret_cast<const char*>(data + offset), size - offset);
  switch (data[0] % 5) {
    case 0: check(classifyApns(response)); break;
    case 1: check(classifyFcm(response)); break;
    case 2: {
      AccessToken token;
      std::string error;
      constexpr std::chrono::seconds kNow{1'700'000'000};
      const bool ok = token.accept(response, kNow, error);
      if (ok != (token.valid(kNow) != nullptr) || (!ok && error.empty())) {
        __builtin_trap();
      }
      break;
    }
    case 3: {
      std::string error;
      if (!ServiceAccount::parse(response.body, error) && error.empty()) {
        __builtin_trap();
      }
      break;
    }
    default: {
      const auto after = parseRetryAfter(response.body);
      if (after && (after->count() < 0 || *after > std::chrono::hours{1})) {
        __builtin_trap();
      }
    }
  }
  return 0;
}
