// load_safetensors: the header length, the JSON header, dtypes, shapes and
// data offsets of a checkpoint or fixture file.

#include "fuzz_input.h"
#include "weft/tensor/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft;
  const std::string path = fuzz::write_file("input.safetensors", fuzz::as_text(data, size));
  fuzz::accept_or_refuse([&] {
    const SafetensorsFile file = load_safetensors(path);
    // Read every byte an accepted file claims, so an offset that escapes
    // its buffer reaches AddressSanitizer.
    volatile unsigned char sink = 0;
    for (const auto& [name, tensor] : file.tensors) {
      const auto* bytes = static_cast<const unsigned char*>(tensor.raw());
      for (size_t i = 0; i < tensor.nbytes(); ++i) sink = sink ^ bytes[i];
    }
  });
  return 0;
}
