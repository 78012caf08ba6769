#pragma once

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
  /// The OpenSSL context in use; valid until the next reload() (the call
  /// API keeps a context of its own that is never reloaded).
  [[nodiscard]] ssl_ctx_st* context() const;

 private:
  explicit TlsContext(conf::TlsConfig config) : config_(std::move(config)) {}

  conf::TlsConfig config_;
  mutable std::mutex mutex_;
  ssl_ctx_st* context_ = nullptr;  // guarded by mutex_
};

}  // namespace turnpike::net
