// push.*: the APNs key, the FCM service account, provider URLs and push
// limits, with errors that name the key and its line.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "conf/config_loader.h"
#include "tests/support/temp_dir.h"

namespace turnpike::conf {
namespace {

// A throwaway P-256 key in PKCS#8, as Apple's AuthKey_<key id>.p8 is. The
// config only checks that the file is PEM; the key itself is read later.
constexpr const char* kP8 =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgPEruQcKleKd3100p\n"
    "VrMD582j1rfd1+qixhqy7Cbz3rOhRANCAATGtqgYoSn7JQZnjpR4RsKoZR8FccWZ\n"
    "ev9ISyn233p4c6SGcTCAX0Qgj83fTwgmOReRYuwRSOYOaI4b01qzBUvd\n"
    "-----END PRIVATE KEY-----\n";

constexpr const char* kServiceAccount = R"({
  "type": "service_account",
  "project_id": "turnpike-test",
  "private_key_id": "0123456789abcdef",
  "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----\n",
  "client_email": "push@turnpike-test.iam.gserviceaccount.com",
  "token_uri": "https://oauth2.googleapis.com/token"
})";

constexpr const char* kServiceAccountWithoutKey = R"({
  "type": "service_account",
  "project_id": "turnpike-test",
  "client_email": "push@turnpike-test.iam.gserviceaccount.com",
  "token_uri": "https://oauth2.googleapis.com/token"
})";

class PushConfigLoad : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    return dir_.write(name, text);
  }

  /// push.apns with every field but `private_key`'s file chosen by the
  /// test; private_key is on line 6.
  static std::string apnsWithKey(const std::string& key_path) {
    return "push:\n"
           "  apns:\n"
           "    team_id: TEAM123456\n"
           "    key_id: KEY1234567\n"
           "    bundle_id: com.example.app\n"
           "    private_key: " +
           key_path + "\n";
  }

  testing::TempDir dir_{"push-conf"};
};

// The one error of `r`, as "path: line N: message"; every error when there are more.
std::string theError(const LoadResult& r) {
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(r.errors.size(), 1U);
  if (r.errors.size() != 1U) {
    for (const auto& e : r.errors) {
      ADD_FAILURE() << "error: " << e.toString();
    }
  }
  return r.errors.empty() ? "" : r.errors.front().toString();
}

TEST_F(PushConfigLoad, AnApnsKeyFileThatIsMissingIsAnErrorOnItsLine) {
  const std::string path = (dir_.path() / "AuthKey_KEY1234567.p8").string();
  EXPECT_EQ(theError(loadConfig(apnsWithKey(path))),
            "push.apns.private_key: line 6: cannot read " + path);
}

TEST_F(PushConfigLoad, AnApnsKeyFileThatIsNotPemIsAnError) {
  const auto path = write("AuthKey.p8", "not a key\n");
  const auto r = loadConfig(apnsWithKey(path));
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].path, "push.apns.private_key");
  EXPECT_EQ(r.errors[0].line, 6);
  EXPECT_NE(r.errors[0].message.find("is not a PEM private key"), std::string::npos)
      << r.errors[0].message;
}

TEST_F(PushConfigLoad, ASec1EcKeyFileIsAccepted) {
  const auto path =
      write("key.pem", "-----BEGIN EC PRIVATE KEY-----\nMHc...\n-----END EC PRIVATE KEY-----\n");
  const auto r = loadConfig(apnsWithKey(path));
  EXPECT_TRUE(r.config.has_value()) << (r.errors.empty() ? "" : r.errors[0].toString());
}

TEST_F(PushConfigLoad, AnApnsKeyNeedsTheTeamId) {
  const auto path = write("AuthKey.p8", kP8);
  const auto r = loadConfig(
      "push:\n"
      "  apns:\n"
      "    key_id: KEY1234567\n"
      "    bundle_id: com.example.app\n"
      "    private_key: " +
      path + "\n");
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].path, "push.apns.team_id");
  EXPECT_EQ(r.errors[0].line, 3);  // where push.apns begins
  EXPECT_NE(r.errors[0].message.find("push.apns.private_key"), std::string::npos);
}

