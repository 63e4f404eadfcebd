// weft bench: training steps of a model on synthetic tokens, reporting
// tokens/s, achieved FLOP/s and MFU against the peak of a large GEMM
// measured in the same run, where the step's time goes by kernel, and on a
// GPU the peak device memory and, on request, the largest batch that fits.

#include <omp.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

#include "cli/bench_batch.h"
#include "cli/bench_run.h"
#include "cli/command_options.h"
#include "cli/commands.h"
#include "cli/device_setup.h"
#include "cli/peak.h"
#include "weft/backend/gpu.h"
#include "weft/backend/profiler.h"
#include "weft/tensor/error.h"
#include "weft/tensor/allocator.h"
#include "weft/train/comm_volume.h"
#include "weft/train/model_state_memory.h"

namespace po = boost::program_options;

namespace weft::cli {
namespace {

double gib(size_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0);
}

// choose_target's messages name weft train's keys; bench says it with its own.
void check_device_options(const DeviceSettings& s) {
  WEFT_CHECK(s.device == "auto" || s.device == "cpu" || s.device == "cuda",
             "--device must be auto, cpu or cuda, got '", s.device, "'");
  WEFT_CHECK(s.precision == "fp32" || s.precision == "bf16",
             "--precision must be fp32 or bf16, got '", s.precision, "'");
  WEFT_CHECK(s.device != "cuda" || gpu::available(), "--device cuda: no GPU to run on (",
             gpu::describe(), "); use --device cpu");
}

// "12.3 GFLOP/s" on a CPU, "312.4 TFLOP/s" on a GPU.
std::string flops_rate(double flops_per_s, Device device) {
  char text[64];
  if (device == Device::CUDA) {
    std::snprintf(text, sizeof text, "%.1f TFLOP/s", flops_per_s / 1e12);
  } else {
    std::snprintf(text, sizeof text, "%.1f GFLOP/s", flops_per_s / 1e9);
  }
  return text;
}

}  // namespace

