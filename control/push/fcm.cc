#include "control/push/fcm.h"

#include <algorithm>
#include <cctype>

#include "control/push/invite_payload.h"

namespace turnpike::control::push {
namespace {

constexpr std::size_t kDataLimit = 4096;

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// application/x-www-form-urlencoded (the assertion is base64url with dots,
// which need no escaping, but the grant type has colons).
std::string formEscape(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

nlohmann::json stringValues(const nlohmann::json& in) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : in.items()) {
    out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  return out;
}

std::string message(const std::string& device_token, nlohmann::json data, std::int64_t ttl_seconds,
                    const std::string& call_id) {
  return dump({{"message",
                {{"token", device_token},
                 {"data", std::move(data)},
                 {"android",
                  {{"priority", "HIGH"},
                   {"ttl", std::to_string(ttl_seconds) + "s"},
                   {"collapse_key", call_id}}}}}});
}

}  // namespace

std::optional<ServiceAccount> ServiceAccount::parse(const std::string& json_text,
                                                    std::string& error) {
  const auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (!j.is_object()) {
    error = "not a JSON object";
    return std::nullopt;
  }
  ServiceAccount out;
  for (auto [field, target] :
       {std::pair{"project_id", &out.project_id}, std::pair{"client_email", &out.client_email},
        std::pair{"token_uri", &out.token_uri}}) {
    const auto it = j.find(field);
    if (it == j.end() || !it->is_string() || it->get<std::string>().empty()) {
      error = std::string("has no ") + field;
      return std::nullopt;
    }
    *target = it->get<std::string>();
  }
  const auto pem = j.find("private_key");
  if (pem == j.end() || !pem->is_string()) {
    error = "has no private_key";
    return std::nullopt;
  }
  auto key = tokens::SigningKey::rsaFromPem(pem->get<std::string>(), error);
  if (!key) {
    error = "private_key: " + error;
    return std::nullopt;
  }
  out.key = key->withKid(stringField(j, "private_key_id"));
  return out;
}

const std::string* AccessToken::valid(std::chrono::seconds now) const {
  return !token_.empty() && now + early_ < expires_at_ ? &token_ : nullptr;
}

std::string AccessToken::request(const ServiceAccount& account, std::chrono::seconds now) {
  const nlohmann::json claims{{"iss", account.client_email},
                              {"scope", kScope},
                              {"aud", account.token_uri},
                              {"iat", now.count()},
                              {"exp", now.count() + 3600}};
  return "grant_type=" + formEscape("urn:ietf:params:oauth:grant-type:jwt-bearer") +
         "&assertion=" + formEscape(tokens::signJwt(claims, account.key));
}

bool AccessToken::accept(const HttpResponse& response, std::chrono::seconds now,
                         std::string& error) {
  const auto j = nlohmann::json::parse(response.body, nullptr, false);
  if (response.status != 200 || !j.is_object()) {
    error = "token endpoint answered " + std::to_string(response.status) +
            (response.status == 0 ? " (" + response.error + ")" : "");
    if (j.is_object() && j.contains("error")) {
      error += ": " + dump(j["error"]).substr(0, 200);
    }
    return false;
  }
  const auto token = j.find("access_token");
  const auto expires = j.find("expires_in");
  if (token == j.end() || !token->is_string() || token->get<std::string>().empty() ||
      expires == j.end() || !expires->is_number_integer()) {
    error = "token endpoint answer has no access_token or expires_in";
    return false;
  }
  const std::chrono::seconds lifetime{
      std::clamp<std::int64_t>(expires->get<std::int64_t>(), 0, std::int64_t{24} * 3600)};
  if (lifetime < std::chrono::seconds{2}) {
    error = "token endpoint answer expires_in is under 2 s";
    return false;
  }
  token_ = token->get<std::string>();
  expires_at_ = now + lifetime;
  early_ = std::min(kEarly, lifetime / 2);
  ++obtained_;
  return true;
}

void AccessToken::invalidate(const std::string& used) {
  if (used == token_) {
    token_.clear();
  }
}

std::string fcmInvite(const Call& call, const std::string& device_token, UnixMillis now) {
  nlohmann::json data = stringValues(invitePayload(call, now));
  // What CallKit and ConnectionService show goes last: the avatar first.
  for (const char* optional : {"callerAvatarUrl", "callerDisplayName"}) {
    if (dump(data).size() > kDataLimit) {
      data.erase(optional);
    }
  }
  const auto left = std::max<std::int64_t>(0, (ringDeadline(call) - now).count());
  return message(device_token, std::move(data), (left + 999) / 1000, call.call_id);
}

std::string fcmCancel(const std::string& call_id, const std::string& device_token,
                      const std::string& reason) {
  return message(device_token,
                 {{"event", "call_cancelled"}, {"callId", call_id}, {"reason", reason}}, 60,
                 call_id);
}

Answer classifyFcm(const HttpResponse& response) {
  if (auto plain = plainAnswer(response)) {
    return *plain;
  }
  Answer a;
  a.retry_after = retryAfterOf(response);
  std::string status;
  std::string message_text;
  const auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    const auto& e = body["error"];
    status = stringField(e, "status");
    message_text = stringField(e, "message");
    if (auto details = e.find("details"); details != e.end() && details->is_array()) {
      for (const auto& d : *details) {
        if (d.is_object() && d.contains("errorCode") && d["errorCode"].is_string()) {
          a.reason = d["errorCode"].get<std::string>();
        }
      }
    }
  }
  if (a.reason.empty()) {
    a.reason = status;
  }
  const bool names_token = message_text.find("registration token") != std::string::npos;
  // Only FCM's own UNREGISTERED condemns a token: a bare 404 (a proxy, a
  // wrong push.fcm.url or project) says nothing about it.
  if (a.reason == "UNREGISTERED" || a.reason == "SENDER_ID_MISMATCH" ||
      (a.reason == "INVALID_ARGUMENT" && names_token)) {
    a.verdict = Verdict::DeadToken;
  } else if (response.status == 401 && a.reason != "THIRD_PARTY_AUTH_ERROR") {
    a.verdict = Verdict::RefreshAuth;
  } else if (response.status >= 500 || response.status == 429) {
    a.verdict = Verdict::Retry;
  } else {
    a.verdict = Verdict::Failed;
  }
  return a;
}

}  // namespace turnpike::control::push