TEST_F(PushConfigLoad, AnApnsKeyNeedsKeyIdAndBundleIdToo) {
  const auto path = write("AuthKey.p8", kP8);
  const auto r =
      loadConfig("push:\n  apns:\n    team_id: TEAM123456\n    private_key: " + path + "\n");
  ASSERT_EQ(r.errors.size(), 2U);
  EXPECT_EQ(r.errors[0].path, "push.apns.key_id");
  EXPECT_EQ(r.errors[1].path, "push.apns.bundle_id");
}

TEST_F(PushConfigLoad, TeamIdIsAppleTenCharacterIdentifier) {
  const auto path = write("AuthKey.p8", kP8);
  const std::string rest =
      "    key_id: KEY1234567\n    bundle_id: com.example.app\n"
      "    private_key: " +
      path + "\n";
  EXPECT_EQ(theError(loadConfig("push:\n  apns:\n    team_id: TEAM12\n" + rest)),
            "push.apns.team_id: line 3: must be Apple's 10-character identifier");
  EXPECT_EQ(theError(loadConfig("push:\n  apns:\n    team_id: TEAM1234567\n" + rest)),
            "push.apns.team_id: line 3: must be Apple's 10-character identifier");
  EXPECT_EQ(theError(loadConfig("push:\n  apns:\n    team_id: TEAM-12345\n" + rest)),
            "push.apns.team_id: line 3: must be Apple's 10-character identifier");
}

TEST_F(PushConfigLoad, KeyIdIsAppleTenCharacterIdentifier) {
  EXPECT_EQ(theError(loadConfig("push:\n  apns:\n    key_id: ABC\n")),
            "push.apns.key_id: line 3: must be Apple's 10-character identifier");
}

TEST_F(PushConfigLoad, AServiceAccountWithoutPrivateKeyIsAnErrorOnItsLine) {
  const auto path = write("sa.json", kServiceAccountWithoutKey);
  const auto r = loadConfig("push:\n  fcm:\n    service_account: " + path + "\n");
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].path, "push.fcm.service_account");
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_NE(r.errors[0].toString().find("has no private_key"), std::string::npos)
      << r.errors[0].toString();
  EXPECT_NE(r.errors[0].toString().find("line 3"), std::string::npos);
}

TEST_F(PushConfigLoad, AServiceAccountThatIsMissingOrNotAnObjectIsAnError) {
  const std::string missing = (dir_.path() / "none.json").string();
  EXPECT_EQ(theError(loadConfig("push:\n  fcm:\n    service_account: " + missing + "\n")),
            "push.fcm.service_account: line 3: cannot read " + missing);
  const auto list = write("list.json", "[1, 2]");
  EXPECT_EQ(theError(loadConfig("push:\n  fcm:\n    service_account: " + list + "\n")),
            "push.fcm.service_account: line 3: " + list + " is not a service-account JSON object");
}

TEST_F(PushConfigLoad, ProviderUrlsAreBaseUrls) {
  const auto r = loadConfig(
      "push:\n"
      "  apns:\n"
      "    production_url: https://api.push.apple.com/3/device\n");
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].path, "push.apns.production_url");
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_EQ(theError(loadConfig("push:\n  apns:\n    sandbox_url: api.sandbox.push.apple.com\n"))
                .rfind("push.apns.sandbox_url: line 3:", 0),
            0U);
  EXPECT_EQ(theError(loadConfig("push:\n  fcm:\n    url: https://\n")).rfind("push.fcm.url:", 0),
            0U);
  // The providers speak HTTP/2 over TLS only.
  EXPECT_EQ(theError(loadConfig("push:\n  fcm:\n    url: http://localhost:9090\n"))
                .rfind("push.fcm.url: line 3:", 0),
            0U);
  const auto local = loadConfig(
      "push:\n  apns:\n    production_url: https://127.0.0.1:8443\n"
      "  fcm:\n    url: https://localhost:9090\n    \n  ping_interval: 2s\n");
  ASSERT_TRUE(local.config.has_value()) << local.errors[0].toString();
  EXPECT_EQ(local.config->push.apns.production_url, "https://127.0.0.1:8443");
  EXPECT_EQ(local.config->push.fcm.url, "https://localhost:9090");
  EXPECT_EQ(local.config->push.ping_interval, std::chrono::seconds{2});
  EXPECT_FALSE(loadConfig("push:\n  ping_interval: 500ms\n").config.has_value());
}

