// weft train: a training run as a user starts it. Checks everything it can
// before writing anything, builds the run (data, model, optimizer, resume,
// run directory) and hands the loop to TrainingRun (weft/train/training_run.h)
// with the CLI's pieces as its hooks: checkpoints, samples, the progress line
// and metrics.jsonl, and SIGINT/SIGTERM, which finish the step, checkpoint
// and exit 0. A NaN/Inf loss ends the run with exit 3, keeping the last good
// checkpoint.
//
// Every rank runs this on its groups (cli/run_on_ranks.h). World rank 0 alone
// prints, writes metrics and the run directory; evaluation and checkpoints
// are collective; samples and translations run on the tensor-parallel group
// of replica 0, whose ranks decode together.

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "cli/commands.h"
#include "cli/device_setup.h"
#include "cli/load_run.h"
#include "cli/peak.h"
#include "cli/progress.h"
#include "cli/quality_report.h"
#include "cli/report/run_report.h"
#include "cli/run_config.h"
#include "cli/run_data.h"
#include "cli/run_on_ranks.h"
#include "cli/signals.h"
#include "weft/backend/gpu.h"
#include "weft/checkpoint/checkpoint.h"
#include "weft/model/config_json.h"
#include "weft/model/factory.h"
#include "weft/tensor/allocator.h"
#include "weft/tensor/atomic_file.h"
#include "weft/tensor/error.h"
#include "weft/train/model_state_memory.h"
#include "weft/train/schedule.h"
#include "weft/train/trainer.h"
#include "weft/train/training_run.h"

namespace fs = std::filesystem;

