// load_tokenizer: tokenizer.json of every kind (char, byte, SentencePiece,
// whose model file the harness provides), then a round trip through an
// accepted tokenizer.

#include <memory>

#include "fuzz_input.h"
#include "weft/data/tokenizer.h"

// Once, before the first input (libFuzzer's initialisation hook): a
// SentencePiece model beside the fuzzed tokenizer.json, so a file naming
// "tokenizer.model" reaches the SentencePiece loader.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "the quick brown fox jumps over the lazy dog\n";
  weft::SentencePieceOptions options;
  options.vocab_size = 60;
  // Writes tokenizer.json, which every input then replaces, and tokenizer.model.
  weft::train_sentencepiece(text, options)->save(weft::fuzz::scratch_dir() + "/tokenizer");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft;
  fuzz::write_file("tokenizer/tokenizer.json", fuzz::as_text(data, size));
  fuzz::accept_or_refuse([&] {
    const std::unique_ptr<Tokenizer> tokenizer =
        load_tokenizer(fuzz::scratch_dir() + "/tokenizer");
    const std::string decoded = tokenizer->decode(tokenizer->encode("the fox"));
    (void)decoded;
  });
  return 0;
}
