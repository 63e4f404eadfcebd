#include "weft/data/shard.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "weft/data/tokenizer.h"
#include "weft/tensor/atomic_file.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

static_assert(std::endian::native == std::endian::little,
              "token shards are little-endian and read in place");

constexpr char kMagic[8] = {'W', 'E', 'F', 'T', 'T', 'O', 'K', 'S'};
constexpr uint32_t kVersion = 1;

[[noreturn]] void refuse(const std::string& path, const std::string& problem) {
  throw Error(path + ": " + problem);
}

int token_bytes_for(int64_t vocab_size) {
  return vocab_size <= 65536 ? 2 : 4;
}

template <typename T>
T load(const unsigned char* p) {
  T value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

}  // namespace

void write_shard(const std::string& path, std::span<const int32_t> tokens, int64_t vocab_size,
                 uint64_t vocabulary_hash) {
  if (vocab_size <= 0 || vocab_size > (int64_t{1} << 31)) {
    refuse(path, "vocabulary size " + std::to_string(vocab_size) + " is out of range");
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocab_size) {
      refuse(path, "token " + std::to_string(i) + " is " + std::to_string(tokens[i]) +
                       ", outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
    }
  }
  const uint32_t token_bytes = token_bytes_for(vocab_size);
  unsigned char header[kShardHeaderBytes];
  const uint64_t count = tokens.size(), vocab = vocab_size;
  std::memcpy(header, kMagic, 8);
  std::memcpy(header + 8, &kVersion, 4);
  std::memcpy(header + 12, &token_bytes, 4);
  std::memcpy(header + 16, &count, 8);
  std::memcpy(header + 24, &vocab, 8);
  std::memcpy(header + 32, &vocabulary_hash, 8);

  AtomicFile file(path);
  file.write(header, sizeof header);
  if (token_bytes == 4) {
    file.write(tokens.data(), tokens.size_bytes());
  } else {
    // Narrowed in chunks, so writing costs no second copy of the shard.
    std::vector<uint16_t> chunk;
    for (size_t begin = 0; begin < tokens.size(); begin += 1 << 20) {
      const size_t end = std::min(tokens.size(), begin + (size_t{1} << 20));
      chunk.assign(tokens.begin() + begin, tokens.begin() + end);
      file.write(chunk.data(), chunk.size() * sizeof(uint16_t));
    }
  }
  file.commit();
}

TokenShard::TokenShard(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) refuse(path, std::string("cannot open the token shard: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    refuse(path, std::string("cannot stat the token shard: ") + std::strerror(errno));
  }
  map_bytes_ = st.st_size;
  if (map_bytes_ < kShardHeaderBytes) {
    ::close(fd);
    refuse(path, "not a token shard: " + std::to_string(map_bytes_) + " bytes, shorter than the " +
                     std::to_string(kShardHeaderBytes) + "-byte header");
  }
  void* map = ::mmap(nullptr, map_bytes_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);  // the mapping keeps the file open
  if (map == MAP_FAILED) refuse(path, std::string("mmap failed: ") + std::strerror(errno));
  map_ = static_cast<const unsigned char*>(map);
  try {
    if (std::memcmp(map_, kMagic, 8) != 0) {
      refuse(path, "not a token shard (its first 8 bytes are not \"WEFTTOKS\")");
    }
    const auto version = load<uint32_t>(map_ + 8);
    if (version != kVersion) {
      refuse(path, "token shard version " + std::to_string(version) +
                       " is not supported (this build reads version 1)");
    }
    token_bytes_ = static_cast<int>(load<uint32_t>(map_ + 12));
    const auto count = load<uint64_t>(map_ + 16);
    const auto vocab = load<uint64_t>(map_ + 24);
    hash_ = load<uint64_t>(map_ + 32);
    if (vocab == 0 || vocab > (uint64_t{1} << 31)) {
      refuse(path, "vocabulary size " + std::to_string(vocab) + " in the header is out of range");
    }
    vocab_size_ = static_cast<int64_t>(vocab);
    if (token_bytes_ != token_bytes_for(vocab_size_)) {
      refuse(path, std::to_string(token_bytes_) + " bytes per token in the header, but a " +
                       "vocabulary of " + std::to_string(vocab) + " takes " +
                       std::to_string(token_bytes_for(vocab_size_)));
    }
    const uint64_t data_bytes = map_bytes_ - kShardHeaderBytes;
    if (count > data_bytes / token_bytes_ || count * token_bytes_ != data_bytes) {
      const std::string bytes = count > UINT64_MAX / token_bytes_
                                    ? std::string("more than 2^64")
                                    : std::to_string(count * token_bytes_);
      refuse(path, "the header says " + std::to_string(count) + " tokens (" + bytes +
                       " bytes) but the file holds " +
                       std::to_string(data_bytes) + " bytes after the header; it is torn");
    }
    count_ = static_cast<int64_t>(count);
    tokens_ = map_ + kShardHeaderBytes;
    for (int64_t i = 0; i < count_; ++i) {
      const int32_t token = (*this)[i];
      if (token < 0 || token >= vocab_size_) {
        refuse(path, "token " + std::to_string(i) + " is " + std::to_string(token) +
                         ", outside the vocabulary [0, " + std::to_string(vocab_size_) + ")");
      }
    }
  } catch (...) {
    release();
    throw;
  }
}

