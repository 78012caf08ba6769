// A short run of turnpike-loadgen against the real binary: a few clients, a
// low rate, both modes, both directions. No timing assertion: it checks that
// every SRTP packet arrived once and intact.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/integration/turnpike_server.h"
#include "tests/support/subprocess.h"

namespace turnpike::testing {
namespace {

TEST(LoadgenSmoke, SrtpThroughChannelsAndIndicationsWithoutLossOrCorruption) {
  TurnpikeServer server("realm: example.org\nauth:\n  rest_secrets: [\"s3cret\"]\n",
                        "  peers:\n    allow_loopback: true\n");
  ASSERT_TRUE(server.ready()) << server.process().output();
  for (const char* mode : {"channel", "send"}) {
    const std::string json = ::testing::TempDir() + "loadgen-" + mode + ".json";
    const auto r =
        runCommand({LOADGEN_BINARY, "--server", "127.0.0.1:" + std::to_string(server.udpPort()),
                    "--secret", "s3cret", "--mode", mode, "--clients", "4", "--pps", "50",
                    "--duration", "1", "--echo", "--json", json},
                   std::chrono::seconds{60});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto result = nlohmann::json::parse(std::ifstream(json));
    const auto& run = result["runs"][0];
    EXPECT_GT(run["sent"].get<int>(), 100) << r.output;
    EXPECT_EQ(run["to_peer"]["received"], run["sent"]) << r.output;
    EXPECT_EQ(run["to_peer"]["corrupted"], 0);
    EXPECT_EQ(run["to_peer"]["duplicates"], 0);
    EXPECT_EQ(run["echoed"]["received"], run["sent"]) << r.output;
    EXPECT_EQ(run["echoed"]["corrupted"], 0);
    EXPECT_GT(run["round_trip_latency"]["count"].get<int>(), 0);
    std::remove(json.c_str());
  }
  EXPECT_EQ(server.stop(), 0);
}

}  // namespace
}  // namespace turnpike::testing
