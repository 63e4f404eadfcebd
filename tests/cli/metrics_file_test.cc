// metrics.jsonl survives a full disk and a torn write: a failed write stops
// the run naming the file, and a resumed run drops a torn last line before
// appending, so every line stays one JSON record.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "cli/progress.h"
#include "support/error_testing.h"
#include "support/temp_dir.h"

namespace weft::cli {
namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The file's text after a run that found `existing` there recorded step 3.
std::string after_resume(const std::string& existing) {
  testing::TempDir dir;
  const fs::path path = fs::path(dir.path()) / "metrics.jsonl";
  std::ofstream(path) << existing;
  {
    Progress progress("none", path.string());
    progress.record({{"step", 3}});
  }
  return read_all(path);
}

TEST(MetricsFile, AResumedRunDropsATornLastLineBeforeAppending) {
  EXPECT_EQ(after_resume("{\"step\":1}\n{\"step\":2,\"lo"), "{\"step\":1}\n{\"step\":3}\n");
  EXPECT_EQ(after_resume("{\"step\":1,\"lo"), "{\"step\":3}\n");
  // A torn line longer than the block the tail is read in.
  const std::string records = "{\"step\":1}\n{\"step\":2}\n";
  EXPECT_EQ(after_resume(records + "{\"sample\":\"" + std::string(10000, 'x')),
            records + "{\"step\":3}\n");
}

TEST(MetricsFile, WholeRecordsAreKept) {
  EXPECT_EQ(after_resume("{\"step\":1}\n{\"step\":2}\n"),
            "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n");
  EXPECT_EQ(after_resume(""), "{\"step\":3}\n");
}

TEST(MetricsFile, AFailedWriteStopsNamingTheFile) {
  testing::TempDir dir;
  const fs::path path = fs::path(dir.path()) / "metrics.jsonl";
  fs::create_symlink("/dev/full", path);  // every write: ENOSPC
  Progress progress("none", path.string());
  const std::string message = testing::error_of([&] { progress.record({{"step", 1}}); });
  EXPECT_NE(message.find("cannot write metrics file '" + path.string() + "'"), std::string::npos)
      << message;
  EXPECT_NE(message.find("No space left on device"), std::string::npos) << message;
}

}  // namespace
}  // namespace weft::cli
