#pragma once
// Running the weft executable from a test: its exit code and output, in a
// fresh working directory per test.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace weft::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `weft ARGS` in `dir` (a shell command line; quote as needed).
CommandResult run_weft(const std::string& args, const std::filesystem::path& dir,
                       const std::string& stdin_text = "");
// Runs a shell command line in `dir`; stdout and stderr together.
CommandResult run_shell(const std::string& command, const std::filesystem::path& dir);

// A few thousand characters of patterned text (a character vocabulary of 20).
std::string small_corpus();
// A tiny GPT on data/corpus (prepared from small_corpus); the learning rate
// is left to each test.
extern const std::string kTinyModel;
extern const std::string kTinyLm;  // kTinyModel with a learning rate
// The loss of every "train" event of a run's metrics.jsonl.
std::vector<double> train_losses(const std::filesystem::path& metrics);

// A fresh directory under the system temp dir, removed when the test ends.
class CliTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  CommandResult weft(const std::string& args, const std::string& stdin_text = "") {
    return run_weft(args, dir_, stdin_text);
  }
  // A refusal: exit 2, the output mentions every part, and no run
  // directory appeared.
  void expect_refused(const std::string& args, const std::vector<std::string>& parts);
  std::filesystem::path dir_;
};

// Writes `text` to dir/name.
void write_file(const std::filesystem::path& path, const std::string& text);
std::string read_file(const std::filesystem::path& path);

}  // namespace weft::testing
