#include "conf/control_sections.h"

namespace turnpike::conf {
namespace {

void readUserTokens(YamlReader& r, const YAML::Node& node, const std::string& path,
                    UserTokensConfig& out) {
  r.map(node, path,
        {
            {"hs256_secrets",
             [&](auto& n, auto& p) {
               if (!r.stringList(n, p, out.hs256_secrets)) {
                 return;
               }
               for (const auto& secret : out.hs256_secrets) {
                 // RFC 7518 §3.2: "A key of the same size as the hash output
                 // (for instance, 256 bits for "HS256") or larger MUST be used".
                 if (secret.size() < 16) {
                   r.error(n, p, "each secret must be at least 16 characters");
                   return;
                 }
               }
             }},
            {"public_keys", [&](auto& n, auto& p) { r.stringList(n, p, out.public_keys); }},
            {"issuer", [&](auto& n, auto& p) { r.string(n, p, out.issuer); }},
            {"audience", [&](auto& n, auto& p) { r.string(n, p, out.audience); }},
        });
}

void atLeast(YamlReader& r, const YAML::Node& n, const std::string& p, Duration& field,
             Duration minimum, const char* text) {
  if (r.duration(n, p, field) && field < minimum) {
    r.error(n, p, std::string("must be at least ") + text);
  }
}

}  // namespace

void readApi(YamlReader& r, const YAML::Node& node, const std::string& path, ApiConfig& out) {
  std::uint64_t v = 0;
  r.map(node, path,
        {
            {"listen", [&](auto& n, auto& p) { r.endpointList(n, p, out.listen); }},
            {"tls", [&](auto& n, auto& p) { r.boolean(n, p, out.tls); }},
            {"max_body",
             [&](auto& n, auto& p) {
               if (r.integer(n, p, 1024, 16u << 20, v)) {
                 out.max_body = static_cast<std::uint32_t>(v);
               }
             }},
            {"max_connections",
             [&](auto& n, auto& p) {
               if (r.integer(n, p, 1, 1'000'000, v)) {
                 out.max_connections = static_cast<std::uint32_t>(v);
               }
             }},
            {"turn_uris",
             [&](auto& n, auto& p) {
               if (!r.stringList(n, p, out.turn_uris)) {
                 return;
               }
               for (const auto& uri : out.turn_uris) {
                 if (uri.rfind("turn:", 0) != 0 && uri.rfind("turns:", 0) != 0) {
                   r.error(n, p, "\"" + uri + "\" is not a turn: or turns: URI (RFC 7065)");
                 }
               }
             }},
            {"user_tokens", [&](auto& n, auto& p) { readUserTokens(r, n, p, out.user_tokens); }},
        });
}

void readCalls(YamlReader& r, const YAML::Node& node, const std::string& path, CallsConfig& out) {
  std::uint64_t v = 0;
  const Duration second{1000};
  r.map(node, path,
        {
            {"ring_timeout",
             [&](auto& n, auto& p) { atLeast(r, n, p, out.ring_timeout, second, "1s"); }},
            {"connect_timeout",
             [&](auto& n, auto& p) { atLeast(r, n, p, out.connect_timeout, second, "1s"); }},
            {"max_duration",
             [&](auto& n, auto& p) { atLeast(r, n, p, out.max_duration, second, "1s"); }},
            {"busy_policy",
             [&](auto& n, auto& p) {
               std::string s;
               if (!r.string(n, p, s)) {
                 return;
               }
               if (s == "busy") {
                 out.busy_policy = BusyPolicy::Busy;
               } else if (s == "ring") {
                 out.busy_policy = BusyPolicy::Ring;
               } else {
                 r.error(n, p, "\"" + s + "\" is not one of busy, ring");
               }
             }},
            {"max_ringing_devices",
             [&](auto& n, auto& p) {
               if (r.integer(n, p, 1, 20, v)) {
                 out.max_ringing_devices = static_cast<std::uint32_t>(v);
               }
             }},
            {"rate_limits",
             [&](auto& n, auto& p) {
               r.map(n, p,
                     {
                         {"create_per_minute",
                          [&](auto& n2, auto& p2) {
                            if (r.integer(n2, p2, 1, 100'000, v)) {
                              out.rate_limits.create_per_minute = static_cast<std::uint32_t>(v);
                            }
                          }},
                         {"signals_per_second",
                          [&](auto& n2, auto& p2) {
                            if (r.integer(n2, p2, 1, 100'000, v)) {
                              out.rate_limits.signals_per_second = static_cast<std::uint32_t>(v);
                            }
                          }},
                     });
             }},
        });
  if (out.max_duration < out.ring_timeout) {
    r.error(node, path + ".max_duration", "must not be shorter than ring_timeout");
  }
}

void readCallTokens(YamlReader& r, const YAML::Node& node, const std::string& path,
                    CallTokensConfig& out) {
  const Duration second{1000};
  r.map(node, path,
        {
            {"signing_key", [&](auto& n, auto& p) { r.string(n, p, out.signing_key); }},
            {"verify_keys", [&](auto& n, auto& p) { r.stringList(n, p, out.verify_keys); }},
            {"ttl", [&](auto& n, auto& p) { atLeast(r, n, p, out.ttl, second, "1s"); }},
            {"turn_ttl", [&](auto& n, auto& p) { atLeast(r, n, p, out.turn_ttl, second, "1s"); }},
        });
}

void readStore(YamlReader& r, const YAML::Node& node, const std::string& path, StoreConfig& out,
               const YamlReader::Handler& redis) {
  r.map(node, path,
        {
            {"backend",
             [&](auto& n, auto& p) {
               std::string s;
               if (!r.string(n, p, s)) {
                 return;
               }
               if (s == "sqlite") {
                 out.backend = StoreBackend::Sqlite;
               } else if (s == "redis") {
                 out.backend = StoreBackend::Redis;
               } else {
                 r.error(n, p, "\"" + s + "\" is not one of sqlite, redis");
               }
             }},
            {"sqlite",
             [&](auto& n, auto& p) {
               r.map(n, p, {{"path", [&](auto& n2, auto& p2) {
                               if (r.string(n2, p2, out.sqlite_path) && out.sqlite_path.empty()) {
                                 r.error(n2, p2, "must not be empty");
                               }
                             }}});
             }},
            {"redis", redis},
        });
}

}  // namespace turnpike::conf
