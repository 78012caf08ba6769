#pragma once

// Keys the tests make with OpenSSL itself (not with the code under test),
// as PEM text.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>

namespace turnpike::testing {

/// The contents of a memory BIO, which it frees.
inline std::string bioText(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(length));
  BIO_free(bio);
  return out;
}

inline std::string publicPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  return bioText(bio);
}

/// PKCS#8 ("BEGIN PRIVATE KEY").
inline std::string privatePem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  return bioText(bio);
}

}  // namespace turnpike::testing