int run_bench(int argc, char** argv) {
  std::string preset, recompute_name_;
  int64_t batch, seq, steps, warmup, vocab, layers, d_model, heads, d_ff, peak_n;
  int64_t tp, dp, grad_accum;
  bool profile, comm_volume, max_batch, zero, sequence_parallel;
  DeviceSettings device;
  po::options_description opts("weft bench options");
  opts.add_options()
      ("help,h", "show this help")
      ("model", po::value(&preset)->default_value("gpt-shakespeare-char"),
       "model preset: gpt-shakespeare-char, gpt2-124m, transformer-base, tiny-gpt, "
       "tiny-encoder-decoder, tiny-llama, llama-124m, llama-shakespeare-char")
      ("batch", po::value(&batch)->default_value(8), "sequences per step")
      ("seq", po::value(&seq)->default_value(0), "tokens per sequence (0: the model's context)")
      ("steps", po::value(&steps)->default_value(5), "timed training steps")
      ("warmup", po::value(&warmup)->default_value(1), "untimed steps first")
      ("device", po::value(&device.device)->default_value("auto"),
       "auto | cpu | cuda (auto: cuda when a GPU is present)")
      ("precision", po::value(&device.precision)->default_value("fp32"),
       "fp32 | bf16 (bf16 weights and activations, f32 master weights and gradients)")
      ("gpu-memory-fraction", po::value(&device.gpu_memory_fraction)->default_value(0.9, "0.9"),
       "share of the free GPU memory the arena takes")
      ("max-batch", po::bool_switch(&max_batch),
       "cuda: find the largest batch whose training step fits in the arena (doubling, then "
       "bisecting), then benchmark with it instead of --batch")
      ("vocab", po::value(&vocab)->default_value(0), "vocabulary size (0: the preset's)")
      ("layers", po::value(&layers)->default_value(0), "override model.n_layers")
      ("d-model", po::value(&d_model)->default_value(0), "override model.d_model")
      ("heads", po::value(&heads)->default_value(0), "override model.n_heads")
      ("d-ff", po::value(&d_ff)->default_value(0),
       "override model.d_ff (default 4·d_model when d-model is set)")
      ("peak-n", po::value(&peak_n)->default_value(0),
       "size of the GEMM that measures peak (0: 2048 on cpu, in the run's precision; 8192 bf16 "
       "on cuda)")
      ("profile", po::bool_switch(&profile), "print time per kernel")
      ("recompute", po::value(&recompute_name_)->default_value("none"),
       "activation recompute: none | selective | full (train.recompute; --comm-volume counts "
       "full's repeated forward collectives)")
      ("comm-volume", po::bool_switch(&comm_volume),
       "print the collectives and bytes one rank hands its groups per step under --dp x --tp "
       "(--batch sequences a step), computed, not run; then exit")
      ("tp", po::value(&tp)->default_value(1), "tensor-parallel ranks (--comm-volume)")
      ("dp", po::value(&dp)->default_value(1), "data-parallel replicas (--comm-volume)")
      ("zero", po::bool_switch(&zero), "ZeRO-1, the distributed optimizer (--comm-volume)")
      ("sequence-parallel", po::bool_switch(&sequence_parallel),
       "sequence parallelism under --tp > 1 (--comm-volume)")
      ("grad-accum", po::value(&grad_accum)->default_value(1),
       "micro-batches a step (--comm-volume)");
  po::variables_map vm;
  if (!parse_command_options(argc, argv, opts, vm)) return 0;

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
    shape.zero = zero;
    shape.sequence_parallel = sequence_parallel;
    shape.recompute_full = parse_recompute(recompute_name_) == Recompute::Full;
    std::printf("weft bench: %s, %.2fM parameters\n%s", preset.c_str(), c.parameter_count() / 1e6,
                format_comm_volume(c, shape, step_comm_volume(c, shape)).c_str());
    WEFT_CHECK(device.precision == "fp32" || device.precision == "bf16",
               "--precision must be fp32 or bf16, got '", device.precision, "'");
    const DType dtype = device.precision == "bf16" ? DType::BF16 : DType::F32;
    std::printf("model state per rank (%s%s): %s\n", device.precision.c_str(),
                zero ? ", ZeRO-1" : "",
                model_state_bytes(c, tp, dp, zero, dtype, shape.bucket_bytes).describe().c_str());
    // Activations of one micro-batch per rank, f32, an estimate from above
    // (ModelConfig::activation_bytes).
    const int64_t rows = shape.micro_batch_rows / dp;
    std::printf("activations per rank (estimate, f32, %ld sequences%s):", static_cast<long>(rows),
                sequence_parallel && tp > 1 ? ", sequence parallel" : "");
    for (const char* mode : {"none", "selective", "full"}) {
      ActivationLayout layout;
      layout.tp = tp;
      layout.sequence_parallel = sequence_parallel;
      layout.drop_probabilities = std::string(mode) != "none";
      layout.keep_block_inputs = std::string(mode) == "full";
      std::printf(" recompute %s %.1f MiB%s", mode,
                  static_cast<double>(c.activation_bytes(rows, shape.source_len, seq, layout)) /
                      (1 << 20),
                  std::string(mode) == "full" ? "\n" : ",");
    }
    return 0;
  }

  check_device_options(device);
  const ComputeTarget target = choose_target(device);
  const bool on_gpu = target.device == Device::CUDA;
  WEFT_CHECK(!max_batch || on_gpu, "--max-batch searches the GPU's memory; use it with --device ",
             "cuda (on the CPU, give --batch)");
  const std::string where =
      on_gpu ? target.describe()
             : target.describe() + ", " + std::to_string(omp_get_max_threads()) + " threads";
  const std::string rows =
      max_batch ? std::string("largest batch that fits") : std::to_string(batch);
  std::printf("weft bench: %s, %s, %.2fM parameters, batch %s x %ld tokens, %s\n", preset.c_str(),
              architecture_name(c.architecture), c.parameter_count() / 1e6, rows.c_str(),
              static_cast<long>(seq), where.c_str());
  if (peak_n == 0) peak_n = on_gpu ? 8192 : 2048;
  const PeakFlops peak = measure_peak(target.device, peak_n, target.dtype);
  std::printf("peak: %s (%s)\n", flops_rate(peak.flops_per_s, target.device).c_str(),
              peak.method.c_str());
  std::fflush(stdout);

  LayerContext ctx;
  ctx.dtype = target.dtype, ctx.device = target.device;
  if (max_batch) {
    batch = find_max_batch(c, ctx, seq);
    std::printf("max-batch: %ld sequences of %ld tokens is the largest batch that fits\n",
                static_cast<long>(batch), static_cast<long>(seq));
  }

  // On a GPU the peak counts everything in use during the benchmark,
  // including scratch that ops kept from the batch search.
  const Recompute recompute = parse_recompute(recompute_name_);
  const size_t in_use_before = on_gpu ? gpu::memory_stats().in_use : 0;
  if (on_gpu) gpu::reset_peak();
  const int64_t host_before = host_tensor_memory().in_use;
  BenchRun run(c, ctx, batch, seq, recompute);
  const int64_t model_state = host_tensor_memory().in_use - host_before;
  reset_host_tensor_peak();
  for (int64_t i = 0; i < warmup; ++i) run.step();
  profiler::reset();
  profiler::enable(profile);
  double seconds = 0.0, flops = 0.0;
  int64_t tokens = 0;
  for (int64_t i = 0; i < steps; ++i) {
    const StepStats s = run.step();
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
  std::printf(
      "training: %s, %s, batch %ld: %.0f tokens/s, %s achieved (%.1f MFLOP/token), MFU %.1f%%",
      device_name(target.device), device.precision.c_str(), static_cast<long>(batch), tokens_per_s,
      flops_rate(achieved, target.device).c_str(), flops_per_token / 1e6,
      100.0 * achieved / peak.flops_per_s);
  if (on_gpu) {
    std::printf(", peak device memory %.2f GiB (%.2f GiB in use before the model was built)",
                gib(gpu::memory_stats().peak), gib(in_use_before));
  }
  std::printf("\n");
  if (!on_gpu) {
    // Host tensors at their peak in the steps, above the model state (weights,
    // gradients, AdamW) that the model and optimizer held once built.
    const int64_t peak = host_tensor_memory().peak - host_before;
    std::printf("memory: recompute %s, peak %.1f MiB of CPU tensors: model state %.1f MiB, "
                "activations and scratch %.1f MiB\n",
                recompute_name(recompute), static_cast<double>(peak) / (1 << 20),
                static_cast<double>(model_state) / (1 << 20),
                static_cast<double>(peak - model_state) / (1 << 20));
  }
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
