#include "cli_testing.h"

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
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
  const std::string command = "cd '" + dir.string() + "' && " + WEFT_BINARY + " " + args + " " +
                              input_redirect + " 2>&1";
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

}  // namespace weft::testing
