#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "relay/stun/crypto.h"

namespace turnpike::stun {

/// PASSWORD-ALGORITHM values (RFC 8489 §18.5).
enum class PasswordAlgorithmId : std::uint16_t { Md5 = 0x0001, Sha256 = 0x0002 };

/// RFC 8489 §9.2.2: key = MD5(username ":" OpaqueString(realm) ":"
/// OpaqueString(password)), or SHA-256 of the same. nullopt when a string
/// fails preparation.
std::optional<std::vector<std::uint8_t>> longTermKey(PasswordAlgorithmId algorithm,
                                                     std::string_view username,
                                                     std::string_view realm,
                                                     std::string_view password);

/// RFC 8489 §14.4: userhash = SHA-256(OpaqueString(username) ":" OpaqueString(realm)).
std::optional<crypto::Sha256Digest> userHash(std::string_view username, std::string_view realm);

}  // namespace turnpike::stun