namespace weft::cli {
namespace {

std::unique_ptr<Schedule> make_schedule(const RunConfig& c) {
  if (c.schedule == "noam") return std::make_unique<NoamSchedule>(c.model.d_model, c.warmup, c.noam_factor);
  if (c.schedule == "constant") return std::make_unique<ConstantSchedule>(c.lr);
  return std::make_unique<WarmupCosineSchedule>(c.lr, c.min_lr, c.warmup, c.steps);
}

// The checkpoint to resume from, or none. Without train.resume a run
// directory that already holds checkpoints is refused: nothing is overwritten.
std::optional<Checkpoint> checkpoint_to_resume(const RunConfig& c, uint64_t vocabulary_hash) {
  const bool has_checkpoints = !list_checkpoints(c.out).empty();
  if (!c.resume) {
    WEFT_CHECK(!has_checkpoints, "train.out '", c.out, "' already holds checkpoints: pass ",
               "--train.resume to continue that run, or choose another train.out");
    return std::nullopt;
  }
  if (!has_checkpoints) {
    std::fprintf(stderr, "train.resume: no checkpoint in '%s' yet, starting from step 0\n",
                 c.out.c_str());
    return std::nullopt;
  }
  std::vector<std::string> refused;
  Checkpoint ckpt = latest_checkpoint(c.out, &refused);
  for (const std::string& r : refused) std::fprintf(stderr, "warning: skipped %s\n", r.c_str());
  WEFT_CHECK(to_json(ckpt.model_config) == to_json(c.model), "checkpoint ", ckpt.dir,
             " holds a model of another shape than the config asks for: ",
             to_json(ckpt.model_config).dump(), " vs ", to_json(c.model).dump());
  WEFT_CHECK(!ckpt.tokenizer_dir.empty() &&
                 load_tokenizer(ckpt.tokenizer_dir)->vocabulary_hash() == vocabulary_hash,
             "the vocabulary of data.dataset does not match the one checkpoint ", ckpt.dir,
             " was trained with");
  return ckpt;
}

// Opened by world rank 0 first: a built-in corpus is generated on first use,
// and the other ranks must not generate it beside it.
DatasetInfo open_dataset_once(const std::string& dataset, const ProcessGroups& groups) {
  if (!groups.is_root()) groups.world->barrier();
  DatasetInfo data = open_dataset(dataset);
  if (groups.is_root()) groups.world->barrier();
  return data;
}

// The most device memory in use at once so far (0 on the CPU, which has no arena).
double device_peak_gib(const ComputeTarget& target) {
  if (target.device != Device::CUDA) return 0.0;
  return static_cast<double>(gpu::memory_stats().peak) / double(1 << 30);
}

// Refuses, before anything is allocated or written, a run whose weights,
// gradients, AdamW moments and one micro-batch's activations cannot fit where
// it runs: host memory on the CPU (simulated ranks share it), the arena on a GPU.
void check_training_fits(const RunConfig& c, const ComputeTarget& target,
                         const ProcessGroups& groups) {
  const bool translation = c.model.architecture == Architecture::EncoderDecoder;
  // A token budget holds max_tokens positions: as many pairs of the longest length.
  const int64_t global_micro =
      c.max_tokens > 0 ? (c.max_tokens + 2 * c.model.max_seq_len - 1) / (2 * c.model.max_seq_len)
                       : c.batch_size / c.grad_accum;
  const int64_t micro_batch = std::max<int64_t>(1, global_micro / groups.dp_size());
  const int64_t target_len =
      translation || c.seq_len == 0 ? c.model.max_seq_len : c.seq_len;
  const int64_t source_len = translation ? c.model.max_seq_len : 0;
  // Tensor parallelism splits both the weights and the activations' widest parts.
  const double per_rank = (4.0 * static_cast<double>(c.model.weight_bytes()) +
                           static_cast<double>(c.model.activation_bytes(micro_batch, source_len,
                                                                        target_len))) /
                          static_cast<double>(groups.tp_size());
  const bool on_gpu = target.device == Device::CUDA;
  const int ranks_here = on_gpu || c.simulate_ranks <= 1 ? 1 : groups.world->size();
  const double bytes = per_rank * ranks_here;
  const int64_t available = on_gpu ? static_cast<int64_t>(gpu::memory_stats().capacity)
                                   : host_memory_bytes();
  const std::string what = detail::concat(
      "training (weights, gradients, two AdamW moments and the activations of ", micro_batch,
      " sequences of ", target_len, " tokens", ranks_here > 1 ? ", for each of " : "",
      ranks_here > 1 ? std::to_string(ranks_here) + " simulated ranks" : std::string(), ")",
      on_gpu ? " in the GPU arena" : "");
  check_fits_in_memory(bytes >= 9.0e18 ? INT64_MAX : static_cast<int64_t>(bytes), available, what,
                       "data.batch_size (or a larger train.grad_accum), data.seq_len, or the "
                       "model's sizes");
}

int train(const RunConfig& config_in, const ProcessGroups& groups) {
  RunConfig c = config_in;
  const bool root = groups.is_root();
  // First: under NCCL even the host-side agreements below cross the GPU.
  const ComputeTarget target = choose_target(c.compute);
  const DatasetInfo data = open_dataset_once(c.dataset, groups);
  fit_model_to_data(c.model, data);
  c.model.validate();
  check_layout(c, groups.world->size());
  check_training_fits(c, target, groups);
  std::unique_ptr<BatchStream> train_data =
      make_stream(data, c, "train", true, groups.dp_rank(), groups.dp_size());
  if (c.epochs > 0) {
    const int64_t batches = train_data->batches_in_epochs(c.epochs);
    c.steps = batches / c.grad_accum;
    WEFT_CHECK(c.steps >= 1, "train.epochs = ", c.epochs, " gives ", batches, " batches, fewer ",
               "than one step of train.grad_accum = ", c.grad_accum, " micro-batches");
    check_warmup(c);
  }
  // Evaluations and the closing quality report read the held-out split: a torn
  // or foreign val shard is refused now, not after the run.
  make_stream(data, c, "val", false, groups.dp_rank(), groups.dp_size());
  std::optional<Checkpoint> resume_from =
      checkpoint_to_resume(c, data.tokenizer->vocabulary_hash());
  const auto schedule = make_schedule(c);

  // Everything is checked; from here on the run directory is written.
  if (root) {
    fs::create_directories(c.out);
    data.tokenizer->save(run_tokenizer_dir(c.out));
    if (!data.shared_vocabulary) data.source_tokenizer->save(run_source_tokenizer_dir(c.out));
    write_file_atomically(c.out + "/config.json", c.to_json().dump(2) + "\n");
    std::fprintf(stderr, "weft train: effective config\n");
    const nlohmann::json effective = c.to_json();
    for (const auto& [section, keys] : effective.items()) {
      std::fprintf(stderr, "  [%s] %s\n", section.c_str(), keys.dump().c_str());
    }
    std::fprintf(stderr, "compute: %s\n", target.describe().c_str());
    std::fprintf(stderr, "layout: %d ranks = dp %d x tp %d (%s)\n", groups.world->size(),
                 groups.dp_size(), groups.tp_size(), groups.world->describe().c_str());
  }
  groups.world->barrier();

  LayerContext layers;
  layers.tp = groups.tp;
  layers.device = target.device;
  layers.dtype = target.dtype;
  layers.sequence_parallel = c.sequence_parallel;
  auto model = make_model(c.model, layers);
  initialize_parameters(model->parameters(), c.seed);
  TrainerOptions options;
  options.grad_accum = c.grad_accum;
  options.grad_clip = c.grad_clip;
  options.seed = c.seed;
  options.buckets.bucket_bytes = static_cast<int64_t>(c.bucket_mb * (1 << 20));
  options.buckets.overlap = c.overlap;
  options.recompute = parse_recompute(c.recompute);
  // ZeRO-1 with one replica would shard over a group of one: plain AdamW.
  const bool zero = c.zero == 1 && groups.dp_size() > 1;
  AdamW optimizer(model->parameters(), AdamWOptions{c.beta1, c.beta2, c.eps, c.weight_decay},
                  zero ? zero_owned_ranges(model->parameters(), groups.dp_rank(),
                                           groups.dp_size(), options.buckets)
                       : std::vector<ElementRange>{});
  if (resume_from) {
    restore_model(*model, *resume_from);
    optimizer.reload_masters();  // the checkpoint's own masters replace these, when it has them
    restore_optimizer(optimizer, *resume_from);
    train_data->restore(resume_from->data_state);
    std::fprintf(stderr, "resumed from %s (step %ld)\n", resume_from->dir.c_str(),
                 static_cast<long>(resume_from->step));
  }
  Trainer trainer(*model, optimizer, *schedule, options, groups);

  if (root) {
    std::fprintf(stderr, "model state on rank 0%s: %s\n", zero ? " (ZeRO-1)" : "",
                 measure_model_state(optimizer.parameters(), optimizer, trainer.buckets())
                     .describe()
                     .c_str());
    std::fprintf(stderr, "model: %s, %.2fM parameters; data: %s (%s, vocabulary %ld)\n",
                 architecture_name(c.model.architecture), c.model.parameter_count() / 1e6,
                 data.dir.c_str(), data.is_translation() ? "translation" : "language model",
                 static_cast<long>(c.model.vocab_size));
  }
  // MFU is against the peak of the machine rank 0 runs on; simulated ranks
  // share that machine.
  const double peak =
      root ? measure_peak(target.device, target.device == Device::CUDA ? 8192 : 2048,
                          target.dtype)
                 .flops_per_s
           : 1.0;
  Progress progress(root ? c.progress : "silent", root ? c.out + "/metrics.jsonl" : "");
  // The layout this run (or this resumption) trains under, for the report.
  progress.record({{"event", "start"}, {"step", trainer.step()}, {"world", groups.world->size()},
                   {"dp", groups.dp_size()}, {"tp", groups.tp_size()},
                   {"sequence_parallel", c.sequence_parallel}, {"zero", zero},
                   {"communicator", groups.world->describe()}, {"compute", target.describe()},
                   {"parameters", c.model.parameter_count()}, {"peak_flops", peak}});
  // The report is a view of metrics.jsonl: a failure to write it (a full
  // disk, a folder in the way) is worth a warning, not the run.
  const auto refresh_report = [&] {
    if (!root) return;
    try {
      write_run_report(c.out);
    } catch (const Error& e) {
      progress.say("warning: report.html not refreshed: " + e.message());
    } catch (const std::exception& e) {
      progress.say(std::string("warning: report.html not refreshed: ") + e.what());
    }
  };

  TrainingHooks hooks;
  hooks.save = [&](int64_t step) {
    CheckpointState state;
    state.step = step;
    state.seed = c.seed;
    state.run_config = c.to_json();
    state.data_state = train_data->state();
    state.tokenizer_dir = run_tokenizer_dir(c.out);
    const std::string path = save_checkpoint(c.out, *model, optimizer, state,
                                             static_cast<int>(c.keep_checkpoints), groups);
    progress.say("checkpoint: " + path);
    progress.record({{"event", "checkpoint"}, {"step", step}, {"path", path}});
  };
  hooks.make_eval_stream = [&] {
    return make_stream(data, c, "val", false, groups.dp_rank(), groups.dp_size());
  };
  hooks.show_samples = [&](int64_t) { show_samples(*model, data, c, progress); };
  hooks.report_quality = [&] { report_quality(*model, data, c, progress, trainer.step()); };
  hooks.stop_requested = stop_requested;
  hooks.on_step = [&](const StepReport& r) {
    const StepStats& s = r.stats;
    const double mfu = s.model_flops / s.seconds / peak;
    const bool epochs = r.data.batches > 0;
    progress.step({s.step, r.total_steps, s.loss, s.lr, s.grad_norm, s.tokens_per_second, mfu,
                   r.eta_s, epochs ? r.data.epochs_done : -1.0});
    progress.record({{"event", "train"}, {"step", s.step}, {"loss", s.loss}, {"lr", s.lr},
                     {"grad_norm", s.grad_norm}, {"tokens", s.tokens},
                     {"tokens_per_s", s.tokens_per_second},
                     {"mfu", mfu}, {"elapsed_s", r.elapsed_s}, {"step_s", s.seconds},
                     {"comm_wait_s", s.comm_wait_seconds},
                     {"device_peak_gib", device_peak_gib(target)},
                     {"epoch", epochs ? r.data.epochs_done : 0.0}});
  };
  hooks.on_eval = [&](int64_t step, double loss) {
    char line[128];
    std::snprintf(line, sizeof line, "step %ld: val loss %.4f, perplexity %.2f",
                  static_cast<long>(step), loss, std::exp(loss));
    progress.say(line);
    progress.record({{"event", "eval"}, {"step", step}, {"val_loss", loss},
                     {"val_perplexity", std::exp(loss)}});
    refresh_report();
  };
  hooks.on_message = [&](const std::string& text) { progress.say(text); };

  const TrainingRunOptions cadence{.steps = c.steps, .log_every = c.log_every,
                                   .eval_every = c.eval_every, .eval_batches = c.eval_batches,
                                   .sample_every = c.sample_every,
                                   .checkpoint_every = c.checkpoint_every,
                                   .exit_interval = c.exit_interval};
  install_stop_handlers();
  const TrainingResult result = TrainingRun(trainer, *train_data, cadence, hooks).run();
  refresh_report();  // with the end-of-run scores, and for a run that stopped or failed
  if (result.outcome == TrainingOutcome::Failed) return 3;
  if (result.outcome == TrainingOutcome::Finished && target.device == Device::CUDA) {
    char line[128];
    std::snprintf(line, sizeof line, "peak device memory: %.2f GiB of a %.2f GiB arena",
                  device_peak_gib(target), gpu::memory_stats().capacity / double(1 << 30));
    progress.say(line);
  }
  if (result.outcome == TrainingOutcome::Finished && target.device == Device::CPU) {
    // Simulated ranks share the process: the figure is all of them together.
    char line[160];
    std::snprintf(line, sizeof line,
                  "peak memory of CPU tensors: %.1f MiB (this process, %d rank%s)",
                  static_cast<double>(host_tensor_memory().peak) / (1 << 20),
                  c.simulate_ranks > 1 ? static_cast<int>(c.simulate_ranks) : 1,
                  c.simulate_ranks > 1 ? "s" : "");
    progress.say(line);
  }
  return 0;
}

}  // namespace

int run_train(int argc, char** argv) {
  bool help = false;
  RunConfig config = parse_run_config(argc, argv, &help);
  if (help) return 0;
  config.compute.device = resolve_device(config);
  return run_on_ranks(config, [&](const ProcessGroups& groups) { return train(config, groups); });
}

}  // namespace weft::cli
