#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "auth/credential_provider.h"
#include "auth/nonce.h"
#include "relay/stun/message_view.h"
#include "relay/stun/transport_address.h"

namespace turnpike::auth {

/// Why a request did not authenticate; the metrics label of
/// turnpike_auth_failures_total{reason}.
enum class AuthFailure : std::uint8_t {
  None,
  MissingCredentials,  ///< first request of a client: challenge, not an error
  BadRequest,          ///< integrity without USERNAME/REALM/NONCE, bad algorithm negotiation
  UnknownUser,
  ExpiredUsername,
  BadIntegrity,
  StaleNonce,
  CallEnded,  ///< a call-bound credential whose call has ended
};

std::string_view authFailureName(AuthFailure failure);

/// What to answer.
struct AuthResult {
  enum class Action : std::uint8_t {
    Accept,     ///< process the request; sign the response with `credential.key`
    Challenge,  ///< 401 with REALM, NONCE, PASSWORD-ALGORITHMS
    Reject,     ///< 400
    Stale,      ///< 438 with REALM, NONCE, PASSWORD-ALGORITHMS
  };
  Action action = Action::Challenge;
  AuthFailure failure = AuthFailure::MissingCredentials;
  Credential credential;
  stun::PasswordAlgorithmId algorithm = stun::PasswordAlgorithmId::Md5;
  bool sha256_integrity = false;  ///< the request used MESSAGE-INTEGRITY-SHA256
};

/// The long-term credential mechanism of RFC 8489 §9.2 on the server side.
/// Pure: no state per client; time comes in as an argument.
class Authenticator {
 public:
  Authenticator(std::string realm, NonceCodec nonces,
                std::vector<std::shared_ptr<const CredentialProvider>> providers);

  [[nodiscard]] AuthResult authenticate(const stun::MessageView& request,
                                        const stun::TransportAddress& source,
                                        std::chrono::seconds unix_now) const;

  [[nodiscard]] std::string nonceFor(const stun::TransportAddress& source,
                                     std::chrono::seconds unix_now) const {
    return nonces_.issue(source, unix_now);
  }
  [[nodiscard]] const std::string& realm() const { return realm_; }

  /// PASSWORD-ALGORITHMS as this server sends it: MD5, then SHA-256.
  static std::span<const std::uint8_t> passwordAlgorithmsValue();

 private:
  std::optional<std::string> resolveUsername(const stun::MessageView& request) const;
  bool negotiateAlgorithm(const stun::MessageView& request, std::string_view nonce,
                          stun::PasswordAlgorithmId& algorithm) const;

  std::string realm_;
  NonceCodec nonces_;
  std::vector<std::shared_ptr<const CredentialProvider>> providers_;
};

}  // namespace turnpike::auth
