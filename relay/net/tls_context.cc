#include "relay/net/tls_context.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstring>
#include <ctime>
#include <string_view>

namespace turnpike::net {
namespace {

// RFC 7443: the ALPN protocol id of STUN/TURN.
constexpr std::string_view kAlpnTurn = "stun.turn";

std::string openSslError(const char* what) {
  std::string text = what;
  if (const unsigned long code = ERR_get_error(); code != 0) {
    std::array<char, 256> buf{};
    ERR_error_string_n(code, buf.data(), buf.size());
    text += ": ";
    text += buf.data();
  }
  ERR_clear_error();
  return text;
}

// Picks "stun.turn" when offered; any other list is answered without ALPN
// rather than refused, as clients that offer e.g. "h2" by habit still speak TURN.
int selectAlpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_length,
               const unsigned char* in, unsigned int in_length, void* /*arg*/) {
  for (unsigned int i = 0; i < in_length;) {
    const unsigned int n = in[i];
    if (i + 1 + n > in_length) {
      break;
    }
    if (std::string_view(reinterpret_cast<const char*>(in + i + 1), n) == kAlpnTurn) {
      *out = in + i + 1;
      *out_length = static_cast<unsigned char>(n);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + n;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

// A P-256 key and a 30-day certificate for localhost, 127.0.0.1 and ::1.
bool useSelfSigned(SSL_CTX* ctx, std::string& error) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  bool ok = key != nullptr && cert != nullptr;
  if (ok) {
    X509_set_version(cert, 2);
    std::array<unsigned char, 16> serial{};
    RAND_bytes(serial.data(), serial.size());
    serial[0] &= 0x7F;
    BIGNUM* bn = BN_bin2bn(serial.data(), serial.size(), nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 30L * 24 * 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("turnpike self-signed"), -1,
                               -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name,
                                              "DNS:localhost,IP:127.0.0.1,IP:::1");
    ok = san != nullptr && X509_add_ext(cert, san, -1) == 1 &&
         X509_sign(cert, key, EVP_sha256()) > 0 && SSL_CTX_use_certificate(ctx, cert) == 1 &&
         SSL_CTX_use_PrivateKey(ctx, key) == 1;
    X509_EXTENSION_free(san);
  }
  if (!ok) {
    error = openSslError("generating a self-signed certificate");
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  return ok;
}

SSL_CTX* buildContext(const conf::TlsConfig& config, std::string& error) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    error = openSslError("SSL_CTX_new");
    return nullptr;
  }
  const auto fail = [&](std::string why) {
    error = std::move(why);
    SSL_CTX_free(ctx);
    return nullptr;
  };
  const int min_version = config.min_version == "1.3"   ? TLS1_3_VERSION
                          : config.min_version == "1.1" ? TLS1_1_VERSION
                          : config.min_version == "1.0" ? TLS1_VERSION
                                                        : TLS1_2_VERSION;
  SSL_CTX_set_min_proto_version(ctx, min_version);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (!config.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, config.ciphers.c_str()) != 1) {
    return fail(openSslError("tls.ciphers"));
  }
  if (!config.ciphersuites.empty() &&
      SSL_CTX_set_ciphersuites(ctx, config.ciphersuites.c_str()) != 1) {
    return fail(openSslError("tls.ciphersuites"));
  }
  SSL_CTX_set_alpn_select_cb(ctx, &selectAlpn, nullptr);
  if (config.certificate.empty()) {
    if (!useSelfSigned(ctx, error)) {
      SSL_CTX_free(ctx);
      return nullptr;
    }
    return ctx;
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, config.certificate.c_str()) != 1) {
    return fail(openSslError(("tls.certificate " + config.certificate).c_str()));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, config.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail(openSslError(("tls.private_key " + config.private_key).c_str()));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return fail(openSslError("tls.private_key does not match tls.certificate"));
  }
  return ctx;
}

}  // namespace

std::unique_ptr<TlsContext> TlsContext::create(const conf::TlsConfig& config, std::string& error) {
  std::unique_ptr<TlsContext> tls(new TlsContext(config));
  tls->context_ = buildContext(config, error);
  if (tls->context_ == nullptr) {
    return nullptr;
  }
  // The same settings; the certificate each handshake uses comes from
  // context_ through the callback.
  tls->front_ = buildContext(config, error);
  if (tls->front_ == nullptr) {
    return nullptr;
  }
  SSL_CTX_set_cert_cb(tls->front_, &TlsContext::useCurrentCertificate, tls.get());
  return tls;
}

TlsContext::~TlsContext() {
  SSL_CTX_free(front_);
  SSL_CTX_free(context_);
}

int TlsContext::useCurrentCertificate(SSL* ssl, void* self) {
  const auto* tls = static_cast<const TlsContext*>(self);
  std::lock_guard lock(tls->mutex_);
  X509* cert = SSL_CTX_get0_certificate(tls->context_);
  EVP_PKEY* key = SSL_CTX_get0_privatekey(tls->context_);
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(tls->context_, &chain);
  // Copies (references) them into this session only; 0 fails the handshake.
  return cert != nullptr && key != nullptr && SSL_use_cert_and_key(ssl, cert, key, chain, 1) == 1
             ? 1
             : 0;
}

std::int64_t TlsContext::notAfter() const {
  std::lock_guard lock(mutex_);
  const X509* cert = SSL_CTX_get0_certificate(context_);
  std::tm when{};
  if (cert == nullptr || ASN1_TIME_to_tm(X509_get0_notAfter(cert), &when) != 1) {
    return 0;
  }
  return static_cast<std::int64_t>(timegm(&when));
}

ssl_st* TlsContext::newSession() const {
  std::lock_guard lock(mutex_);
  return SSL_new(context_);  // holds its own reference to the context
}

bool TlsContext::reload(const conf::TlsConfig& next, std::string& error) {
  if (selfSigned() || next.certificate.empty()) {
    error = "no tls.certificate configured; keeping the generated one";
    return false;
  }
  SSL_CTX* fresh = buildContext(next, error);
  if (fresh == nullptr) {
    return false;
  }
  std::lock_guard lock(mutex_);
  SSL_CTX_free(context_);  // connections still using it keep their reference
  context_ = fresh;
  config_ = next;
  return true;
}

std::string TlsContext::fingerprint() const {
  std::lock_guard lock(mutex_);
  const X509* cert = SSL_CTX_get0_certificate(context_);
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int length = 0;
  if (cert == nullptr || X509_digest(cert, EVP_sha256(), md.data(), &length) != 1) {
    return "";
  }
  std::string text;
  for (unsigned int i = 0; i < length; ++i) {
    constexpr std::string_view kHex = "0123456789ABCDEF";
    if (i != 0) {
      text += ':';
    }
    text += kHex[md[i] >> 4];
    text += kHex[md[i] & 0xF];
  }
  return text;
}

}  // namespace turnpike::net
