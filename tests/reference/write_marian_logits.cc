// Writes weft's logits for a teacher-forced batch, for
// tests/reference/check_hf_marian.py to compare with transformers' on the
// same ids. Not run by CI (transformers is not installed there).
//   write_marian_logits RUN IDS OUT
// RUN: a run directory or checkpoint; IDS: a safetensors file with `source`
// (B,S) and `input` (B,T), i32, padded with the model's pad id; OUT gets
// `logits` (B,T,V) f32 (rows at padded inputs included).

#include <cstdio>
#include <vector>

#include "cli/load_run.h"
#include "weft/tensor/error.h"
#include "weft/tensor/safetensors.h"

using namespace weft;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: write_marian_logits RUN IDS OUT\n");
    return 2;
  }
  try {
    cli::LoadedRun run = cli::load_run(argv[1]);
    const SafetensorsFile ids = load_safetensors(argv[2]);
    Batch batch;
    batch.source = ids.at("source").clone();
    batch.input = ids.at("input").clone();
    // No loss is wanted: every target ignored.
    batch.target = Tensor::from_vector(
        std::vector<int32_t>(static_cast<size_t>(batch.input.numel()), kIgnoreIndex),
        batch.input.shape());
    run.model->forward(batch, StepContext{});
    save_safetensors(argv[3], {{"logits", run.model->logits()}});
    std::printf("weft logits %s from %s\n", shape_str(run.model->logits().shape()).c_str(),
                run.checkpoint.dir.c_str());
  } catch (const Error& e) {
    std::fprintf(stderr, "write_marian_logits: %s\n", e.what());
    return 2;
  }
  return 0;
}