TokenShard::TokenShard(const std::string& path, const Tokenizer& tokenizer) : TokenShard(path) {
  if (vocab_size_ != tokenizer.vocab_size() || hash_ != tokenizer.vocabulary_hash()) {
    const std::string problem =
        "written with another vocabulary (size " + std::to_string(vocab_size_) + ", hash " +
        hash_hex(hash_) + ") than the " + tokenizer.kind() + " tokenizer's (size " +
        std::to_string(tokenizer.vocab_size()) + ", hash " + hash_hex(tokenizer.vocabulary_hash()) +
        "); prepare the dataset again";
    release();
    refuse(path, problem);
  }
}

TokenShard::~TokenShard() {
  release();
}

TokenShard::TokenShard(TokenShard&& other) noexcept {
  *this = std::move(other);
}

TokenShard& TokenShard::operator=(TokenShard&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    map_ = std::exchange(other.map_, nullptr);
    map_bytes_ = std::exchange(other.map_bytes_, 0);
    tokens_ = std::exchange(other.tokens_, nullptr);
    count_ = std::exchange(other.count_, 0);
    vocab_size_ = other.vocab_size_;
    hash_ = other.hash_;
    token_bytes_ = other.token_bytes_;
  }
  return *this;
}

void TokenShard::release() {
  if (map_ != nullptr) ::munmap(const_cast<unsigned char*>(map_), map_bytes_);
  map_ = nullptr;
  tokens_ = nullptr;
}

int32_t TokenShard::operator[](int64_t i) const {
  if (token_bytes_ == 2) return load<uint16_t>(tokens_ + 2 * i);
  return load<int32_t>(tokens_ + 4 * i);
}

void TokenShard::read(int64_t begin, int64_t n, int32_t* out) const {
  // Compared without forming begin + n, which could overflow.
  if (begin < 0 || n < 0 || begin > count_ || n > count_ - begin) {
    refuse(path_, "tokens [" + std::to_string(begin) + ", " + std::to_string(begin) + " + " +
                      std::to_string(n) + ") are outside the shard's " + std::to_string(count_));
  }
  if (n == 0) return;  // `out` may be null (an empty vector's data())
  if (token_bytes_ == 4) {
    std::memcpy(out, tokens_ + 4 * begin, 4 * n);
    return;
  }
  for (int64_t i = 0; i < n; ++i) out[i] = load<uint16_t>(tokens_ + 2 * (begin + i));
}

}  // namespace weft
