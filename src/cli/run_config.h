#pragma once
// Everything a training run is told, in the INI sections the user writes:
// [model] [data] [train] [optim] [parallel] [log]. Every key can also be
// given on the command line as --section.key value; the command line wins.
// One table (run_config.cc, see cli/option_table.h) declares each key once,
// with its member, default, help and check, for the INI parser, the command
// line, --help, the checks and the JSON of the effective config.

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/device_setup.h"
#include "cli/option_table.h"
#include "weft/model/config.h"

namespace weft::cli {

struct RunConfig {
  ModelConfig model;          // [model]; vocabulary sizes come from the data
  std::string model_preset;   // [model] preset: the base the other keys change

  std::string dataset;        // [data] dataset: a prepared directory or builtin:NAME
  int64_t batch_size = 0;     // [data] batch_size: sequences per optimizer step (global)
  int64_t seq_len = 0;        // [data] seq_len: tokens per LM sequence (0: the context)
  int64_t max_tokens = 0;     // [data] max_tokens: translation batches by token budget (0: batch_size)

  int64_t steps = 0;          // [train]
  int64_t epochs = 0;         // passes over the training split; > 0 sets steps from the data
  int64_t grad_accum = 1;
  int64_t eval_every = 0;
  int64_t eval_batches = 0;
  int64_t sample_every = 0;
  int64_t checkpoint_every = 0;
  int64_t keep_checkpoints = 0;
  std::string out;
  uint64_t seed = 0;
  bool resume = false;
  int64_t exit_interval = 0;  // stop (checkpointed) after a step divisible by it; 0: never
  std::string recompute = "none";  // none | selective | full
  DeviceSettings compute;     // train.device, train.precision, train.gpu_memory_fraction, train.tf32

  std::string schedule;       // [optim] cosine | noam | constant
  double lr = 0, min_lr = 0, noam_factor = 0;
  int64_t warmup = 0;
  double beta1 = 0, beta2 = 0, eps = 0, weight_decay = 0, grad_clip = 0;

  int64_t tp = 1;             // [parallel]; dp = world / tp
  int64_t simulate_ranks = 0; // N ranks as threads of this process; 0: one rank per process
  double bucket_mb = 25;      // data-parallel gradient bucket size
  bool overlap = true;        // reduce buckets while backward goes on
  int64_t zero = 0;           // 1: ZeRO-1 (distributed optimizer state)
  bool sequence_parallel = false;  // split token rows across the TP group between sublayers
  double timeout_s = 300;     // a collective slower than this aborts the run

  int64_t log_every = 0;      // [log]
  std::string progress;       // auto | plain | none

  nlohmann::json to_json() const;  // the effective config, for the manifest and the printout
};

// The keys of `weft train`, one row each.
const OptionTable<RunConfig>& run_option_table();

// The options of `weft train` (and of the commands that read a run's config).
boost::program_options::options_description run_options();

// Reads --config FILE (if any) and the command line into a RunConfig.
// Unknown keys, values of the wrong type or out of range and inconsistent
// settings throw weft::Error naming the key (and the file), what is expected
// and the value given. Nothing is written.
RunConfig parse_run_config(int argc, char** argv, bool* help_requested);

// Refuses optim.warmup past train.steps under the cosine schedule (run again
// once train.epochs has set the steps).
void check_warmup(const RunConfig& c);

}  // namespace weft::cli
