// TokenShard: the header (magic, version, token width, count, vocabulary size
// and hash) of a prepared dataset's .bin file, and every token in it.

#include <vector>

#include "fuzz_input.h"
#include "weft/data/shard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft;
  const std::string path = fuzz::write_file("input.bin", fuzz::as_text(data, size));
  fuzz::accept_or_refuse([&] {
    const TokenShard shard(path);
    // An accepted shard's tokens all lie inside the file and the vocabulary.
    std::vector<int32_t> tokens(static_cast<size_t>(shard.size()));
    shard.read(0, shard.size(), tokens.data());
    for (const int32_t token : tokens) {
      if (token < 0 || token >= shard.vocab_size()) abort();
    }
    // A range past the end is refused, never read.
    shard.read(shard.size(), 1, tokens.data());
    abort();
  });
  return 0;
}
