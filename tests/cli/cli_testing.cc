#include "cli_testing.h"

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

namespace weft::testing {

CommandResult run_weft(const std::string& args, const std::filesystem::path& dir,
                       const std::string& stdin_text) {
  std::string input_redirect = "< /dev/null";
  if (!stdin_text.empty()) {
    write_file(dir / "stdin.txt", stdin_text);
    input_redirect = "< stdin.txt";
  }
  return run_shell(std::string(WEFT_BINARY) + " " + args + " " + input_redirect, dir);
}

CommandResult run_shell(const std::string& command_line, const std::filesystem::path& dir) {
  const std::string command = "cd '" + dir.string() + "' && " + command_line + " 2>&1";
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

void CliTest::SetUp() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::random_device rd;
  dir_ = std::filesystem::temp_directory_path() /
         ("weft-cli-" + std::string(info->name()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(dir_);
}

void CliTest::TearDown() { std::filesystem::remove_all(dir_); }

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string small_corpus() {
  const char* animals[] = {"cat", "dog", "bird", "fox"};
  const char* places[] = {"mat", "log", "hill", "box"};
  std::ostringstream out;
  for (int i = 0; i < 300; ++i) {
    out << "the " << animals[i % 4] << " sat on the " << places[(i / 4) % 4] << ".\n";
  }
  return out.str();
}

const std::string kTinyModel =
    "--model.preset tiny-gpt --data.dataset data/corpus --data.batch_size 8 --data.seq_len 16 "
    "--optim.warmup 5 --train.eval_every 0 --train.sample_every 0 --log.every 1 "
    "--log.progress plain";
const std::string kTinyLm = kTinyModel + " --optim.lr 5e-3";

std::vector<double> train_losses(const std::filesystem::path& metrics) {
  std::vector<double> losses;
  std::istringstream lines(read_file(metrics));
  std::string line;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j["event"] == "train") losses.push_back(j["loss"].get<double>());
  }
  return losses;
}

void CliTest::expect_refused(const std::string& args, const std::vector<std::string>& parts) {
  const CommandResult r = weft(args);
  EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.output;
  for (const std::string& part : parts) {
    EXPECT_NE(r.output.find(part), std::string::npos) << "'" << part << "' not in: " << r.output;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "runs")) << args << " wrote a run directory";
}

}  // namespace weft::testing
