#pragma once

#include <netinet/in.h>

#include <optional>
#include <string>

namespace turnpike::callgen {

/// The API listener the generator talks to (plain HTTP, IPv4).
struct Target {
  sockaddr_in address{};
  std::string host_header;  ///< "ip:port", for the Host header
};

/// "127.0.0.1:8443" -> a Target; nullopt when it does not parse.
std::optional<Target> parseTarget(const std::string& text);

/// A non-blocking TCP socket with TCP_NODELAY whose connect() has been
/// started; -1 (errno set) when it could not be.
int startConnect(const Target& target);

/// True once a started connect() has completed (the peer is known).
bool connectDone(int fd);

}  // namespace turnpike::callgen
