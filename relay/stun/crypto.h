#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// A thin adapter over OpenSSL and zlib so that codec headers do not include them.
namespace turnpike::stun::crypto {

using Bytes = std::span<const std::uint8_t>;
using Md5Digest = std::array<std::uint8_t, 16>;
using Sha1Digest = std::array<std::uint8_t, 20>;
using Sha256Digest = std::array<std::uint8_t, 32>;

/// HMAC over the concatenation of `parts`, without copying them together.
/// Each thread keeps keyed contexts for its kHmacKeysPerThread most recently
/// used keys of up to kHmacMaxKeySize bytes per digest (least recently used goes).
Sha1Digest hmacSha1(Bytes key, std::initializer_list<Bytes> parts);
Sha256Digest hmacSha256(Bytes key, std::initializer_list<Bytes> parts);
inline constexpr std::size_t kHmacKeysPerThread = 16;
inline constexpr std::size_t kHmacMaxKeySize = 64;  ///< the SHA-1 and SHA-256 block size
/// How many keys this thread's HMAC contexts hold, both digests together (for tests).
std::size_t hmacKeysRemembered();

Md5Digest md5(Bytes data);
Sha256Digest sha256(Bytes data);

/// CRC-32 as in ISO/IEC 13239 (the one RFC 8489 §14.7 names).
std::uint32_t crc32(Bytes data);

/// Standard base64 (RFC 4648 §4) with padding.
std::string base64Encode(Bytes data);
std::optional<std::vector<std::uint8_t>> base64Decode(std::string_view text);

/// Cryptographically strong random bytes.
void randomBytes(std::span<std::uint8_t> out);

/// Compares in time that depends only on the lengths.
bool constantTimeEqual(Bytes a, Bytes b);

}  // namespace turnpike::stun::crypto
