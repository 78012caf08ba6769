#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "conf/config.h"

struct ssl_ctx_st;
struct ssl_st;

namespace turnpike::net {

/// The server's TLS settings and certificate, shared by every worker. New
/// handshakes take the current OpenSSL context; reload() swaps in a new one
/// while connections made with the old one keep it (OpenSSL counts
/// references), so a certificate rotates without dropping anything.
class TlsContext {
 public:
  /// Loads the configured certificate and key, or generates a self-signed
  /// pair when none is configured. nullptr, with `error` set, on failure.
  static std::unique_ptr<TlsContext> create(const conf::TlsConfig& config, std::string& error);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  /// A new server-side SSL object for one accepted connection.
  [[nodiscard]] ssl_st* newSession() const;
  /// Reads the certificate and key files `next` names (re-read even when
  /// the paths are the same); on any error nothing changes and `error` says
  /// why. A generated certificate is never replaced.
  bool reload(const conf::TlsConfig& next, std::string& error);
  /// SHA-256 fingerprint of the certificate in use, "AB:CD:...".
  [[nodiscard]] std::string fingerprint() const;
  [[nodiscard]] bool selfSigned() const { return config_.certificate.empty(); }
  /// An OpenSSL context for servers that make their own sessions (the call
  /// API): valid as long as this object, and each handshake made with it
  /// takes the certificate in use at that moment, so reload() reaches it too.
  [[nodiscard]] ssl_ctx_st* context() const { return front_; }
  /// The certificate's notAfter, Unix seconds; 0 when it cannot be read.
  [[nodiscard]] std::int64_t notAfter() const;

 private:
  explicit TlsContext(conf::TlsConfig config) : config_(std::move(config)) {}
  static int useCurrentCertificate(ssl_st* ssl, void* self);

  conf::TlsConfig config_;
  mutable std::mutex mutex_;
  ssl_ctx_st* context_ = nullptr;  // guarded by mutex_
  ssl_ctx_st* front_ = nullptr;    // fixed; its handshakes copy context_'s certificate
};

}  // namespace turnpike::net
