#pragma once

// What the interop tests share: the TURN part of the server's config, free
// ports for tools that want a number, REST credentials made independently
// (openssl), test certificates, and the aioice client.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ctime>
#include <string>
#include <vector>

#include "tests/integration/loopback_client.h"
#include "tests/support/subprocess.h"

namespace turnpike::testing {

// What every TURN test needs: credentials, loopback peers allowed (the
// test-only switch), and quotas that do not get in the way of many clients
// from one IP.
inline const std::string kTurnTop =
    "realm: example.org\n"
    "auth:\n  rest_secrets: [\"s3cret\"]\n  static_users:\n    alice: alice-pw\n"
    "limits:\n  allocations_per_user: 1000\n  unauthenticated_per_second: 100000\n"
    "  connections_per_source: 1000\n"
    "log:\n  level: debug\n";
inline const std::string kTurnRelay = "  peers:\n    allow_loopback: true\n";

// A loopback UDP (or, with SOCK_STREAM, TCP) port that is free right now, for tools
// that want a port number.
inline std::uint16_t freeLoopbackPort(int type = SOCK_DGRAM) {
  const int fd = ::socket(AF_INET, type, 0);
  const std::uint16_t port = bindLoopback(fd);
  ::close(fd);
  return port;
}

/// REST credentials for `user` under the test secret, as a calling app's
/// backend would hand them out; the password is computed by openssl.
struct RestCredentials {
  std::string username;
  std::string password;
};
/// A TURN REST credential for `user`, signed with `secret` by openssl.
inline RestCredentials restCredentials(const std::string& user,
                                       const std::string& secret = "s3cret") {
  RestCredentials c;
  c.username = std::to_string(std::time(nullptr) + 3600) + ":" + user;
  const auto pw =
      runCommand({"/bin/sh", "-c",
                  "printf %s '" + c.username + "' | openssl dgst -binary -sha1 -hmac '" + secret +
                      "' | base64"});
  c.password = pw.output.substr(0, pw.output.find('\n'));
  return c;
}

/// Runs tests/interop/aioice_client.py as user-42: HOST PORT COUNT [TRANSPORT
/// [CAFILE [INTERVAL]]].
inline CommandResult aioice(std::vector<std::string> args,
                            std::chrono::seconds timeout = std::chrono::seconds{60}) {
  const auto credentials = restCredentials("user-42");
  std::vector<std::string> argv = {
      "/usr/bin/python3", std::string(TURNPIKE_SOURCE_DIR) + "/tests/interop/aioice_client.py"};
  argv.push_back(args.at(0));
  argv.push_back(args.at(1));
  argv.push_back(credentials.username);
  argv.push_back(credentials.password);
  argv.insert(argv.end(), args.begin() + 2, args.end());
  return runCommand(argv, timeout);
}

/// A self-signed certificate for 127.0.0.1/localhost made by the openssl
/// command line, written to `dir`/NAME-cert.pem and NAME-key.pem.
struct TestCertificate {
  std::string certificate;
  std::string private_key;
};
inline TestCertificate makeCertificate(const std::string& dir, const std::string& name) {
  TestCertificate c{dir + name + "-cert.pem", dir + name + "-key.pem"};
  runCommand({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
              "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=" + name,
              "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", c.private_key,
              "-out", c.certificate});
  return c;
}

}  // namespace turnpike::testing
