#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "control/tokens/jwt.h"

namespace turnpike::control::tokens {

/// What a call token says (control-plane.md, "Call tokens").
struct CallTokenClaims {
  std::string user_id;                   ///< sub
  std::string call_id;                   ///< cid
  std::string participant_id;            ///< pid
  std::vector<std::string> permissions;  ///< perm
  std::string mode;                      ///< "p2p"
  std::chrono::seconds issued_at{0};     ///< iat
  std::chrono::seconds expires_at{0};    ///< exp
  std::string token_id;                  ///< jti
};

/// Signs call tokens with Turnpike's ES256 key and checks them against it
/// and the keys still accepted after a rotation.
class CallTokenIssuer {
 public:
  CallTokenIssuer(SigningKey signing_key, std::vector<VerifyKey> also_accepted,
                  std::chrono::seconds ttl);

  /// A token for a participant: perm is publishAudio, publishVideo (video
  /// calls only) and subscribe; jti random; exp = now + ttl.
  [[nodiscard]] std::string issue(const std::string& user_id, const std::string& call_id,
                                  const std::string& participant_id, bool video,
                                  const std::string& mode, std::chrono::seconds unix_now) const;
  /// The claims of a valid, unexpired call token of ours; nullopt with
  /// `error` set otherwise.
  [[nodiscard]] std::optional<CallTokenClaims> verify(std::string_view token,
                                                      std::chrono::seconds unix_now,
                                                      std::string& error) const;
  [[nodiscard]] std::chrono::seconds ttl() const { return ttl_; }

 private:
  SigningKey signing_key_;
  std::vector<VerifyKey> keys_;
  std::chrono::seconds ttl_;
};

}  // namespace turnpike::control::tokens
