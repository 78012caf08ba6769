// FileChange: what the certificate watch relies on. A write in place, a
// rename over the file and a symlink swap (Kubernetes' ..data) each count
// once; a missing file counts as unchanged until it is back.

#include "relay/app/file_change.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <string>

namespace turnpike::app {
namespace {

class FileChangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir + "/v1");
    std::filesystem::create_directories(dir + "/v2");
    std::ofstream(dir + "/v1/cert.pem") << "one";
    std::ofstream(dir + "/v2/cert.pem") << "two, longer";
    std::filesystem::create_directory_symlink("v1", dir + "/data");
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  const std::string dir =
      ::testing::TempDir() + "turnpike-file-change-" + std::to_string(::getpid());
};

TEST_F(FileChangeTest, EachKindOfChangeCountsOnce) {
  FileChange watch({dir + "/data/cert.pem"});
  EXPECT_FALSE(watch.changed());  // nothing happened since it looked

  // The symlink swap a kubelet does: the path now leads to another file.
  std::filesystem::create_directory_symlink("v2", dir + "/data.new");
  std::filesystem::rename(dir + "/data.new", dir + "/data");
  EXPECT_TRUE(watch.changed());
  EXPECT_FALSE(watch.changed());

  // A rename over the file (certbot, an editor).
  std::ofstream(dir + "/v2/next.pem") << "three";
  std::filesystem::rename(dir + "/v2/next.pem", dir + "/v2/cert.pem");
  EXPECT_TRUE(watch.changed());
  EXPECT_FALSE(watch.changed());

  // Written in place with another size.
  std::ofstream(dir + "/v2/cert.pem", std::ios::app) << " and more";
  EXPECT_TRUE(watch.changed());
}

TEST_F(FileChangeTest, AMissingFileIsNotAChangeUntilItIsBack) {
  FileChange watch({dir + "/data/cert.pem", dir + "/data/key.pem"});  // no key yet
  std::filesystem::remove(dir + "/v1/cert.pem");
  EXPECT_FALSE(watch.changed());  // half-way through a rotation: wait
  std::ofstream(dir + "/v1/cert.pem") << "new";
  std::ofstream(dir + "/v1/key.pem") << "key";
  EXPECT_TRUE(watch.changed());
  EXPECT_FALSE(watch.changed());
}

}  // namespace
}  // namespace turnpike::app