TEST_F(PushConfigLoad, ByDefaultThereIsNoPushAndTheRealServices) {
  const auto r = loadConfig("");
  ASSERT_TRUE(r.config.has_value());
  const auto& push = r.config->push;
  EXPECT_FALSE(push.apns.enabled());
  EXPECT_FALSE(push.fcm.enabled());
  EXPECT_EQ(push.apns.production_url, "https://api.push.apple.com");
  EXPECT_EQ(push.apns.sandbox_url, "https://api.sandbox.push.apple.com");
  EXPECT_EQ(push.fcm.url, "https://fcm.googleapis.com");
  EXPECT_EQ(push.rate_limits.per_device_per_minute, 10U);
  EXPECT_EQ(push.rate_limits.per_user_per_minute, 30U);
}

TEST_F(PushConfigLoad, AValidConfigLoads) {
  const auto key = write("AuthKey_KEY1234567.p8", kP8);
  const auto account = write("sa.json", kServiceAccount);
  const auto ca = write("ca.pem", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");
  const auto r = loadConfig(
      "push:\n"                    // 1
      "  apns:\n"                  // 2
      "    team_id: TEAM123456\n"  // 3
      "    key_id: KEY1234567\n"   // 4
      "    private_key: " +
      key +
      "\n"                                            // 5
      "    bundle_id: com.example.app\n"              // 6
      "    production_url: https://127.0.0.1:8443\n"  // 7
      "    sandbox_url: https://127.0.0.1:8444\n"     // 8
      "  fcm:\n"                                      // 9
      "    service_account: " +
      account +
      "\n"                                 // 10
      "    url: https://127.0.0.1:8445\n"  // 11
      "  ca_file: " +
      ca +
      "\n"                               // 12
      "  request_timeout: 5s\n"          // 13
      "  rate_limits:\n"                 // 14
      "    per_device_per_minute: 4\n"   // 15
      "    per_user_per_minute: 12\n");  // 16
  ASSERT_TRUE(r.config.has_value()) << r.errors[0].toString();
  const auto& push = r.config->push;
  EXPECT_TRUE(push.apns.enabled());
  EXPECT_EQ(push.apns.team_id, "TEAM123456");
  EXPECT_EQ(push.apns.key_id, "KEY1234567");
  EXPECT_EQ(push.apns.private_key, key);
  EXPECT_EQ(push.apns.private_key_line, 5);
  EXPECT_EQ(push.apns.bundle_id, "com.example.app");
  EXPECT_EQ(push.apns.production_url, "https://127.0.0.1:8443");
  EXPECT_EQ(push.apns.sandbox_url, "https://127.0.0.1:8444");
  EXPECT_TRUE(push.fcm.enabled());
  EXPECT_EQ(push.fcm.service_account, account);
  EXPECT_EQ(push.fcm.service_account_line, 10);
  EXPECT_EQ(push.fcm.url, "https://127.0.0.1:8445");
  EXPECT_EQ(push.ca_file, ca);
  EXPECT_EQ(push.request_timeout, std::chrono::seconds{5});
  EXPECT_EQ(push.rate_limits.per_device_per_minute, 4U);
  EXPECT_EQ(push.rate_limits.per_user_per_minute, 12U);
}

TEST_F(PushConfigLoad, RateLimitsAndTimeoutAreChecked) {
  EXPECT_EQ(theError(loadConfig("push:\n  rate_limits:\n    per_device_per_minute: 0\n"))
                .rfind("push.rate_limits.per_device_per_minute: line 3:", 0),
            0U);
  EXPECT_EQ(theError(loadConfig("push:\n  rate_limits:\n    per_user_per_minute: many\n"))
                .rfind("push.rate_limits.per_user_per_minute: line 3:", 0),
            0U);
  EXPECT_EQ(theError(loadConfig("push:\n  request_timeout: 500ms\n")),
            "push.request_timeout: line 2: must be at least 1s");
  const std::string missing = (dir_.path() / "ca.pem").string();
  EXPECT_EQ(theError(loadConfig("push:\n  ca_file: " + missing + "\n")),
            "push.ca_file: line 2: cannot read " + missing);
}

TEST_F(PushConfigLoad, UnknownKeysAreErrors) {
  const auto r = loadConfig("push:\n  apns:\n    teamid: TEAM123456\n");
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].path, "push.apns.teamid");
  EXPECT_NE(r.errors[0].message.find("push.apns.team_id"), std::string::npos)
      << r.errors[0].message;
}

}  // namespace
}  // namespace turnpike::conf
