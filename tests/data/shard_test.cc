// Token shards: both token widths, and every kind of bad file refused by name.

#include "weft/data/shard.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "support/temp_dir.h"
#include "weft/data/tokenizer.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

using testing::TempDir;

// Expects opening `path` to throw a weft::Error whose message holds `path`
// and `problem`.
void expect_refused(const std::string& path, const std::string& problem,
                    const Tokenizer* tokenizer = nullptr) {
  try {
    if (tokenizer != nullptr) {
      TokenShard shard(path, *tokenizer);
    } else {
      TokenShard shard(path);
    }
    ADD_FAILURE() << path << " was accepted; expected: " << problem;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(problem), std::string::npos) << message;
  }
}

void patch(const std::string& path, int64_t offset, const void* bytes, size_t n) {
  std::string data = testing::read_text(path);
  std::memcpy(data.data() + offset, bytes, n);
  testing::write_text(path, data);
}

TEST(TokenShard, WritesAndReadsBothTokenWidths) {
  TempDir dir;
  const std::vector<int32_t> tokens = {0, 5, 65535, 7, 1, 2};
  write_shard(dir / "small.bin", tokens, 65536, 0xabcdef);
  const TokenShard small(dir / "small.bin");
  EXPECT_EQ(small.bytes_per_token(), 2);
  EXPECT_EQ(small.size(), 6);
  EXPECT_EQ(small.vocab_size(), 65536);
  EXPECT_EQ(small.vocabulary_hash(), 0xabcdefu);
  EXPECT_EQ(std::filesystem::file_size(dir / "small.bin"), 40u + 12u);
  std::vector<int32_t> back(6);
  small.read(0, 6, back.data());
  EXPECT_EQ(back, tokens);
  EXPECT_EQ(small[2], 65535);

  const std::vector<int32_t> wide = {70000, 0, 65536};
  write_shard(dir / "wide.bin", wide, 70001, 1);
  TokenShard moved = TokenShard(dir / "wide.bin");
  EXPECT_EQ(moved.bytes_per_token(), 4);
  back.resize(2);
  moved.read(1, 2, back.data());
  EXPECT_EQ(back, (std::vector<int32_t>{0, 65536}));
  EXPECT_THROW(moved.read(2, 2, back.data()), Error);
  // A range whose end overflows is refused; an empty one reads nothing, even
  // into no buffer at all (an empty vector's data()).
  EXPECT_THROW(moved.read(1, INT64_MAX, back.data()), Error);
  moved.read(3, 0, nullptr);

  // The header is little-endian and starts with the magic.
  const std::string raw = testing::read_text(dir / "small.bin");
  EXPECT_EQ(raw.substr(0, 8), "WEFTTOKS");
  EXPECT_EQ(raw[8], 1);
  EXPECT_EQ(raw[12], 2);
  EXPECT_EQ(raw[16], 6);
  // No temp file is left behind.
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++files;
  }
  EXPECT_EQ(files, 2);
}

TEST(TokenShard, WriteRefusesATokenOutsideTheVocabulary) {
  TempDir dir;
  const std::vector<int32_t> tokens = {1, 2, 9};
  try {
    write_shard(dir / "x.bin", tokens, 9, 0);
    FAIL() << "an out-of-vocabulary token was written";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("token 2 is 9"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "x.bin"));
}

TEST(TokenShard, RefusesEveryBadFileByName) {
  TempDir dir;
  const auto tokenizer = make_char_tokenizer("abcdef");
  const std::vector<int32_t> tokens = {0, 1, 2, 3, 4, 5};
  const std::string good = dir / "good.bin";
  write_shard(good, tokens, tokenizer->vocab_size(), tokenizer->vocabulary_hash());
  EXPECT_EQ(TokenShard(good, *tokenizer).size(), 6);

  expect_refused(dir / "missing.bin", "cannot open the token shard");

  testing::write_text(dir / "short.bin", "WEFTTOKS\x01");
  expect_refused(dir / "short.bin", "shorter than the 40-byte header");

  std::filesystem::copy_file(good, dir / "magic.bin");
  patch(dir / "magic.bin", 0, "WEFTTOKZ", 8);
  expect_refused(dir / "magic.bin", "not a token shard");

  std::filesystem::copy_file(good, dir / "version.bin");
  const uint32_t version = 2;
  patch(dir / "version.bin", 8, &version, 4);
  expect_refused(dir / "version.bin", "token shard version 2 is not supported");

  std::string torn = testing::read_text(good);
  torn.resize(torn.size() - 2);
  testing::write_text(dir / "torn.bin", torn);
  expect_refused(dir / "torn.bin", "the header says 6 tokens (12 bytes) but the file holds 10");

  // A count of 2^63 tokens of 2 bytes: its byte count does not fit 64 bits.
  std::filesystem::copy_file(good, dir / "huge.bin");
  const uint64_t huge = uint64_t{1} << 63;
  patch(dir / "huge.bin", 16, &huge, 8);
  expect_refused(dir / "huge.bin",
                 "the header says 9223372036854775808 tokens (more than 2^64 bytes) but the file "
                 "holds 12");

  std::filesystem::copy_file(good, dir / "token.bin");
  const uint16_t big = 6;
  patch(dir / "token.bin", 40 + 2 * 3, &big, 2);
  expect_refused(dir / "token.bin", "token 3 is 6, outside the vocabulary [0, 6)");

  const auto other = make_char_tokenizer("abcdeg");
  expect_refused(good, "written with another vocabulary", other.get());
}

}  // namespace
}  // namespace weft
