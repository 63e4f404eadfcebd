#include "cli/run_config.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/command_options.h"
#include "weft/model/config_json.h"
#include "weft/tensor/error.h"

namespace po = boost::program_options;

namespace weft::cli {
namespace {

// [model] keys have no default of their own: model.preset's value stays
// unless the key is given.
constexpr std::nullopt_t kFromPreset = kNoDefault;

template <typename T>
Member<RunConfig, T> model(T ModelConfig::*member) {
  return {&RunConfig::model, member};
}

template <typename T>
Member<RunConfig, T> compute(T DeviceSettings::*member) {
  return {&RunConfig::compute, member};
}

}  // namespace

void check_warmup(const RunConfig& c) {
  WEFT_CHECK(c.schedule != "cosine" || c.warmup <= c.steps, "optim.warmup (", c.warmup,
             ") must not exceed train.steps (", c.steps, ")", c.epochs > 0 ? " (from train.epochs)" : "",
             " with the cosine schedule");
}

namespace {

// Checks between keys, after each key's own.
void check_together(const RunConfig& c) {
  WEFT_CHECK(c.max_tokens > 0 || c.batch_size % c.grad_accum == 0, "data.batch_size (",
             c.batch_size, ") must be divisible by train.grad_accum (", c.grad_accum, ")");
  // With train.epochs the steps are known once the data is read (check_warmup).
  if (c.epochs == 0) check_warmup(c);
}

}  // namespace

// Every key of `weft train`, one row each: name, member, default, help,
// check. Adding a key is adding a row; it is then read from INI files and the
// command line, listed by --help, checked, and written to config.json.
// clang-format off
const OptionTable<RunConfig>& run_option_table() {
  static const OptionTable<RunConfig> table(
    {{"model", "[model] (keys without a default take model.preset's value)"}},
    {
    key("model.preset", &RunConfig::model_preset, "numbers-transformer",
        "base shape: numbers-transformer, gpt-shakespeare-char, gpt2-124m, transformer-base, "
        "tiny-gpt, tiny-encoder-decoder, tiny-llama, llama-124m, llama-shakespeare-char, "
        "tiny-bert, bert-base"),
    key("model.d_model", model(&ModelConfig::d_model), kFromPreset, "model width", at_least(1)),
    key("model.n_heads", model(&ModelConfig::n_heads), kFromPreset, "attention heads", at_least(1)),
    key("model.d_ff", model(&ModelConfig::d_ff), kFromPreset, "feed-forward hidden units",
        at_least(1)),
    key("model.n_layers", model(&ModelConfig::n_layers), kFromPreset, "decoder layers",
        at_least(1)),
    key("model.n_encoder_layers", model(&ModelConfig::n_encoder_layers), kFromPreset,
        "encoder layers (encoder-decoder)", at_least(0)),
    key("model.max_seq_len", model(&ModelConfig::max_seq_len), kFromPreset, "context length",
        at_least(1)),
    word("model.norm", model(&ModelConfig::norm), kFromPreset, "layer norm placement"),
    word("model.norm_type", model(&ModelConfig::norm_type), kFromPreset,
         "norm type (rmsnorm: LLaMA's, no centring, no bias)"),
    key("model.norm_eps", model(&ModelConfig::norm_eps), kFromPreset,
        "epsilon inside the norms' square root", positive()),
    word("model.ffn", model(&ModelConfig::ffn), kFromPreset,
         "feed-forward network (mlp: Linear, activation, Linear; swiglu: LLaMA's)"),
    word("model.activation", model(&ModelConfig::activation), kFromPreset,
         "feed-forward activation"),
    word("model.positions", model(&ModelConfig::positions), kFromPreset, "position encoding"),
    key("model.rope_theta", model(&ModelConfig::rope_theta), kFromPreset,
        "rotary positions: base of the angles' frequencies", positive()),
    key("model.n_kv_heads", model(&ModelConfig::n_kv_heads), kFromPreset,
        "key/value heads for grouped-query attention (0: model.n_heads)", at_least(0)),
    key("model.bias", model(&ModelConfig::bias), kFromPreset,
        "biases in the attention and feed-forward projections"),
    key("model.n_token_types", model(&ModelConfig::n_token_types), kFromPreset,
        "segment embeddings of an encoder-only model (BERT: 2)", at_least(0)),
    word("model.sinusoid_layout", model(&ModelConfig::sinusoid_layout), kFromPreset,
         "sinusoidal positions' features: sines and cosines interleaved, or in halves (as "
         "Marian; needed by 'weft export --format hf-marian')"),
    key("model.tie_embeddings", model(&ModelConfig::tie_embeddings), kFromPreset,
        "output projection = target embedding"),
    key("model.scale_embeddings", model(&ModelConfig::scale_embeddings), kFromPreset,
        "multiply embeddings by sqrt(d_model)"),
    key("model.dropout", model(&ModelConfig::dropout), kFromPreset,
        "dropout on embeddings, sublayers, FFN hidden", below_one()),
    key("model.label_smoothing", model(&ModelConfig::label_smoothing), kFromPreset,
        "label smoothing of the training loss", below_one()),
    key("model.init_std", model(&ModelConfig::init_std), kFromPreset,
        "std of the normal initialisation", positive()),
    key("model.vocab_multiple", model(&ModelConfig::vocab_multiple), 128,
        "pad embedding and output rows to a multiple of this x parallel.tp (exact: padded rows "
        "are masked)", at_least(1)),

    key("data.dataset", &RunConfig::dataset, "builtin:numbers",
        "a directory written by 'weft prepare', or builtin:numbers (digits -> English words, "
        "translation), builtin:numbers-lm (language modelling) or builtin:numbers-mlm (masked "
        "language modelling)"),
    key("data.batch_size", &RunConfig::batch_size, 64,
        "sequences (or sentence pairs) per optimizer step, over all micro-batches and ranks",
        positive()),
    key("data.seq_len", &RunConfig::seq_len, 0,
        "tokens per language-model sequence (0: model.max_seq_len)", at_least(0)),
    key("data.max_tokens", &RunConfig::max_tokens, 0,
        "translation: batches of sentence pairs of similar length, as many as fit this many "
        "source + target positions after padding, per micro-batch over all data-parallel ranks "
        "(fairseq's --max-tokens; data.batch_size is then not used); 0: data.batch_size pairs",
        at_least(0)),

    key("train.steps", &RunConfig::steps, 1000, "optimizer steps", positive()),
    key("train.epochs", &RunConfig::epochs, 0,
        "passes over the training split; when > 0 it sets train.steps (the batches of that many "
        "epochs / train.grad_accum)", at_least(0)),
    key("train.grad_accum", &RunConfig::grad_accum, 1, "micro-batches per step", positive()),
    key("train.eval_every", &RunConfig::eval_every, 250, "steps between evaluations (0: never)",
        at_least(0)),
    key("train.eval_batches", &RunConfig::eval_batches, 8, "validation batches per evaluation",
        at_least(1)),
    key("train.sample_every", &RunConfig::sample_every, 500,
        "steps between text samples or translations (0: never)", at_least(0)),
    key("train.checkpoint_every", &RunConfig::checkpoint_every, 500,
        "steps between checkpoints (0: only at the end)", at_least(0)),
    key("train.keep_checkpoints", &RunConfig::keep_checkpoints, 3, "checkpoints kept", at_least(1)),
    key("train.out", &RunConfig::out, "runs/default", "run directory"),
    key("train.seed", &RunConfig::seed, 1337, "initialisation, data and dropout seed"),
    flag("train.resume", &RunConfig::resume, false,
         "continue from the newest complete checkpoint in train.out"),
    key("train.exit_interval", &RunConfig::exit_interval, 0,
        "checkpoint and exit after a step divisible by this (0: never), e.g. to fit a job's "
        "time slot",
        at_least(0)),
    key("train.recompute", &RunConfig::recompute, "none",
        "activation recompute: none | selective (attention probabilities recomputed in "
        "backward) | full (each block keeps only its output and runs its forward again in "
        "backward); same results, less memory, more compute",
        one_of({"none", "selective", "full"})),
    key("train.device", compute(&DeviceSettings::device), "auto",
        "auto (cuda when a GPU is present, else cpu) | cpu | cuda",
        one_of({"auto", "cpu", "cuda"})),
    key("train.precision", compute(&DeviceSettings::precision), "fp32",
        "fp32 | bf16 (bf16 weights and activations, f32 master weights, gradients, moments and "
        "loss; cpu: oneDNN matmul on AVX-512 BF16 or AMX)",
        one_of({"fp32", "bf16"})),
    key("train.gpu_memory_fraction", compute(&DeviceSettings::gpu_memory_fraction), 0.9,
        "share of the free GPU memory reserved at start-up for the one device arena", fraction()),
    flag("train.tf32", compute(&DeviceSettings::tf32), false,
         "TF32 tensor cores for fp32 GEMMs on cuda"),

    key("optim.schedule", &RunConfig::schedule, "cosine",
        "cosine (linear warm-up, cosine to min_lr) | noam (the 2017 paper) | constant",
        one_of({"cosine", "noam", "constant"})),
    key("optim.lr", &RunConfig::lr, 1e-3, "peak learning rate", positive()),
    key("optim.min_lr", &RunConfig::min_lr, 1e-4, "final learning rate (cosine)", at_least(0)),
    key("optim.warmup", &RunConfig::warmup, 100, "warm-up steps", at_least(0)),
    key("optim.noam_factor", &RunConfig::noam_factor, 1.0, "scale of the noam schedule",
        positive()),
    key("optim.beta1", &RunConfig::beta1, 0.9, "AdamW beta1", below_one()),
    key("optim.beta2", &RunConfig::beta2, 0.99, "AdamW beta2", below_one()),
    key("optim.eps", &RunConfig::eps, 1e-8, "AdamW epsilon", positive()),
    key("optim.weight_decay", &RunConfig::weight_decay, 0.1,
        "decoupled weight decay (not on biases and norm gains)", at_least(0)),
    key("optim.grad_clip", &RunConfig::grad_clip, 1.0, "max global gradient norm (0: off)",
        at_least(0)),

    key("parallel.tp", &RunConfig::tp, 1, "tensor-parallel ranks", at_least(1)),
    key("parallel.simulate_ranks", &RunConfig::simulate_ranks, 0,
        "run N ranks as threads in this process (0: one rank per process, as mpirun starts them)",
        between(0, 64)).also_spelled("parallel.simulate-ranks"),
    key("parallel.bucket_mb", &RunConfig::bucket_mb, 25.0,
        "data-parallel gradient bucket size in MiB", positive()),
    key("parallel.overlap", &RunConfig::overlap, true,
        "reduce gradient buckets while backward goes on (false: after it)"),
    key("parallel.sequence_parallel", &RunConfig::sequence_parallel, false,
        "split the token rows across the tensor-parallel group between its sublayers (layer "
        "norms, dropout, residuals): less activation memory, the same results; needs tp > 1"),
    key("parallel.zero", &RunConfig::zero, 0,
        "1: ZeRO-1, the distributed optimizer: each data-parallel rank keeps AdamW state for "
        "1/dp of the parameters (gradients reduce-scattered, parameters all-gathered); "
        "0: every rank keeps all of it",
        between(0, 1)),
    key("parallel.timeout_s", &RunConfig::timeout_s, 300.0,
        "seconds a collective may wait for a rank before the run aborts (0: forever)", at_least(0)),

    key("log.every", &RunConfig::log_every, 10, "steps between progress lines", at_least(1)),
    key("log.progress", &RunConfig::progress, "auto",
        "auto (refreshed line on a terminal, plain lines otherwise) | plain | none",
        one_of({"auto", "plain", "none"})),
    });
  return table;
}
// clang-format on

po::options_description run_options() {
  return run_option_table().describe();
}

RunConfig parse_run_config(int argc, char** argv, bool* help_requested) {
  po::options_description general("weft train options");
  // clang-format off
  general.add_options()
      ("help,h", "list every option with its default")
      ("config", po::value<std::string>(),
       "INI file with [model] [data] [train] [optim] [parallel] [log]");
  // clang-format on
  const po::options_description keys = run_options();
  po::options_description cmdline;
  cmdline.add(general).add(keys);

  po::variables_map vm;
  try {
    po::store(parse_arguments(argc, argv, cmdline), vm);
    if (vm.count("help")) {
      *help_requested = true;
      std::cout << general << "\n" << keys << "\n";
      return {};
    }
    if (vm.count("config")) {
      const std::string path = vm["config"].as<std::string>();
      std::ifstream in(path);
      WEFT_CHECK(in.good(), "config file '", path, "' cannot be read");
      // A directory or a device (/dev/zero) opens, then reads as nothing or forever.
      WEFT_CHECK(std::filesystem::is_regular_file(path), "config file '", path,
                 "' is not a regular file");
      std::stringstream text;
      text << in.rdbuf();
      refuse_format_placeholders(text.str(), detail::concat("config file '", path, "'"));
      try {
        po::store(po::parse_config_file(text, keys), vm);
      } catch (const po::error& e) {
        throw Error(detail::concat("config file '", path, "': ", e.what()));
      }
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(e.what());
  }

  RunConfig c;
  // The preset first: the [model] keys given change it.
  c.model_preset = vm["model.preset"].as<std::string>();
  c.model = model_preset(c.model_preset);
  run_option_table().read(vm, c);
  run_option_table().check(c);
  check_together(c);
  return c;
}

nlohmann::json RunConfig::to_json() const {
  nlohmann::json j;
  // Every field of the model, also those no key sets (the vocabulary sizes
  // come from the data); the rows then write what the keys hold.
  j["model"] = weft::to_json(model);
  run_option_table().write(*this, j);
  return j;
}

}  // namespace weft::cli
