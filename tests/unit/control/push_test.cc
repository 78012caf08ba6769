// Push: the APNs provider token and request shapes, FCM HTTP v1 bodies and
// OAuth access token, and how each provider's answers are classified
// (control-plane.md "Push" and "Push bodies"). Keys that the code under test
// reads are generated here with OpenSSL directly.

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "conf/config_loader.h"
#include "control/devices/device_registry.h"
#include "control/push/apns.h"
#include "control/push/fcm.h"
#include "control/push/invite_payload.h"
#include "control/push/push_sender.h"
#include "control/tokens/jwt.h"
#include "tests/support/fake_clock.h"
#include "tests/support/pem_text.h"
#include "tests/support/temp_dir.h"

namespace turnpike::control::push {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr const char* kTeamId = "TEAM123456";
constexpr const char* kKeyId = "KEY1234567";
constexpr const char* kBundle = "com.example.app";

// --- keys, made with OpenSSL, not with the code under test ----------------

using Pkey = std::shared_ptr<EVP_PKEY>;

using turnpike::testing::privatePem;
using turnpike::testing::publicPem;

// RSA-2048 generation takes a while: one key for the whole file.
EVP_PKEY* rsaKey() {
  static const Pkey key{EVP_RSA_gen(2048), EVP_PKEY_free};
  return key.get();
}

EVP_PKEY* p256Key() {
  static const Pkey key{EVP_EC_gen("P-256"), EVP_PKEY_free};
  return key.get();
}

// --- JWT and JSON helpers ----------------------------------------------------

json jwtPart(const std::string& token, int index) {
  std::size_t begin = 0;
  for (int i = 0; i < index; ++i) {
    begin = token.find('.', begin) + 1;
  }
  const auto end = token.find('.', begin);
  const auto decoded = tokens::base64UrlDecode(token.substr(begin, end - begin));
  return decoded ? json::parse(*decoded, nullptr, false) : json();
}

std::string header(const ApnsNotice& notice, const std::string& name) {
  const std::string prefix = name + ": ";
  for (const auto& h : notice.headers) {
    if (h.rfind(prefix, 0) == 0) {
      return h.substr(prefix.size());
    }
  }
  return "(absent)";
}

std::string lowercase(std::string s) {
  for (auto& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

bool namesASecret(const json& object) {
  for (const auto& [key, value] : object.items()) {
    const auto k = lowercase(key);
    if (k.find("token") != std::string::npos || k.find("secret") != std::string::npos) {
      return true;
    }
  }
  return false;
}

HttpResponse answer(int status, std::string body = "",
                    std::map<std::string, std::string> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

// --- a ringing call ----------------------------------------------------------

constexpr UnixMillis kCreatedAt{1'700'000'000'123};
constexpr UnixMillis kRingDeadline = kCreatedAt + milliseconds{30'000};

Call ringingCall() {
  Call call;
  call.call_id = "3f2c6a1e-8d1b-4b5e-9a57-0c2f1d7e4b10";
  call.type = CallType::Video;
  call.state = CallState::Ringing;
  call.created_at = kCreatedAt;
  call.deadline = kRingDeadline;
  call.participants.push_back(
      {"p-host", "alice", Role::Host, ParticipantState::Accepted, "a-phone"});
  call.participants.push_back({"p-bob", "bob", Role::Member, ParticipantState::Ringing, ""});
  return call;
}

// =============================================================================
// APNs provider token
// =============================================================================

class ApnsProviderToken : public ::testing::Test {
 protected:
  tokens::SigningKey key_ = tokens::SigningKey::generateEs256().withKid(kKeyId);
  turnpike::testing::FakeClock clock_;
  ProviderToken token_{key_, kTeamId, clock_};
};

TEST_F(ApnsProviderToken, OneTokenServesEveryRequestUntilItIsFiftyMinutesOld) {
  const std::string first = token_.current();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(token_.current(), first);
  }
  EXPECT_EQ(token_.signings(), 1U);

  clock_.advance(minutes{49});
  EXPECT_EQ(token_.current(), first);
  EXPECT_EQ(token_.signings(), 1U);

  clock_.advance(minutes{2});
  const std::string second = token_.current();
  EXPECT_EQ(token_.signings(), 2U);
  EXPECT_NE(second, first);
  EXPECT_EQ(jwtPart(second, 1)["iat"], clock_.unixTime().count());
}

TEST_F(ApnsProviderToken, ExpiredProviderTokenSignsAgainOnceOnly) {
  const std::string old = token_.current();
  token_.expired(old);
  const std::string fresh = token_.current();
  EXPECT_EQ(token_.signings(), 2U);
  // A late answer about the old token does not throw the fresh one away.
  token_.expired(old);
  EXPECT_EQ(token_.current(), fresh);
  EXPECT_EQ(token_.signings(), 2U);
}

TEST_F(ApnsProviderToken, IsAnEs256JwtWithKidIssAndIat) {
  clock_.advance(seconds{5});
  const std::string jwt = token_.current();
  const json head = jwtPart(jwt, 0);
  EXPECT_EQ(head["alg"], "ES256");
  EXPECT_EQ(head["kid"], kKeyId);

  tokens::JwtExpectations expect;
  expect.require_exp = false;  // APNs tokens carry no exp
  std::string error;
  const auto claims = tokens::verifyJwt(jwt, {key_.verifyKey()}, clock_.unixTime(), expect, error);
  ASSERT_TRUE(claims.has_value()) << error;
  EXPECT_EQ((*claims)["iss"], kTeamId);
  EXPECT_EQ((*claims)["iat"], clock_.unixTime().count());

  // Another key does not verify it.
  const auto stranger = tokens::SigningKey::generateEs256().withKid(kKeyId);
  EXPECT_FALSE(tokens::verifyJwt(jwt, {stranger.verifyKey()}, clock_.unixTime(), expect, error));
}

// =============================================================================
// APNs requests
// =============================================================================

TEST(ApnsInvite, IsAVoipPushThatExpiresWithTheRing) {
  Call call = ringingCall();
  call.caller_display_name = "Alice";
  const UnixMillis now = kCreatedAt + milliseconds{10'500};  // 19.5 s left
  const auto notice = apnsInvite(call, "a1b2c3voip", kBundle, now, "apns-id-1");
  ASSERT_TRUE(notice.has_value());
  EXPECT_EQ(notice->path, "/3/device/a1b2c3voip");
  EXPECT_EQ(header(*notice, "apns-push-type"), "voip");
  EXPECT_EQ(header(*notice, "apns-topic"), "com.example.app.voip");
  EXPECT_EQ(header(*notice, "apns-priority"), "10");
  EXPECT_EQ(header(*notice, "apns-expiration"),
            std::to_string(std::chrono::duration_cast<seconds>(kRingDeadline).count()));
  EXPECT_EQ(header(*notice, "apns-id"), "apns-id-1");

  const json body = json::parse(notice->body);
  EXPECT_EQ(body["event"], "incoming_call");
  EXPECT_EQ(body["callId"], call.call_id);
  EXPECT_EQ(body["fromUserId"], "alice");
  EXPECT_EQ(body["type"], "video");
  EXPECT_EQ(body["timestamp"], kCreatedAt.count());
  ASSERT_TRUE(body["ttlSeconds"].is_number_integer());
  EXPECT_EQ(body["ttlSeconds"], 20);  // whole seconds, rounded up
  EXPECT_EQ(body["expiresAt"], kRingDeadline.count());
  EXPECT_EQ(body["callerDisplayName"], "Alice");
  EXPECT_FALSE(body.contains("callerAvatarUrl"));
  EXPECT_FALSE(namesASecret(body));
  EXPECT_EQ(notice->body.find("a1b2c3voip"), std::string::npos);
}

TEST(ApnsInvite, AHugeAvatarUrlIsDroppedToStayWithinTheVoipLimit) {
  Call call = ringingCall();
  call.caller_avatar_url = "https://cdn.example/" + std::string(6000, 'a');
  const auto notice = apnsInvite(call, "tok", kBundle, kCreatedAt, "id");
  ASSERT_TRUE(notice.has_value());
  EXPECT_LE(notice->body.size(), 5120U);
  const json body = json::parse(notice->body);
  EXPECT_FALSE(body.contains("callerAvatarUrl"));
  EXPECT_EQ(body["callId"], call.call_id);
  EXPECT_EQ(body["ttlSeconds"], 30);
}

TEST(ApnsInvite, AnAvatarThatFitsIsSent) {
  Call call = ringingCall();
  call.caller_avatar_url = "https://cdn.example/alice.png";
  const auto notice = apnsInvite(call, "tok", kBundle, kCreatedAt, "id");
  ASSERT_TRUE(notice.has_value());
  EXPECT_EQ(json::parse(notice->body)["callerAvatarUrl"], "https://cdn.example/alice.png");
}

TEST(ApnsMissedCall, IsAnAlertCollapsedByCallId) {
  Call call = ringingCall();
  call.caller_display_name = "Alice A.";
  const auto notice = apnsMissedCall(call, "alerttok", kBundle, "id-2");
  EXPECT_EQ(notice.path, "/3/device/alerttok");
  EXPECT_EQ(header(notice, "apns-push-type"), "alert");
  EXPECT_EQ(header(notice, "apns-topic"), kBundle);
  EXPECT_EQ(header(notice, "apns-priority"), "10");
  EXPECT_EQ(header(notice, "apns-collapse-id"), call.call_id);
  EXPECT_EQ(header(notice, "apns-id"), "id-2");
  const json body = json::parse(notice.body);
  EXPECT_EQ(body["aps"]["alert"]["title"], "Missed call");
  EXPECT_EQ(body["aps"]["alert"]["body"], "Alice A.");
  EXPECT_EQ(body["aps"]["sound"], "default");
  EXPECT_EQ(body["event"], "missed_call");
  EXPECT_EQ(body["callId"], call.call_id);
}

TEST(ApnsMissedCall, NamesTheCallerByUserIdWithoutADisplayName) {
  const auto notice = apnsMissedCall(ringingCall(), "alerttok", kBundle, "id-3");
  EXPECT_EQ(json::parse(notice.body)["aps"]["alert"]["body"], "alice");
}

// =============================================================================
// APNs answers
// =============================================================================

TEST(ApnsAnswer, Delivered) { EXPECT_EQ(classifyApns(answer(200)).verdict, Verdict::Delivered); }

TEST(ApnsAnswer, UnregisteredIsADeadTokenSinceItsTimestamp) {
  const auto a = classifyApns(answer(410, R"({"reason":"Unregistered","timestamp":123})"));
  EXPECT_EQ(a.verdict, Verdict::DeadToken);
  EXPECT_EQ(a.reason, "Unregistered");
  ASSERT_TRUE(a.invalid_since.has_value());
  EXPECT_EQ(*a.invalid_since, UnixMillis{123});
}

TEST(ApnsAnswer, BadDeviceTokenIsADeadToken) {
  const auto a = classifyApns(answer(400, R"({"reason":"BadDeviceToken"})"));
  EXPECT_EQ(a.verdict, Verdict::DeadToken);
  EXPECT_FALSE(a.invalid_since.has_value());
}

TEST(ApnsAnswer, DeviceTokenNotForTopicIsADeadToken) {
  EXPECT_EQ(classifyApns(answer(400, R"({"reason":"DeviceTokenNotForTopic"})")).verdict,
            Verdict::DeadToken);
}

TEST(ApnsAnswer, OtherBadRequestsFail) {
  const auto a = classifyApns(answer(400, R"({"reason":"BadExpirationDate"})"));
  EXPECT_EQ(a.verdict, Verdict::Failed);
  EXPECT_EQ(a.reason, "BadExpirationDate");
}

TEST(ApnsAnswer, ExpiredProviderTokenAsksForANewSignature) {
  EXPECT_EQ(classifyApns(answer(403, R"({"reason":"ExpiredProviderToken"})")).verdict,
            Verdict::ReSign);
  EXPECT_EQ(classifyApns(answer(403, R"({"reason":"InvalidProviderToken"})")).verdict,
            Verdict::Failed);
}

TEST(ApnsAnswer, ServerErrorsAreRetried) {
  EXPECT_EQ(classifyApns(answer(500, R"({"reason":"InternalServerError"})")).verdict,
            Verdict::Retry);
  EXPECT_EQ(classifyApns(answer(503, R"({"reason":"ServiceUnavailable"})")).verdict,
            Verdict::Retry);
}

TEST(ApnsAnswer, TooManyRequestsIsRetriedAfterRetryAfter) {
  const auto a =
      classifyApns(answer(429, R"({"reason":"TooManyRequests"})", {{"retry-after", "7"}}));
  EXPECT_EQ(a.verdict, Verdict::Retry);
  ASSERT_TRUE(a.retry_after.has_value());
  EXPECT_EQ(*a.retry_after, milliseconds{7000});
}

TEST(ApnsAnswer, TooManyProviderTokenUpdatesFails) {
  EXPECT_EQ(classifyApns(answer(429, R"({"reason":"TooManyProviderTokenUpdates"})")).verdict,
            Verdict::Failed);
}

TEST(ApnsAnswer, NoAnswerIsRetried) {
  HttpResponse none;
  none.error = "Connection refused";
  const auto a = classifyApns(none);
  EXPECT_EQ(a.verdict, Verdict::Retry);
  EXPECT_EQ(a.reason, "Connection refused");
}

TEST(ApnsAnswer, ABodyThatIsNotJsonStillGetsAVerdict) {
  EXPECT_EQ(classifyApns(answer(502, "<html>bad gateway</html>")).verdict, Verdict::Retry);
  EXPECT_EQ(classifyApns(answer(400, "")).verdict, Verdict::Failed);
}

// =============================================================================
// FCM bodies
// =============================================================================

TEST(FcmInvite, IsDataOnlyWithStringValuesHighPriorityAndTheRingLeftAsTtl) {
  Call call = ringingCall();
  call.caller_display_name = "Alice";
  const UnixMillis now = kCreatedAt + milliseconds{10'500};
  const json m = json::parse(fcmInvite(call, "fcm-device-token", now))["message"];
  EXPECT_EQ(m["token"], "fcm-device-token");
  EXPECT_FALSE(m.contains("notification"));
  EXPECT_FALSE(m["android"].contains("notification"));
  EXPECT_EQ(m["android"]["priority"], "HIGH");
  EXPECT_EQ(m["android"]["ttl"], "20s");
  EXPECT_EQ(m["android"]["collapse_key"], call.call_id);

  const json& data = m["data"];
  for (const auto& [key, value] : data.items()) {
    EXPECT_TRUE(value.is_string()) << key;
  }
  EXPECT_EQ(data["event"], "incoming_call");
  EXPECT_EQ(data["callId"], call.call_id);
  EXPECT_EQ(data["fromUserId"], "alice");
  EXPECT_EQ(data["type"], "video");
  EXPECT_EQ(data["timestamp"], std::to_string(kCreatedAt.count()));
  EXPECT_EQ(data["ttlSeconds"], "20");
  EXPECT_EQ(data["expiresAt"], std::to_string(kRingDeadline.count()));
  EXPECT_EQ(data["callerDisplayName"], "Alice");
  EXPECT_FALSE(namesASecret(data));
}

TEST(FcmInvite, TtlIsZeroOnceTheRingIsOver) {
  const json m =
      json::parse(fcmInvite(ringingCall(), "t", kRingDeadline + milliseconds{5}))["message"];
  EXPECT_EQ(m["android"]["ttl"], "0s");
  EXPECT_EQ(m["data"]["ttlSeconds"], "0");
}

TEST(FcmCancel, CarriesCallIdAndReasonForAMinute) {
  const json m =
      json::parse(fcmCancel("call-9", "fcm-device-token", "answered_elsewhere"))["message"];
  EXPECT_EQ(m["token"], "fcm-device-token");
  EXPECT_FALSE(m.contains("notification"));
  EXPECT_EQ(
      m["data"],
      (json{{"event", "call_cancelled"}, {"callId", "call-9"}, {"reason", "answered_elsewhere"}}));
  EXPECT_EQ(m["android"]["priority"], "HIGH");
  EXPECT_EQ(m["android"]["ttl"], "60s");
  EXPECT_EQ(m["android"]["collapse_key"], "call-9");
}

// =============================================================================
// FCM answers
// =============================================================================

std::string fcmError(int code, const std::string& status, const std::string& message,
                     const std::string& error_code = "") {
  json error{{"code", code}, {"message", message}, {"status", status}};
  if (!error_code.empty()) {
    error["details"] =
        json::array({{{"@type", "type.googleapis.com/google.firebase.fcm.v1.FcmError"},
                      {"errorCode", error_code}}});
  }
  return json{{"error", error}}.dump();
}

TEST(FcmAnswer, Delivered) {
  EXPECT_EQ(classifyFcm(answer(200, R"({"name":"projects/p/messages/1"})")).verdict,
            Verdict::Delivered);
}

TEST(FcmAnswer, UnregisteredIsADeadToken) {
  const auto a = classifyFcm(
      answer(404, fcmError(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")));
  EXPECT_EQ(a.verdict, Verdict::DeadToken);
  EXPECT_EQ(a.reason, "UNREGISTERED");
}

TEST(ApnsAnswer, AReasonOfTheWrongTypeIsNoReason) {
  // Found by fuzz_push_answer: json::value() throws on a type mismatch.
  const auto a = classifyApns(answer(410, R"({"reason":178,"timestamp":"soon"})"));
  EXPECT_EQ(a.verdict, Verdict::DeadToken);
  EXPECT_EQ(a.reason, "");
  EXPECT_FALSE(a.invalid_since.has_value());
  EXPECT_EQ(classifyFcm(answer(500, R"({"error":{"status":5,"message":[]}})")).verdict,
            Verdict::Retry);
}

TEST(FcmAnswer, A404WithoutGooglesErrorBodySaysNothingOfTheToken) {
  // A proxy's page or a wrong push.fcm.url must not empty the registry.
  EXPECT_EQ(classifyFcm(answer(404, "<html>Not Found</html>")).verdict, Verdict::Failed);
}

TEST(FcmAnswer, SenderIdMismatchIsADeadToken) {
  const auto a = classifyFcm(
      answer(403, fcmError(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH")));
  EXPECT_EQ(a.verdict, Verdict::DeadToken);
  EXPECT_EQ(a.reason, "SENDER_ID_MISMATCH");
}

TEST(FcmAnswer, AnInvalidRegistrationTokenIsADeadToken) {
  const auto a = classifyFcm(
      answer(400, fcmError(400, "INVALID_ARGUMENT",
                           "The registration token is not a valid FCM registration token",
                           "INVALID_ARGUMENT")));
  EXPECT_EQ(a.verdict, Verdict::DeadToken);
}

TEST(FcmAnswer, OtherInvalidArgumentsFail) {
  const auto a = classifyFcm(
      answer(400, fcmError(400, "INVALID_ARGUMENT", "Invalid value at 'message.android.ttl'",
                           "INVALID_ARGUMENT")));
  EXPECT_EQ(a.verdict, Verdict::Failed);
  EXPECT_EQ(a.reason, "INVALID_ARGUMENT");
}

TEST(FcmAnswer, UnauthenticatedAsksForANewAccessToken) {
  const auto a = classifyFcm(answer(
      401, fcmError(401, "UNAUTHENTICATED",
                    "Request had invalid authentication credentials. Expected OAuth 2 access "
                    "token, login cookie or other valid authentication credential.")));
  EXPECT_EQ(a.verdict, Verdict::RefreshAuth);
  EXPECT_EQ(a.reason, "UNAUTHENTICATED");
}

TEST(FcmAnswer, ThirdPartyAuthErrorFails) {
  EXPECT_EQ(classifyFcm(answer(401, fcmError(401, "UNAUTHENTICATED",
                                             "Auth error from APNS or Web Push Service",
                                             "THIRD_PARTY_AUTH_ERROR")))
                .verdict,
            Verdict::Failed);
}

TEST(FcmAnswer, UnavailableIsRetried) {
  EXPECT_EQ(classifyFcm(answer(503, fcmError(503, "UNAVAILABLE",
                                             "The service is currently "
                                             "unavailable.",
                                             "UNAVAILABLE")))
                .verdict,
            Verdict::Retry);
}

TEST(FcmAnswer, QuotaExceededIsRetriedAfterRetryAfter) {
  const auto a = classifyFcm(
      answer(429, fcmError(429, "RESOURCE_EXHAUSTED", "Quota exceeded", "QUOTA_EXCEEDED"),
             {{"retry-after", "30"}}));
  EXPECT_EQ(a.verdict, Verdict::Retry);
  EXPECT_EQ(a.reason, "QUOTA_EXCEEDED");
  EXPECT_EQ(a.retry_after, milliseconds{30'000});
}

TEST(FcmAnswer, NoAnswerIsRetried) {
  HttpResponse none;
  none.error = "timeout";
  EXPECT_EQ(classifyFcm(none).verdict, Verdict::Retry);
}

// =============================================================================
// FCM service account and OAuth access token
// =============================================================================

json serviceAccountJson(const std::string& private_key) {
  return {{"type", "service_account"},
          {"project_id", "turnpike-test"},
          {"private_key_id", "0123456789abcdef"},
          {"private_key", private_key},
          {"client_email", "push@turnpike-test.iam.gserviceaccount.com"},
          {"token_uri", "https://oauth2.googleapis.com/token"}};
}

ServiceAccount parsedAccount() {
  std::string error;
  auto account = ServiceAccount::parse(serviceAccountJson(privatePem(rsaKey())).dump(), error);
  EXPECT_TRUE(account.has_value()) << error;
  return account ? *account : ServiceAccount{};
}

TEST(FcmServiceAccount, ParsesAGoogleServiceAccountFile) {
  const ServiceAccount account = parsedAccount();
  EXPECT_EQ(account.project_id, "turnpike-test");
  EXPECT_EQ(account.client_email, "push@turnpike-test.iam.gserviceaccount.com");
  EXPECT_EQ(account.token_uri, "https://oauth2.googleapis.com/token");
  EXPECT_EQ(account.key.algorithm(), tokens::JwtAlgorithm::RS256);
  EXPECT_EQ(account.key.kid(), "0123456789abcdef");
}

TEST(FcmServiceAccount, WithoutAPrivateKeyIsRefused) {
  json j = serviceAccountJson("");
  j.erase("private_key");
  std::string error;
  EXPECT_FALSE(ServiceAccount::parse(j.dump(), error).has_value());
  EXPECT_EQ(error, "has no private_key");
}

TEST(FcmServiceAccount, WithoutAClientEmailIsRefused) {
  json j = serviceAccountJson(privatePem(rsaKey()));
  j.erase("client_email");
  std::string error;
  EXPECT_FALSE(ServiceAccount::parse(j.dump(), error).has_value());
  EXPECT_EQ(error, "has no client_email");
}

TEST(FcmServiceAccount, AnEcKeyIsRefused) {
  std::string error;
  EXPECT_FALSE(
      ServiceAccount::parse(serviceAccountJson(privatePem(p256Key())).dump(), error).has_value());
  EXPECT_NE(error.find("private_key"), std::string::npos) << error;
  EXPECT_NE(error.find("RSA"), std::string::npos) << error;
}

TEST(FcmServiceAccount, NotJsonIsRefused) {
  std::string error;
  EXPECT_FALSE(ServiceAccount::parse("project_id: x", error).has_value());
  EXPECT_FALSE(error.empty());
}

std::map<std::string, std::string> formFields(const std::string& body) {
  std::map<std::string, std::string> out;
  std::size_t begin = 0;
  while (begin <= body.size()) {
    auto end = body.find('&', begin);
    if (end == std::string::npos) {
      end = body.size();
    }
    const std::string pair = body.substr(begin, end - begin);
    const auto eq = pair.find('=');
    out[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
    begin = end + 1;
  }
  return out;
}

TEST(FcmAccessToken, IsAskedForWithAnRs256JwtBearerAssertion) {
  const ServiceAccount account = parsedAccount();
  constexpr seconds kNow{1'700'000'000};
  const auto form = formFields(AccessToken::request(account, kNow));
  EXPECT_EQ(form.at("grant_type"), "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer");
  const std::string assertion = form.at("assertion");
  EXPECT_EQ(jwtPart(assertion, 0)["alg"], "RS256");
  EXPECT_EQ(jwtPart(assertion, 0)["kid"], "0123456789abcdef");

  std::string error;
  const auto public_key = tokens::VerifyKey::fromPem(publicPem(rsaKey()), error);
  ASSERT_TRUE(public_key.has_value()) << error;
  tokens::JwtExpectations expect;
  expect.issuer = account.client_email;
  expect.audience = account.token_uri;
  const auto claims = tokens::verifyJwt(assertion, {*public_key}, kNow, expect, error);
  ASSERT_TRUE(claims.has_value()) << error;
  EXPECT_EQ((*claims)["iss"], account.client_email);
  EXPECT_EQ((*claims)["aud"], account.token_uri);
  EXPECT_EQ((*claims)["scope"], "https://www.googleapis.com/auth/firebase.messaging");
  EXPECT_EQ((*claims)["iat"], kNow.count());
  EXPECT_EQ((*claims)["exp"].get<std::int64_t>() - (*claims)["iat"].get<std::int64_t>(), 3600);
}

TEST(FcmAccessToken, AShortLivedTokenIsKeptForHalfItsLifetime) {
  constexpr seconds kNow{1'700'000'000};
  AccessToken token;
  std::string error;
  ASSERT_TRUE(
      token.accept(answer(200, R"({"access_token":"ya29.s","expires_in":60})"), kNow, error))
      << error;
  ASSERT_NE(token.valid(kNow + seconds{29}), nullptr);
  EXPECT_EQ(token.valid(kNow + seconds{30}), nullptr);
  EXPECT_FALSE(
      token.accept(answer(200, R"({"access_token":"ya29.t","expires_in":1})"), kNow, error));
}

TEST(FcmAccessToken, IsKeptUntilAMinuteBeforeItExpires) {
  constexpr seconds kNow{1'700'000'000};
  AccessToken token;
  EXPECT_EQ(token.valid(kNow), nullptr);
  std::string error;
  ASSERT_TRUE(token.accept(answer(200, R"({"access_token":"ya29.x","expires_in":3600,)"
                                       R"("token_type":"Bearer"})"),
                           kNow, error))
      << error;
  EXPECT_EQ(token.obtained(), 1U);
  ASSERT_NE(token.valid(kNow), nullptr);
  EXPECT_EQ(*token.valid(kNow), "ya29.x");
  ASSERT_NE(token.valid(kNow + seconds{3539}), nullptr);
  EXPECT_EQ(token.valid(kNow + seconds{3541}), nullptr);
}

TEST(FcmAccessToken, A401DropsOnlyTheTokenItRefused) {
  constexpr seconds kNow{1'700'000'000};
  AccessToken token;
  std::string error;
  ASSERT_TRUE(
      token.accept(answer(200, R"({"access_token":"ya29.x","expires_in":3600})"), kNow, error));
  token.invalidate("ya29.older");
  ASSERT_NE(token.valid(kNow), nullptr);
  token.invalidate("ya29.x");
  EXPECT_EQ(token.valid(kNow), nullptr);
}

TEST(FcmAccessToken, ARefusalIsAnError) {
  constexpr seconds kNow{1'700'000'000};
  AccessToken token;
  std::string error;
  EXPECT_FALSE(token.accept(
      answer(400, R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})"),
      kNow, error));
  EXPECT_NE(error.find("400"), std::string::npos) << error;
  EXPECT_NE(error.find("invalid_grant"), std::string::npos) << error;
  EXPECT_EQ(token.valid(kNow), nullptr);
  EXPECT_EQ(token.obtained(), 0U);
}

TEST(FcmAccessToken, AnAnswerWithoutExpiresInIsAnError) {
  AccessToken token;
  std::string error;
  EXPECT_FALSE(token.accept(answer(200, R"({"access_token":"ya29.x"})"), seconds{0}, error));
  EXPECT_FALSE(error.empty());
}

// =============================================================================
// Retry-After
// =============================================================================

TEST(PushRetryAfter, DelaySecondsOnly) {
  EXPECT_EQ(parseRetryAfter("7"), milliseconds{7000});
  EXPECT_EQ(parseRetryAfter("0"), milliseconds{0});
  EXPECT_EQ(parseRetryAfter(""), std::nullopt);
  EXPECT_EQ(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
  EXPECT_EQ(parseRetryAfter("-1"), std::nullopt);
  EXPECT_EQ(parseRetryAfter("1.5"), std::nullopt);
}

TEST(PushRetryAfter, IsCappedAtAnHour) {
  EXPECT_EQ(parseRetryAfter("999999"), milliseconds{3'600'000});
  EXPECT_EQ(parseRetryAfter("3600"), milliseconds{3'600'000});
}

// =============================================================================
// Dead tokens in the registry
// =============================================================================

TEST(PushDeadToken, IsRemovedUnlessTheDeviceRegisteredAgainAfterwards) {
  DeviceRegistry registry;
  Device d;
  d.key = {"bob", "b-phone"};
  d.platform = Platform::Ios;
  d.push_tokens = {{PushKind::Voip, "voip-1", PushEnv::Production, kBundle},
                   {PushKind::Apns, "alert-1", PushEnv::Production, kBundle}};
  constexpr UnixMillis kRegistered{1'700'000'000'000};
  ASSERT_NE(registry.registerDevice(d, kRegistered).device, nullptr);

  // APNs says the token died before this registration: keep it.
  EXPECT_EQ(registry.removeToken(d.key, PushKind::Voip, "voip-1", kRegistered - milliseconds{1}),
            nullptr);
  EXPECT_EQ(registry.find(d.key)->push_tokens.size(), 2U);
  // The wrong kind names no token of this device.
  EXPECT_EQ(registry.removeToken(d.key, PushKind::Fcm, "voip-1"), nullptr);

  const Device* changed =
      registry.removeToken(d.key, PushKind::Voip, "voip-1", kRegistered + milliseconds{1});
  ASSERT_NE(changed, nullptr);
  ASSERT_EQ(changed->push_tokens.size(), 1U);
  EXPECT_EQ(changed->push_tokens[0].token, "alert-1");
  EXPECT_EQ(registry.removeToken(d.key, PushKind::Voip, "voip-1"), nullptr);  // already gone
}

// =============================================================================
// Push credentials
// =============================================================================

class PushCredentialsLoad : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    return dir_.write(name, text);
  }

  // push.apns.private_key is on line 6.
  static conf::Config configWithApnsKey(const std::string& path) {
    const auto r = conf::loadConfig(std::string("push:\n") +
                                    "  apns:\n"
                                    "    team_id: TEAM123456\n"
                                    "    key_id: KEY1234567\n"
                                    "    bundle_id: com.example.app\n"
                                    "    private_key: " +
                                    path + "\n");
    EXPECT_TRUE(r.config.has_value()) << (r.errors.empty() ? "" : r.errors[0].toString());
    return r.config.value_or(conf::Config{});
  }

  testing::TempDir dir_{"push-creds"};
};

TEST_F(PushCredentialsLoad, AnRsaKeyIsNotAnApnsAuthKey) {
  const auto config = configWithApnsKey(write("rsa.p8", privatePem(rsaKey())));
  std::vector<conf::ConfigError> errors;
  const auto credentials = PushCredentials::load(config.push, errors);
  EXPECT_FALSE(credentials.apns_key.has_value());
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_EQ(errors[0].path, "push.apns.private_key");
  EXPECT_EQ(errors[0].line, 6);
  EXPECT_NE(errors[0].message.find("P-256"), std::string::npos) << errors[0].message;
}

TEST_F(PushCredentialsLoad, AP256Pkcs8KeyIsTheApnsAuthKey) {
  const auto config = configWithApnsKey(write("AuthKey_KEY1234567.p8", privatePem(p256Key())));
  std::vector<conf::ConfigError> errors;
  const auto credentials = PushCredentials::load(config.push, errors);
  EXPECT_TRUE(errors.empty()) << errors[0].toString();
  ASSERT_TRUE(credentials.apns_key.has_value());
  EXPECT_EQ(credentials.apns_key->kid(), kKeyId);
  EXPECT_EQ(credentials.apns_key->algorithm(), tokens::JwtAlgorithm::ES256);
  EXPECT_FALSE(credentials.fcm.has_value());

  // It signs provider tokens that the key's public half verifies.
  std::string error;
  const auto public_key = tokens::VerifyKey::fromPem(publicPem(p256Key()), error);
  ASSERT_TRUE(public_key.has_value()) << error;
  turnpike::testing::FakeClock clock;
  ProviderToken token(*credentials.apns_key, kTeamId, clock);
  tokens::JwtExpectations expect;
  expect.require_exp = false;
  EXPECT_TRUE(tokens::verifyJwt(token.current(), {*public_key}, clock.unixTime(), expect, error))
      << error;
}

TEST_F(PushCredentialsLoad, AServiceAccountWithAnEcKeyIsRefusedWithItsLine) {
  const auto path = write("sa.json", serviceAccountJson(privatePem(p256Key())).dump());
  const auto r = conf::loadConfig("push:\n  fcm:\n    service_account: " + path + "\n");
  ASSERT_TRUE(r.config.has_value());
  std::vector<conf::ConfigError> errors;
  const auto credentials = PushCredentials::load(r.config->push, errors);
  EXPECT_FALSE(credentials.fcm.has_value());
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_EQ(errors[0].path, "push.fcm.service_account");
  EXPECT_EQ(errors[0].line, 3);
}

TEST_F(PushCredentialsLoad, AGoodServiceAccountIsLoaded) {
  const auto path = write("sa.json", serviceAccountJson(privatePem(rsaKey())).dump());
  const auto r = conf::loadConfig("push:\n  fcm:\n    service_account: " + path + "\n");
  ASSERT_TRUE(r.config.has_value());
  std::vector<conf::ConfigError> errors;
  const auto credentials = PushCredentials::load(r.config->push, errors);
  EXPECT_TRUE(errors.empty());
  ASSERT_TRUE(credentials.fcm.has_value());
  EXPECT_EQ(credentials.fcm->project_id, "turnpike-test");
  EXPECT_FALSE(credentials.apns_key.has_value());
}

}  // namespace
}  // namespace turnpike::control::push
