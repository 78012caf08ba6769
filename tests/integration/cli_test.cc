// `turnpike --check-config` and `--version` as an operator runs them.

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "tests/support/subprocess.h"

namespace turnpike::testing {
namespace {

CommandResult checkConfig(const std::string& yaml) {
  const std::string path = ::testing::TempDir() + "check-" + std::to_string(::getpid()) + ".yaml";
  std::ofstream(path) << yaml;
  auto r = runCommand({TURNPIKE_BINARY, "--check-config", path});
  std::remove(path.c_str());
  return r;
}

TEST(Cli, VersionPrintsTheVersion) {
  const auto r = runCommand({TURNPIKE_BINARY, "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, "turnpike " TURNPIKE_VERSION "\n");
}

TEST(Cli, TheCommentedExampleIsValid) {
  const auto r = runCommand({TURNPIKE_BINARY, "--check-config",
                             std::string(TURNPIKE_SOURCE_DIR) + "/conf/turnpike.yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(": ok"), std::string::npos);
}

TEST(Cli, TypoKeyIsRejectedWithPathAndLine) {
  const auto r = checkConfig("log:\n  level: info\n  formt: json\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("log.formt: line 3: unknown key (did you mean \"log.format\"?)"),
            std::string::npos)
      << r.output;
}

TEST(Cli, WrongTypeIsRejectedWithPathAndLine) {
  const auto r = checkConfig("listen:\n  tcp:\n    port: 3478\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("listen.tcp: line 3: expected a list, got a mapping"), std::string::npos)
      << r.output;
}

TEST(Cli, PortOutOfRangeIsRejectedWithPathAndLine) {
  const auto r = checkConfig(
      "# comment\nlisten:\n  udp:\n    - \"0.0.0.0:3478\"\n    - \"[::]:3478\"\n"
      "  tcp:\n    - \"0.0.0.0:70000\"\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("listen.tcp[0]: line 7: port 70000 is out of range"), std::string::npos)
      << r.output;
}

TEST(Cli, MissingFileIsAnError) {
  const auto r = runCommand({TURNPIKE_BINARY, "--check-config", "/nonexistent/turnpike.yaml"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("cannot be read"), std::string::npos);
}

TEST(Cli, RunWithABadConfigExitsOne) {
  const std::string path = ::testing::TempDir() + "run-bad-" + std::to_string(::getpid()) + ".yaml";
  std::ofstream(path) << "relay:\n  workers: 0\n";
  const auto r = runCommand({TURNPIKE_BINARY, "--config", path});
  std::remove(path.c_str());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("relay.workers: line 2: 0 is out of range (1..256)"), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace turnpike::testing
