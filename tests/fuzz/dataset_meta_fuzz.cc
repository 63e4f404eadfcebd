// read_dataset: a prepared dataset's meta.json (kind, the tokenizers it names
// and their vocabulary hashes). The harness provides byte tokenizers where
// weft prepare puts them: without specials in the dataset folder, with
// specials in tokenizer_src/ and tokenizer_tgt/.

#include "fuzz_input.h"
#include "weft/data/dataset.h"
#include "weft/data/tokenizer.h"

// Once, before the first input (libFuzzer's initialisation hook).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string dir = weft::fuzz::scratch_dir() + "/dataset";
  weft::make_byte_tokenizer(false)->save(dir);
  weft::make_byte_tokenizer(true)->save(dir + "/tokenizer_src");
  weft::make_byte_tokenizer(true)->save(dir + "/tokenizer_tgt");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft;
  fuzz::write_file("dataset/meta.json", fuzz::as_text(data, size));
  fuzz::accept_or_refuse([&] { read_dataset(fuzz::scratch_dir() + "/dataset"); });
  return 0;
}
