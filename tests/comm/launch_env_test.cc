// launched_by_mpi() reads the launchers' environment variables; a build
// without MPI or NCCL says so when asked for them.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>
#include <optional>
#include <string>

#include "support/error_testing.h"
#include "weft/comm/mpi.h"
#include "weft/comm/nccl.h"

namespace weft {
namespace {

// Clears the launchers' variables for one test and restores them after.
class LaunchEnvironment : public ::testing::Test {
 protected:
  static constexpr const char* kNames[] = {
      "OMPI_COMM_WORLD_SIZE", "PMI_SIZE",  "MV2_COMM_WORLD_SIZE",
      "SLURM_STEP_NUM_TASKS", "PMIX_RANK", "PMI_RANK"};
  void SetUp() override {
    for (const char* name : kNames) {
      if (const char* value = getenv(name)) saved_[name] = value;
      unsetenv(name);
    }
  }
  void TearDown() override {
    for (const char* name : kNames) unsetenv(name);
    for (const auto& [name, value] : saved_) setenv(name.c_str(), value.c_str(), 1);
  }
  std::map<std::string, std::string> saved_;
};

TEST_F(LaunchEnvironment, NoLauncherMeansNo) {
  EXPECT_FALSE(launched_by_mpi());
}

TEST_F(LaunchEnvironment, WorldSizeAboveOneMeansYes) {
  setenv("OMPI_COMM_WORLD_SIZE", "4", 1);
  EXPECT_TRUE(launched_by_mpi());
  setenv("OMPI_COMM_WORLD_SIZE", "1", 1);
  EXPECT_FALSE(launched_by_mpi());
  unsetenv("OMPI_COMM_WORLD_SIZE");
  setenv("PMI_SIZE", "2", 1);
  EXPECT_TRUE(launched_by_mpi());
}

TEST_F(LaunchEnvironment, PmixWithoutASizeMeansYes) {
  setenv("PMIX_RANK", "0", 1);
  EXPECT_TRUE(launched_by_mpi());
}

TEST(CommBuild, MissingLibrariesAreNamed) {
#ifndef WEFT_WITH_MPI
  EXPECT_NE(testing::error_of([] { make_mpi_world(); }).find("built without MPI"),
            std::string::npos);
#endif
#ifdef WEFT_WITH_NCCL
  EXPECT_TRUE(nccl_available());
#else
  EXPECT_FALSE(nccl_available());
  EXPECT_NE(testing::error_of([] { make_nccl_world(); }).find("built without NCCL"),
            std::string::npos);
#endif
}

}  // namespace
}  // namespace weft
