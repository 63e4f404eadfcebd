#pragma once
// Running the weft executable from a test: its exit code and output, in a
// fresh working directory per test.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace weft::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `weft ARGS` in `dir` (a shell command line; quote as needed).
CommandResult run_weft(const std::string& args, const std::filesystem::path& dir,
                       const std::string& stdin_text = "");

// A fresh directory under the system temp dir, removed when the test ends.
class CliTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  CommandResult weft(const std::string& args, const std::string& stdin_text = "") {
    return run_weft(args, dir_, stdin_text);
  }
  std::filesystem::path dir_;
};

// Writes `text` to dir/name.
void write_file(const std::filesystem::path& path, const std::string& text);
std::string read_file(const std::filesystem::path& path);

}  // namespace weft::testing
