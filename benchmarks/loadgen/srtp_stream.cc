#include "benchmarks/loadgen/srtp_stream.h"

#include <srtp2/srtp.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace turnpike::loadgen {

void initSrtp() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (srtp_init() != srtp_err_status_ok) {
      std::abort();
    }
  });
}

SrtpStream::SrtpStream(Direction direction, const MasterKey& key) {
  initSrtp();
  srtp_policy_t policy;
  std::memset(&policy, 0, sizeof policy);
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
  policy.ssrc.type = direction == Direction::Outbound ? ssrc_any_outbound : ssrc_any_inbound;
  policy.key = const_cast<unsigned char*>(key.data());  // libsrtp copies it
  policy.window_size = 1024;
  policy.next = nullptr;
  if (srtp_create(&session_, &policy) != srtp_err_status_ok) {
    std::abort();
  }
}

SrtpStream::~SrtpStream() { srtp_dealloc(session_); }

std::size_t SrtpStream::protect(std::span<std::uint8_t> buffer, std::size_t length) {
  int len = static_cast<int>(length);
  if (buffer.size() < length + kMaxTrailer || srtp_protect(session_, buffer.data(), &len) != 0) {
    return 0;
  }
  return static_cast<std::size_t>(len);
}

SrtpStream::Verdict SrtpStream::unprotect(std::span<std::uint8_t> buffer, std::size_t& length) {
  int len = static_cast<int>(length);
  const srtp_err_status_t status = srtp_unprotect(session_, buffer.data(), &len);
  if (status == srtp_err_status_replay_fail || status == srtp_err_status_replay_old) {
    return Verdict::Replayed;
  }
  if (status != srtp_err_status_ok) {
    return Verdict::Corrupted;
  }
  length = static_cast<std::size_t>(len);
  return Verdict::Ok;
}

}  // namespace turnpike::loadgen
