// weft bench: training steps of a model on synthetic tokens, reporting
// tokens/s, achieved GFLOP/s and MFU against the peak of a large GEMM
// measured in the same run, and where the step's time goes by kernel.

#include <omp.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/peak.h"
#include "weft/backend/profiler.h"
#include "weft/model/model.h"
#include "weft/tensor/error.h"
#include "weft/train/adamw.h"
#include "weft/train/comm_volume.h"
#include "weft/train/schedule.h"
#include "weft/train/trainer.h"

namespace po = boost::program_options;

namespace weft::cli {
namespace {

// Uniformly random token ids: the speed of a step does not depend on them.
class SyntheticTokens final : public BatchSource {
 public:
  SyntheticTokens(const ModelConfig& c, int64_t batch, int64_t seq)
      : config_(c), batch_(batch), seq_(seq) {}
  Batch next() override {
    Batch b;
    b.input = random_ids(config_.vocab_size, seq_);
    b.target = random_ids(config_.vocab_size, seq_);
    if (config_.architecture == Architecture::EncoderDecoder) {
      b.source = random_ids(config_.encoder_vocab_size(), seq_);
    }
    return b;
  }

 private:
  Tensor random_ids(int64_t vocab, int64_t seq) {
    Tensor t = Tensor::empty({batch_, seq}, DType::I32);
    int32_t* p = t.data<int32_t>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
      p[i] = static_cast<int32_t>((state_ >> 33) % static_cast<uint64_t>(vocab));
    }
    return t;
  }
  ModelConfig config_;
  int64_t batch_, seq_;
  uint64_t state_ = 42;
};

}  // namespace

int run_bench(int argc, char** argv) {
  std::string preset;
  int64_t batch, seq, steps, warmup, vocab, layers, d_model, heads, d_ff, peak_n;
  int64_t tp, dp, grad_accum;
  bool profile, comm_volume;
  po::options_description opts("weft bench options");
  opts.add_options()
      ("help,h", "show this help")
      ("model", po::value(&preset)->default_value("gpt-shakespeare-char"),
       "model preset: gpt-shakespeare-char, gpt2-124m, transformer-base, tiny-gpt, "
       "tiny-encoder-decoder")
      ("batch", po::value(&batch)->default_value(8), "sequences per step")
      ("seq", po::value(&seq)->default_value(0), "tokens per sequence (0: the model's context)")
      ("steps", po::value(&steps)->default_value(5), "timed training steps")
      ("warmup", po::value(&warmup)->default_value(1), "untimed steps first")
      ("vocab", po::value(&vocab)->default_value(0), "vocabulary size (0: the preset's)")
      ("layers", po::value(&layers)->default_value(0), "override model.n_layers")
      ("d-model", po::value(&d_model)->default_value(0), "override model.d_model")
      ("heads", po::value(&heads)->default_value(0), "override model.n_heads")
      ("d-ff", po::value(&d_ff)->default_value(0), "override model.d_ff (default 4·d_model when d-model is set)")
      ("peak-n", po::value(&peak_n)->default_value(2048), "size of the sgemm that measures peak")
      ("profile", po::bool_switch(&profile), "print time per kernel")
      ("comm-volume", po::bool_switch(&comm_volume),
       "print the collectives and bytes one rank hands its groups per step under --dp x --tp "
       "(--batch sequences a step), computed, not run; then exit")
      ("tp", po::value(&tp)->default_value(1), "tensor-parallel ranks (--comm-volume)")
      ("dp", po::value(&dp)->default_value(1), "data-parallel replicas (--comm-volume)")
      ("grad-accum", po::value(&grad_accum)->default_value(1),
       "micro-batches a step (--comm-volume)");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, opts), vm);
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return 0;
  }
  po::notify(vm);

  ModelConfig c = model_preset(preset);
  if (vocab > 0) c.vocab_size = vocab;
  if (layers > 0) c.n_layers = layers;
  if (d_model > 0) c.d_model = d_model, c.d_ff = 4 * d_model;
  if (heads > 0) c.n_heads = heads;
  if (d_ff > 0) c.d_ff = d_ff;
  if (seq == 0) seq = c.max_seq_len;
  c.max_seq_len = std::max(c.max_seq_len, seq);
  c.validate();
  if (comm_volume) {
    WEFT_CHECK(grad_accum >= 1 && batch % grad_accum == 0, "--batch (", batch,
               ") must be divisible by --grad-accum (", grad_accum, ")");
    StepShape shape;
    shape.dp = dp, shape.tp = tp, shape.grad_accum = grad_accum;
    shape.micro_batch_rows = batch / grad_accum;
    shape.target_len = seq;
    shape.source_len = c.architecture == Architecture::EncoderDecoder ? seq : 0;
    std::printf("weft bench: %s, %.2fM parameters\n%s", preset.c_str(), c.parameter_count() / 1e6,
                format_comm_volume(c, shape, step_comm_volume(c, shape)).c_str());
    return 0;
  }

  std::printf("weft bench: %s, %s, %.2fM parameters, batch %ld x %ld tokens, f32 on cpu, %d threads\n",
              preset.c_str(), architecture_name(c.architecture), c.parameter_count() / 1e6,
              static_cast<long>(batch), static_cast<long>(seq), omp_get_max_threads());
  const double peak = measure_peak_flops(peak_n);
  std::printf("peak: %.1f GFLOP/s (sgemm %ld^3, best of 3)\n", peak / 1e9, static_cast<long>(peak_n));

  auto model = make_model(c);
  initialize_parameters(model->parameters(), 1);
  AdamW optimizer(model->parameters(), AdamWOptions{0.9, 0.95, 1e-8, 0.1});
  ConstantSchedule schedule(1e-4);
  Trainer trainer(*model, optimizer, schedule, TrainerOptions{});
  SyntheticTokens data(c, batch, seq);

  for (int64_t i = 0; i < warmup; ++i) trainer.train_step(data);
  profiler::reset();
  profiler::enable(profile);
  double seconds = 0.0, flops = 0.0;
  int64_t tokens = 0;
  for (int64_t i = 0; i < steps; ++i) {
    const StepStats s = trainer.train_step(data);
    std::printf("step %ld: loss %.4f, %.3f s, %.0f tokens/s\n", static_cast<long>(i + 1), s.loss,
                s.seconds, s.tokens_per_second);
    seconds += s.seconds;
    tokens += s.tokens;
    flops += s.model_flops;
  }
  profiler::enable(false);

  const double tokens_per_s = static_cast<double>(tokens) / seconds;
  const double flops_per_token = flops / static_cast<double>(tokens);
  const double achieved = flops / seconds;
  std::printf("training: %.0f tokens/s, %.1f GFLOP/s achieved (%.1f MFLOP/token), MFU %.1f%%\n",
              tokens_per_s, achieved / 1e9, flops_per_token / 1e6, 100.0 * achieved / peak);
  if (profile) {
    std::printf("time by kernel over %ld steps (%.3f s):\n", static_cast<long>(steps), seconds);
    for (const auto& k : profiler::snapshot()) {
      std::printf("  %-22s %6.1f%%  %8.3f s  %6ld calls\n", k.kernel.c_str(),
                  100.0 * k.seconds / seconds, k.seconds, static_cast<long>(k.calls));
    }
  }
  return 0;
}

}  // namespace weft::cli
