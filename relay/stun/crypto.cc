#include "relay/stun/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>

namespace turnpike::stun::crypto {
namespace {

// Keying an HMAC context costs more than the MAC of a STUN message: OpenSSL
// resets three digest contexts and hashes both padded key blocks. The same
// few keys come back again and again (a request is checked and its answer
// signed with one long-term key; the next requests of that client use it
// too), so each thread keeps the contexts of its most recently used keys,
// keyed once, and only rewinds them (EVP_MAC_init without a key) per message.
class KeyedMacs {
 public:
  explicit KeyedMacs(const char* digest) {
    mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac_ == nullptr) {
      std::abort();  // OpenSSL without HMAC: nothing sensible can run.
    }
    // The digest is set once per context, so OpenSSL does not look it up by
    // name on every message. OpenSSL takes a non-const char* but does not
    // modify it.
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
        OSSL_PARAM_construct_end()};
    for (Slot& slot : slots_) {
      slot.ctx = EVP_MAC_CTX_new(mac_);
      if (slot.ctx == nullptr || EVP_MAC_CTX_set_params(slot.ctx, params) != 1) {
        std::abort();
      }
    }
  }
  ~KeyedMacs() {
    for (Slot& slot : slots_) {
      OPENSSL_cleanse(slot.key.data(), slot.key.size());
      EVP_MAC_CTX_free(slot.ctx);  // cleanses the keyed state too
    }
    EVP_MAC_free(mac_);
  }
  KeyedMacs(const KeyedMacs&) = delete;
  KeyedMacs& operator=(const KeyedMacs&) = delete;

  /// A context keyed with `key`, rewound and ready for EVP_MAC_update.
  EVP_MAC_CTX* keyed(Bytes key) {
    ++clock_;
    Slot* victim = &slots_[0];
    for (Slot& slot : slots_) {
      if (slot.used != 0 && slot.size == key.size() &&
          std::equal(key.begin(), key.end(), slot.key.begin())) {
        slot.used = clock_;
        if (EVP_MAC_init(slot.ctx, nullptr, 0, nullptr) != 1) {
          std::abort();
        }
        return slot.ctx;
      }
      if (slot.used < victim->used) {
        victim = &slot;
      }
    }
    // Longer keys are rare (HMAC hashes them down first): key a context for
    // this message only and forget the key.
    const bool remember = key.size() <= kHmacMaxKeySize;
    static const std::uint8_t kEmptyKey = 0;
    const std::uint8_t* key_data = key.empty() ? &kEmptyKey : key.data();
    if (EVP_MAC_init(victim->ctx, key_data, key.size(), nullptr) != 1) {
      std::abort();
    }
    OPENSSL_cleanse(victim->key.data(), victim->key.size());
    victim->used = remember ? clock_ : 0;
    victim->size = remember ? key.size() : 0;
    if (remember) {
      std::copy(key.begin(), key.end(), victim->key.begin());
    }
    return victim->ctx;
  }

  [[nodiscard]] std::size_t remembered() const {
    return static_cast<std::size_t>(
        std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.used != 0; }));
  }

 private:
  struct Slot {
    EVP_MAC_CTX* ctx = nullptr;  // owned
    std::array<std::uint8_t, kHmacMaxKeySize> key{};
    std::size_t size = 0;
    std::uint64_t used = 0;  // 0: holds no key worth finding
  };
  EVP_MAC* mac_ = nullptr;  // owned
  std::array<Slot, kHmacKeysPerThread> slots_;
  std::uint64_t clock_ = 0;
};

// One set per thread: workers never share them, and nothing is allocated per call.
KeyedMacs& sha1Macs() {
  thread_local KeyedMacs macs("SHA1");
  return macs;
}

KeyedMacs& sha256Macs() {
  thread_local KeyedMacs macs("SHA256");
  return macs;
}

template <std::size_t N>
std::array<std::uint8_t, N> hmac(KeyedMacs& macs, Bytes key, std::initializer_list<Bytes> parts) {
  std::array<std::uint8_t, N> out{};
  EVP_MAC_CTX* ctx = macs.keyed(key);
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
  return hmac<20>(sha1Macs(), key, parts);
}

Sha256Digest hmacSha256(Bytes key, std::initializer_list<Bytes> parts) {
  return hmac<32>(sha256Macs(), key, parts);
}

std::size_t hmacKeysRemembered() { return sha1Macs().remembered() + sha256Macs().remembered(); }

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
