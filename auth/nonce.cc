#include "auth/nonce.h"

#include <algorithm>

#include "relay/base/siphash.h"
#include "relay/stun/byte_io.h"
#include "relay/stun/crypto.h"

namespace turnpike::auth {
namespace {

std::string featureText() {
  const std::uint8_t bits[3] = {static_cast<std::uint8_t>(NonceCodec::kSecurityFeatures >> 16),
                                static_cast<std::uint8_t>(NonceCodec::kSecurityFeatures >> 8),
                                static_cast<std::uint8_t>(NonceCodec::kSecurityFeatures)};
  return stun::crypto::base64Encode(bits);
}

// The cookie and the feature bits: the same for every nonce this server issues.
const std::string& prefix() {
  static const std::string kPrefix = std::string(NonceCodec::kCookie) + featureText();
  return kPrefix;
}

}  // namespace

NonceCodec::NonceCodec(const std::array<std::uint8_t, 32>& key, std::chrono::seconds lifetime)
    : first_key_{}, second_key_{}, lifetime_(lifetime) {
  std::copy_n(key.begin(), first_key_.size(), first_key_.begin());
  std::copy_n(key.begin() + first_key_.size(), second_key_.size(), second_key_.begin());
}

std::array<std::uint8_t, 16> NonceCodec::tag(std::uint64_t issued,
                                             const stun::TransportAddress& client) const {
  // Bound to the client's IP, not its port: an RFC 6062 ConnectionBind comes
  // on a new connection (another port) with the nonce of the control one.
  std::array<std::uint8_t, 8 + 1 + 16> input{};
  stun::writeU32(&input[0], static_cast<std::uint32_t>(issued >> 32));
  stun::writeU32(&input[4], static_cast<std::uint32_t>(issued));
  input[8] = static_cast<std::uint8_t>(client.family);
  std::copy(client.ip.begin(), client.ip.end(), input.begin() + 9);
  const std::uint64_t first = sipHash24(first_key_, input);
  const std::uint64_t second = sipHash24(second_key_, input);
  std::array<std::uint8_t, 16> out{};
  stun::writeU32(&out[0], static_cast<std::uint32_t>(first >> 32));
  stun::writeU32(&out[4], static_cast<std::uint32_t>(first));
  stun::writeU32(&out[8], static_cast<std::uint32_t>(second >> 32));
  stun::writeU32(&out[12], static_cast<std::uint32_t>(second));
  return out;
}

std::string NonceCodec::issue(const stun::TransportAddress& client,
                              std::chrono::seconds unix_now) const {
  const auto issued = static_cast<std::uint64_t>(unix_now.count());
  std::array<std::uint8_t, 24> body{};
  stun::writeU32(&body[0], static_cast<std::uint32_t>(issued >> 32));
  stun::writeU32(&body[4], static_cast<std::uint32_t>(issued));
  const auto t = tag(issued, client);
  std::copy(t.begin(), t.end(), body.begin() + 8);
  return prefix() + stun::crypto::base64Encode(body);
}

NonceCodec::Check NonceCodec::check(std::string_view nonce, const stun::TransportAddress& client,
                                    std::chrono::seconds unix_now) const {
  if (nonce.substr(0, prefix().size()) != prefix()) {
    return Check::Forged;
  }
  const auto body = stun::crypto::base64Decode(nonce.substr(prefix().size()));
  if (!body || body->size() != 24) {
    return Check::Forged;
  }
  const std::uint64_t issued =
      (std::uint64_t{stun::readU32(body->data())} << 32) | stun::readU32(body->data() + 4);
  const auto expected = tag(issued, client);
  if (!stun::crypto::constantTimeEqual(expected, std::span(*body).subspan(8))) {
    return Check::Forged;
  }
  const auto now = static_cast<std::uint64_t>(unix_now.count());
  if (issued > now || now - issued >= static_cast<std::uint64_t>(lifetime_.count())) {
    return Check::Stale;
  }
  return Check::Valid;
}

bool NonceCodec::announcesPasswordAlgorithms(std::string_view nonce) {
  if (nonce.substr(0, kCookie.size()) != kCookie || nonce.size() < kCookie.size() + 4) {
    return false;
  }
  const auto bits = stun::crypto::base64Decode(nonce.substr(kCookie.size(), 4));
  return bits && bits->size() == 3 && ((*bits)[2] & 0x01) != 0;
}

}  // namespace turnpike::auth
