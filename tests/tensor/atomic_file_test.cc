// AtomicFile: the new content arrives whole, a failure at any step leaves the
// previous file byte for byte and no temp file, and every refusal names the
// file and the system's reason.

#include "weft/tensor/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/error_testing.h"
#include "support/temp_dir.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

using testing::error_of;
using testing::read_text;
using testing::TempDir;
using testing::write_text;

// Every name in `dir`, sorted.
std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

using Names = std::vector<std::string>;

TEST(AtomicFile, WritesContentThatReadsBackAndLeavesNoTempFile) {
  TempDir dir;
  write_file_atomically(dir / "config.json", "{\"n_layer\": 2}\n");
  EXPECT_EQ(read_text(dir / "config.json"), "{\"n_layer\": 2}\n");
  EXPECT_EQ(listing(dir.path()), Names{"config.json"});

  // An ordinary file, not mkstemp's 0600.
  struct stat st {};
  ASSERT_EQ(::stat((dir / "config.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(AtomicFile, WritesPieceByPieceInOrder) {
  TempDir dir;
  const std::string big(3 << 20, 'x');  // larger than one write(2) may take
  write_file_atomically(dir / "shard.bin", [&](AtomicFile& file) {
    file.write("head", 4);
    file.write(big);
    file.write(std::string_view("tail"));
  });
  EXPECT_EQ(read_text(dir / "shard.bin"), "head" + big + "tail");
  EXPECT_EQ(listing(dir.path()), Names{"shard.bin"});
}

TEST(AtomicFile, ReplacesAnExistingTargetWhole) {
  TempDir dir;
  write_text(dir / "meta.json", std::string(1000, 'o'));
  write_file_atomically(dir / "meta.json", "short");
  EXPECT_EQ(read_text(dir / "meta.json"), "short");  // nothing of the longer file remains
  EXPECT_EQ(listing(dir.path()), Names{"meta.json"});
}

TEST(AtomicFile, AWriterThatThrowsLeavesThePreviousFileAndNoTempFile) {
  TempDir dir;
  const std::string previous = std::string("old\0bytes", 9) + std::string(5000, 'p');
  write_text(dir / "model.safetensors", previous);
  EXPECT_THROW(write_file_atomically(dir / "model.safetensors",
                                     [](AtomicFile& file) {
                                       file.write(std::string(10000, 'n'));
                                       throw std::runtime_error("the writer stopped");
                                     }),
               std::runtime_error);
  EXPECT_EQ(read_text(dir / "model.safetensors"), previous);
  EXPECT_EQ(listing(dir.path()), Names{"model.safetensors"});
}

TEST(AtomicFile, AFileNeverCommittedIsRemoved) {
  TempDir dir;
  {
    AtomicFile file(dir / "x.bin");
    file.write("half");
  }
  EXPECT_TRUE(listing(dir.path()).empty());
}

TEST(AtomicFile, AMissingDirectoryIsRefusedByName) {
  TempDir dir;
  const std::string target = dir / "missing/config.json";
  const std::string message = error_of([&] { write_file_atomically(target, "{}"); });
  EXPECT_NE(message.find(target), std::string::npos) << message;
  EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
  EXPECT_TRUE(listing(dir.path()).empty());
}

TEST(AtomicFile, AFailedRenameLeavesTheTargetAndNoTempFile) {
  TempDir dir;
  // A non-empty directory at the target: rename(2) refuses to replace it.
  std::filesystem::create_directory(dir / "out");
  write_text(dir / "out/kept", "kept");
  const std::string message = error_of([&] { write_file_atomically(dir / "out", "new"); });
  EXPECT_NE(message.find(dir / "out"), std::string::npos) << message;
  EXPECT_NE(message.find("rename"), std::string::npos) << message;
  EXPECT_EQ(listing(dir.path()), Names{"out"});
  EXPECT_EQ(read_text(dir / "out/kept"), "kept");
}

TEST(AtomicFile, WritingAfterCommitIsRefused) {
  TempDir dir;
  AtomicFile file(dir / "x");
  file.write("x");
  file.commit();
  EXPECT_THROW(file.write("y"), Error);
  EXPECT_THROW(file.commit(), Error);
  EXPECT_EQ(read_text(dir / "x"), "x");
}

TEST(DirectoryHelpers, RefuseByName) {
  TempDir dir;
  fsync_directory(dir.path());
  const std::string missing = dir / "gone";
  EXPECT_NE(error_of([&] { fsync_directory(missing); }).find(missing), std::string::npos);

  write_text(dir / "a", "a");
  rename_path(dir / "a", dir / "b");
  EXPECT_EQ(listing(dir.path()), Names{"b"});
  const std::string message = error_of([&] { rename_path(dir / "a", dir / "c"); });
  EXPECT_NE(message.find(dir / "a"), std::string::npos) << message;
  EXPECT_NE(message.find(dir / "c"), std::string::npos) << message;
}

TEST(DirectoryHelpers, ParentDirectory) {
  EXPECT_EQ(parent_directory("config.json"), ".");
  EXPECT_EQ(parent_directory("/config.json"), "/");
  EXPECT_EQ(parent_directory("run/out/config.json"), "run/out");
}

}  // namespace
}  // namespace weft
