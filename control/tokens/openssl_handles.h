#pragma once

// Owning handles for the OpenSSL objects the token code uses. Internal to
// control/tokens: the public headers never include OpenSSL.

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

namespace turnpike::control::tokens::detail {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

/// A read-only memory BIO over `text` (which must outlive it); null when
/// `text` is too large for OpenSSL's int length.
BioPtr memoryBio(std::string_view text);

/// Everything written to a memory BIO, as a string.
std::string bioContents(BIO* bio);

/// A PEM password callback that refuses: an encrypted key in the config must
/// fail to load instead of OpenSSL prompting on the terminal.
int refusePassword(char* buf, int size, int rwflag, void* userdata);

/// The first queued OpenSSL error as text (or `fallback`), and an empty
/// queue afterwards so a later call does not report a stale error.
std::string takeOpenSslError(std::string_view fallback);

/// True when `pkey` is an EC key on P-256 (the only curve ES256 allows).
bool isP256(EVP_PKEY* pkey);

}  // namespace turnpike::control::tokens::detail
