#pragma once
// A token shard: one file of token ids, read through mmap. Layout, all
// little-endian:
//   offset  0  8 bytes  magic "WEFTTOKS"
//           8  u32      version (1)
//          12  u32      bytes per token: 2 when vocab_size <= 65536, else 4
//          16  u64      token count
//          24  u64      vocabulary size
//          32  u64      vocabulary hash (Tokenizer::vocabulary_hash)
//          40  tokens
// Writing is atomic (temp file in the same directory, fsync, rename). Opening
// refuses every bad file with a weft::Error naming it and the problem: missing,
// shorter than the header, wrong magic or version, a token count that does
// not match the file's size, a token >= the vocabulary size, and, when a
// tokenizer is given, a vocabulary other than the tokenizer's.

#include <cstdint>
#include <span>
#include <string>

namespace weft {

class Tokenizer;

inline constexpr int64_t kShardHeaderBytes = 40;

// Throws weft::Error naming `path` for a token outside [0, vocab_size) or an
// I/O failure; an existing file is replaced only by a complete one.
void write_shard(const std::string& path, std::span<const int32_t> tokens, int64_t vocab_size,
                 uint64_t vocabulary_hash);

class TokenShard {
 public:
  // Checks the header, the size, and every token (one pass over the file).
  explicit TokenShard(const std::string& path);
  // Also refuses a shard written with another vocabulary than `tokenizer`'s.
  TokenShard(const std::string& path, const Tokenizer& tokenizer);
  ~TokenShard();
  TokenShard(TokenShard&& other) noexcept;
  TokenShard& operator=(TokenShard&& other) noexcept;
  TokenShard(const TokenShard&) = delete;
  TokenShard& operator=(const TokenShard&) = delete;

  const std::string& path() const { return path_; }
  int64_t size() const { return count_; }  // tokens
  int64_t vocab_size() const { return vocab_size_; }
  uint64_t vocabulary_hash() const { return hash_; }
  int bytes_per_token() const { return token_bytes_; }

  int32_t operator[](int64_t i) const;  // unchecked
  // Tokens [begin, begin + n) into out[0, n); throws weft::Error naming the
  // file when the range is outside it.
  void read(int64_t begin, int64_t n, int32_t* out) const;

 private:
  void release();

  std::string path_;
  const unsigned char* map_ = nullptr;  // the whole file
  int64_t map_bytes_ = 0;
  const unsigned char* tokens_ = nullptr;
  int64_t count_ = 0;
  int64_t vocab_size_ = 0;
  uint64_t hash_ = 0;
  int token_bytes_ = 0;
};

}  // namespace weft
