#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>

// A thin adapter over OpenSSL and zlib so that codec headers do not include them.
namespace turnpike::stun::crypto {

using Bytes = std::span<const std::uint8_t>;
using Md5Digest = std::array<std::uint8_t, 16>;
using Sha1Digest = std::array<std::uint8_t, 20>;
using Sha256Digest = std::array<std::uint8_t, 32>;

/// HMAC over the concatenation of `parts`, without copying them together.
Sha1Digest hmacSha1(Bytes key, std::initializer_list<Bytes> parts);
Sha256Digest hmacSha256(Bytes key, std::initializer_list<Bytes> parts);

Md5Digest md5(Bytes data);
Sha256Digest sha256(Bytes data);

/// CRC-32 as in ISO/IEC 13239 (the one RFC 8489 §14.7 names).
std::uint32_t crc32(Bytes data);

/// Compares in time that depends only on the lengths.
bool constantTimeEqual(Bytes a, Bytes b);

}  // namespace turnpike::stun::crypto
