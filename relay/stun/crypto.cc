#include "relay/stun/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <zlib.h>

#include <cstdlib>
#include <memory>

namespace turnpike::stun::crypto {
namespace {

struct MacContexts {
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* sha1 = nullptr;
  EVP_MAC_CTX* sha256 = nullptr;

  MacContexts() {
    mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac == nullptr) {
      std::abort();  // OpenSSL without HMAC: nothing sensible can run.
    }
    sha1 = EVP_MAC_CTX_new(mac);
    sha256 = EVP_MAC_CTX_new(mac);
    if (sha1 == nullptr || sha256 == nullptr) {
      std::abort();
    }
    // The digest is set once; each use only re-keys the context, so OpenSSL
    // does not look the digest up by name on every message.
    setDigest(sha1, "SHA1");
    setDigest(sha256, "SHA256");
  }
  static void setDigest(EVP_MAC_CTX* ctx, const char* digest) {
    // OpenSSL takes a non-const char* for the name but does not modify it.
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
        OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(ctx, params) != 1) {
      std::abort();
    }
  }
  ~MacContexts() {
    EVP_MAC_CTX_free(sha1);
    EVP_MAC_CTX_free(sha256);
    EVP_MAC_free(mac);
  }
  MacContexts(const MacContexts&) = delete;
  MacContexts& operator=(const MacContexts&) = delete;
};

// One set per thread: workers never share them, and nothing is allocated per call.
MacContexts& contexts() {
  thread_local MacContexts c;
  return c;
}

template <std::size_t N>
std::array<std::uint8_t, N> hmac(EVP_MAC_CTX* ctx, Bytes key, std::initializer_list<Bytes> parts) {
  std::array<std::uint8_t, N> out{};
  static const std::uint8_t kEmptyKey = 0;
  const std::uint8_t* key_data = key.empty() ? &kEmptyKey : key.data();
  if (EVP_MAC_init(ctx, key_data, key.size(), nullptr) != 1) {
    std::abort();
  }
  for (Bytes part : parts) {
    if (!part.empty() && EVP_MAC_update(ctx, part.data(), part.size()) != 1) {
      std::abort();
    }
  }
  std::size_t written = 0;
  if (EVP_MAC_final(ctx, out.data(), &written, out.size()) != 1 || written != N) {
    std::abort();
  }
  return out;
}

// Digests fetched once per process instead of per call.
const EVP_MD* fetched(const char* name) {
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  if (md == nullptr) {
    std::abort();
  }
  return md;
}

template <std::size_t N>
std::array<std::uint8_t, N> digest(const EVP_MD* md, Bytes data) {
  std::array<std::uint8_t, N> out{};
  unsigned int written = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &written, md, nullptr) != 1 ||
      written != N) {
    std::abort();
  }
  return out;
}

}  // namespace

Sha1Digest hmacSha1(Bytes key, std::initializer_list<Bytes> parts) {
  return hmac<20>(contexts().sha1, key, parts);
}

Sha256Digest hmacSha256(Bytes key, std::initializer_list<Bytes> parts) {
  return hmac<32>(contexts().sha256, key, parts);
}

Md5Digest md5(Bytes data) {
  static const EVP_MD* const kMd5 = fetched("MD5");
  return digest<16>(kMd5, data);
}

Sha256Digest sha256(Bytes data) {
  static const EVP_MD* const kSha256 = fetched("SHA256");
  return digest<32>(kSha256, data);
}

std::uint32_t crc32(Bytes data) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  crc = ::crc32(crc, data.data(), static_cast<uInt>(data.size()));
  return static_cast<std::uint32_t>(crc);
}

std::string base64Encode(Bytes data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(),
                                static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::vector<std::uint8_t>> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return std::nullopt;
  }
  std::vector<std::uint8_t> out(3 * (text.size() / 4));
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) {
    return std::nullopt;
  }
  // EVP_DecodeBlock counts padding as zero bytes; drop them.
  std::size_t size = static_cast<std::size_t>(n);
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '=' && size > 0; --i) {
    --size;
  }
  out.resize(size);
  return out;
}

void randomBytes(std::span<std::uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    std::abort();
  }
}

bool constantTimeEqual(Bytes a, Bytes b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace turnpike::stun::crypto
