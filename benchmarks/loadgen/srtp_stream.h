#pragma once

#include <array>
#include <cstdint>
#include <span>

struct srtp_ctx_t_;

namespace turnpike::loadgen {

/// SRTP with AES_CM_128_HMAC_SHA1_80 through libsrtp2: one direction of one
/// stream. Thin adapter so the rest of the generator does not include libsrtp.
class SrtpStream {
 public:
  enum class Direction { Outbound, Inbound };
  using MasterKey = std::array<std::uint8_t, 30>;  // 16-byte key + 14-byte salt

  SrtpStream(Direction direction, const MasterKey& key);
  ~SrtpStream();
  SrtpStream(const SrtpStream&) = delete;
  SrtpStream& operator=(const SrtpStream&) = delete;

  /// Encrypts and authenticates an RTP packet in place; `buffer` must have
  /// room for kMaxTrailer more bytes. Returns the new length.
  std::size_t protect(std::span<std::uint8_t> buffer, std::size_t length);
  /// Verifies and decrypts in place. Result: the plain length, or an error.
  enum class Verdict { Ok, Corrupted, Replayed };
  Verdict unprotect(std::span<std::uint8_t> buffer, std::size_t& length);

  static constexpr std::size_t kMaxTrailer = 16 + 128;  // SRTP_MAX_TRAILER_LEN

 private:
  srtp_ctx_t_* session_ = nullptr;
};

/// Calls srtp_init once per process.
void initSrtp();

}  // namespace turnpike::loadgen
