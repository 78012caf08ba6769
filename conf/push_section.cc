// push.*: APNs and FCM credentials, the providers' URLs and the push limits.

#include <algorithm>
#include <cctype>
#include <optional>

#include "conf/control_sections.h"
#include "conf/text_file.h"

namespace turnpike::conf {
namespace {

// A base URL as the contract has it: https, a host, no path.
void baseUrl(YamlReader& r, const YAML::Node& n, const std::string& p, std::string& out) {
  if (!r.string(n, p, out)) {
    return;
  }
  // APNs and FCM speak HTTP/2 over TLS only.
  const bool scheme = out.rfind("https://", 0) == 0;
  const auto rest = scheme ? out.substr(8) : std::string();
  if (!scheme || rest.empty() || rest.find('/') != std::string::npos) {
    r.error(n, p, "\"" + out + "\" is not a base URL (https://host[:port], no path)");
  }
}

// Apple's team and key identifiers are 10 letters and digits.
void appleId(YamlReader& r, const YAML::Node& n, const std::string& p, std::string& out) {
  if (!r.string(n, p, out)) {
    return;
  }
  const bool ok = out.size() == 10 && std::all_of(out.begin(), out.end(), [](unsigned char c) {
                    return std::isalnum(c) != 0;
                  });
  if (!ok) {
    r.error(n, p, "must be Apple's 10-character identifier");
  }
}

void apnsKey(YamlReader& r, const YAML::Node& n, const std::string& p, ApnsConfig& out) {
  if (!r.string(n, p, out.private_key)) {
    return;
  }
  out.private_key_line = YamlReader::lineOf(n);
  const auto text = readTextFile(out.private_key);
  if (!text) {
    r.error(n, p, "cannot read " + out.private_key);
  } else if (text->find("-----BEGIN PRIVATE KEY-----") == std::string::npos &&
             text->find("-----BEGIN EC PRIVATE KEY-----") == std::string::npos) {
    r.error(n, p, out.private_key + " is not a PEM private key (Apple's .p8 auth key)");
  }
}

// The service-account file is JSON, which YAML reads too; only the fields
// the OAuth exchange needs are checked here.
void serviceAccount(YamlReader& r, const YAML::Node& n, const std::string& p, FcmConfig& out) {
  if (!r.string(n, p, out.service_account)) {
    return;
  }
  out.service_account_line = YamlReader::lineOf(n);
  const auto text = readTextFile(out.service_account);
  if (!text) {
    r.error(n, p, "cannot read " + out.service_account);
    return;
  }
  YAML::Node doc;
  try {
    doc = YAML::Load(*text);
  } catch (const YAML::Exception&) {
    r.error(n, p, out.service_account + " is not JSON");
    return;
  }
  if (!doc.IsMap()) {
    r.error(n, p, out.service_account + " is not a service-account JSON object");
    return;
  }
  for (const char* field : {"project_id", "private_key", "client_email", "token_uri"}) {
    const YAML::Node value = doc[field];
    if (!value || !value.IsScalar() || value.Scalar().empty()) {
      r.error(n, p, out.service_account + " has no " + field);
    }
  }
}

void readApns(YamlReader& r, const YAML::Node& node, const std::string& path, ApnsConfig& out) {
  r.map(node, path,
        {
            {"team_id", [&](auto& n, auto& p) { appleId(r, n, p, out.team_id); }},
            {"key_id", [&](auto& n, auto& p) { appleId(r, n, p, out.key_id); }},
            {"private_key", [&](auto& n, auto& p) { apnsKey(r, n, p, out); }},
            {"bundle_id", [&](auto& n, auto& p) { r.string(n, p, out.bundle_id); }},
            {"production_url", [&](auto& n, auto& p) { baseUrl(r, n, p, out.production_url); }},
            {"sandbox_url", [&](auto& n, auto& p) { baseUrl(r, n, p, out.sandbox_url); }},
        });
  // A key alone cannot sign: Apple needs the team, the key id and the topic.
  if (out.enabled()) {
    for (const auto& [key, value] :
         {std::pair{"team_id", &out.team_id}, std::pair{"key_id", &out.key_id},
          std::pair{"bundle_id", &out.bundle_id}}) {
      if (value->empty()) {
        r.error(node, YamlReader::join(path, key), "is required with push.apns.private_key");
      }
    }
  }
}

void readFcm(YamlReader& r, const YAML::Node& node, const std::string& path, FcmConfig& out) {
  r.map(node, path,
        {
            {"service_account", [&](auto& n, auto& p) { serviceAccount(r, n, p, out); }},
            {"url", [&](auto& n, auto& p) { baseUrl(r, n, p, out.url); }},
        });
}

void readPushLimits(YamlReader& r, const YAML::Node& node, const std::string& path,
                    PushRateLimits& out) {
  std::uint64_t v = 0;
  r.map(node, path,
        {
            {"per_device_per_minute",
             [&](auto& n, auto& p) {
               if (r.integer(n, p, 1, 100'000, v)) {
                 out.per_device_per_minute = static_cast<std::uint32_t>(v);
               }
             }},
            {"per_user_per_minute",
             [&](auto& n, auto& p) {
               if (r.integer(n, p, 1, 1'000'000, v)) {
                 out.per_user_per_minute = static_cast<std::uint32_t>(v);
               }
             }},
        });
}

}  // namespace

void readPush(YamlReader& r, const YAML::Node& node, const std::string& path, PushConfig& out) {
  r.map(node, path,
        {
            {"apns", [&](auto& n, auto& p) { readApns(r, n, p, out.apns); }},
            {"fcm", [&](auto& n, auto& p) { readFcm(r, n, p, out.fcm); }},
            {"ca_file",
             [&](auto& n, auto& p) {
               if (r.string(n, p, out.ca_file) && !readTextFile(out.ca_file)) {
                 r.error(n, p, "cannot read " + out.ca_file);
               }
             }},
            {"rate_limits", [&](auto& n, auto& p) { readPushLimits(r, n, p, out.rate_limits); }},
            {"ping_interval",
             [&](auto& n, auto& p) {
               if (r.duration(n, p, out.ping_interval) &&
                   out.ping_interval < Duration{std::chrono::seconds{1}}) {
                 r.error(n, p, "must be at least 1s");
               }
             }},
            {"request_timeout",
             [&](auto& n, auto& p) {
               if (r.duration(n, p, out.request_timeout) &&
                   out.request_timeout < Duration{std::chrono::seconds{1}}) {
                 r.error(n, p, "must be at least 1s");
               }
             }},
        });
}

}  // namespace turnpike::conf
