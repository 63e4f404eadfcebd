#include "cli/run_config.h"

#include <fstream>
#include <iostream>

#include "weft/model/config_json.h"
#include "weft/tensor/error.h"

namespace po = boost::program_options;

namespace weft::cli {
namespace {





template <typename T> void set_if(const po::variables_map& vm, const char* key, T& field) {
  if (vm.count(key)) field = vm[key].as<T>();
}

// Applies the [model] keys given explicitly on top of the preset.
void apply_model_keys(const po::variables_map& vm, ModelConfig& m) {
  set_if(vm, "model.d_model", m.d_model);
  set_if(vm, "model.n_heads", m.n_heads);
  set_if(vm, "model.d_ff", m.d_ff);
  set_if(vm, "model.n_layers", m.n_layers);
  set_if(vm, "model.n_encoder_layers", m.n_encoder_layers);
  set_if(vm, "model.max_seq_len", m.max_seq_len);
  set_if(vm, "model.dropout", m.dropout);
  set_if(vm, "model.label_smoothing", m.label_smoothing);
  set_if(vm, "model.tie_embeddings", m.tie_embeddings);
  set_if(vm, "model.scale_embeddings", m.scale_embeddings);
  set_if(vm, "model.init_std", m.init_std);
  if (vm.count("model.norm")) {
    const std::string v = vm["model.norm"].as<std::string>();
    WEFT_CHECK(v == "pre" || v == "post", "model.norm must be 'pre' or 'post', got '", v, "'");
    m.norm = v == "pre" ? NormPlacement::Pre : NormPlacement::Post;
  }
  if (vm.count("model.activation")) {
    const std::string v = vm["model.activation"].as<std::string>();
    WEFT_CHECK(v == "relu" || v == "gelu", "model.activation must be 'relu' or 'gelu', got '", v,
               "'");
    m.activation = v == "relu" ? ops::Activation::ReLU : ops::Activation::GELU;
  }
  if (vm.count("model.positions")) {
    const std::string v = vm["model.positions"].as<std::string>();
    WEFT_CHECK(v == "learned" || v == "sinusoidal",
               "model.positions must be 'learned' or 'sinusoidal', got '", v, "'");
    m.positions = v == "learned" ? PositionEncoding::Learned : PositionEncoding::Sinusoidal;
  }
}

}  // namespace

po::options_description run_options() {
  po::options_description model("[model] (keys without a default take model.preset's value)");
  model.add_options()
      ("model.preset", po::value<std::string>()->default_value("numbers-transformer"),
       "base shape: numbers-transformer, gpt-shakespeare-char, gpt2-124m, transformer-base, "
       "tiny-gpt, tiny-encoder-decoder")
      ("model.d_model", po::value<int64_t>(), "model width")
      ("model.n_heads", po::value<int64_t>(), "attention heads")
      ("model.d_ff", po::value<int64_t>(), "feed-forward hidden units")
      ("model.n_layers", po::value<int64_t>(), "decoder layers")
      ("model.n_encoder_layers", po::value<int64_t>(), "encoder layers (encoder-decoder)")
      ("model.max_seq_len", po::value<int64_t>(), "context length")
      ("model.norm", po::value<std::string>(), "layer norm placement: pre | post")
      ("model.activation", po::value<std::string>(), "feed-forward activation: relu | gelu")
      ("model.positions", po::value<std::string>(), "position encoding: learned | sinusoidal")
      ("model.tie_embeddings", po::value<bool>(), "output projection = target embedding")
      ("model.scale_embeddings", po::value<bool>(), "multiply embeddings by sqrt(d_model)")
      ("model.dropout", po::value<double>(), "dropout on embeddings, sublayers, FFN hidden")
      ("model.label_smoothing", po::value<double>(), "label smoothing of the training loss")
      ("model.init_std", po::value<double>(), "std of the normal initialisation");

  po::options_description data("[data]");
  data.add_options()
      ("data.dataset", po::value<std::string>()->default_value("builtin:numbers"),
       "a directory written by 'weft prepare', or builtin:numbers (digits -> English words, "
       "translation) or builtin:numbers-lm (language modelling)")
      ("data.batch_size", po::value<int64_t>()->default_value(64),
       "sequences (or sentence pairs) per optimizer step, over all micro-batches and ranks")
      ("data.seq_len", po::value<int64_t>()->default_value(0),
       "tokens per language-model sequence (0: model.max_seq_len)");

  po::options_description train("[train]");
  train.add_options()
      ("train.steps", po::value<int64_t>()->default_value(1000), "optimizer steps")
      ("train.grad_accum", po::value<int64_t>()->default_value(1), "micro-batches per step")
      ("train.eval_every", po::value<int64_t>()->default_value(250), "steps between evaluations (0: never)")
      ("train.eval_batches", po::value<int64_t>()->default_value(8), "validation batches per evaluation")
      ("train.sample_every", po::value<int64_t>()->default_value(500),
       "steps between text samples or translations (0: never)")
      ("train.checkpoint_every", po::value<int64_t>()->default_value(500),
       "steps between checkpoints (0: only at the end)")
      ("train.keep_checkpoints", po::value<int64_t>()->default_value(3), "checkpoints kept")
      ("train.out", po::value<std::string>()->default_value("runs/default"), "run directory")
      ("train.seed", po::value<uint64_t>()->default_value(1337), "initialisation, data and dropout seed")
      ("train.resume", po::value<bool>()->default_value(false)->implicit_value(true),
       "continue from the newest complete checkpoint in train.out")
      ("train.exit_interval", po::value<int64_t>()->default_value(0),
       "checkpoint and exit after a step divisible by this (0: never), e.g. to fit a job's time slot")
      ("train.device", po::value<std::string>()->default_value("auto"),
       "auto (cuda when a GPU is present, else cpu) | cpu | cuda")
      ("train.precision", po::value<std::string>()->default_value("fp32"),
       "fp32 | bf16 (cuda: bf16 weights and activations, f32 master weights, moments and loss)")
      ("train.gpu_memory_fraction", po::value<double>()->default_value(0.9),
       "share of the free GPU memory reserved at start-up for the one device arena")
      ("train.tf32", po::value<bool>()->default_value(false)->implicit_value(true),
       "TF32 tensor cores for fp32 GEMMs on cuda");

  po::options_description optim("[optim]");
  optim.add_options()
      ("optim.schedule", po::value<std::string>()->default_value("cosine"),
       "cosine (linear warm-up, cosine to min_lr) | noam (the 2017 paper) | constant")
      ("optim.lr", po::value<double>()->default_value(1e-3), "peak learning rate")
      ("optim.min_lr", po::value<double>()->default_value(1e-4), "final learning rate (cosine)")
      ("optim.warmup", po::value<int64_t>()->default_value(100), "warm-up steps")
      ("optim.noam_factor", po::value<double>()->default_value(1.0), "scale of the noam schedule")
      ("optim.beta1", po::value<double>()->default_value(0.9), "AdamW beta1")
      ("optim.beta2", po::value<double>()->default_value(0.99), "AdamW beta2")
      ("optim.eps", po::value<double>()->default_value(1e-8), "AdamW epsilon")
      ("optim.weight_decay", po::value<double>()->default_value(0.1),
       "decoupled weight decay (not on biases and norm gains)")
      ("optim.grad_clip", po::value<double>()->default_value(1.0), "max global gradient norm (0: off)");

  po::options_description parallel("[parallel]");
  parallel.add_options()
      ("parallel.tp", po::value<int64_t>()->default_value(1), "tensor-parallel ranks")
      ("parallel.simulate_ranks", po::value<int64_t>()->default_value(0),
       "run N ranks as threads in this process (0: one rank per process, as mpirun starts them)")
      ("parallel.simulate-ranks", po::value<int64_t>(), "the same as parallel.simulate_ranks")
      ("parallel.bucket_mb", po::value<double>()->default_value(25.0),
       "data-parallel gradient bucket size in MiB")
      ("parallel.overlap", po::value<bool>()->default_value(true),
       "reduce gradient buckets while backward goes on (false: after it)")
      ("parallel.timeout_s", po::value<double>()->default_value(300.0),
       "seconds a collective may wait for a rank before the run aborts (0: forever)");

  po::options_description log("[log]");
  log.add_options()
      ("log.every", po::value<int64_t>()->default_value(10), "steps between progress lines")
      ("log.progress", po::value<std::string>()->default_value("auto"),
       "auto (refreshed line on a terminal, plain lines otherwise) | plain | none");

  po::options_description all;
  all.add(model).add(data).add(train).add(optim).add(parallel).add(log);
  return all;
}

RunConfig parse_run_config(int argc, char** argv, bool* help_requested) {
  po::options_description general("weft train options");
  general.add_options()
      ("help,h", "list every option with its default")
      ("config", po::value<std::string>(), "INI file with [model] [data] [train] [optim] [parallel] [log]");
  po::options_description keys = run_options();
  po::options_description cmdline;
  cmdline.add(general).add(keys);

  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, cmdline), vm);
    if (vm.count("help")) {
      *help_requested = true;
      std::cout << general << "\n" << keys << "\n";
      return {};
    }
    if (vm.count("config")) {
      const std::string path = vm["config"].as<std::string>();
      std::ifstream in(path);
      WEFT_CHECK(in.good(), "config file '", path, "' cannot be read");
      try {
        po::store(po::parse_config_file(in, keys), vm);
      } catch (const po::error& e) {
        throw Error(detail::concat("config file '", path, "': ", e.what()));
      }
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(e.what());
  }

  RunConfig c;
  c.model_preset = vm["model.preset"].as<std::string>();
  c.model = model_preset(c.model_preset);
  apply_model_keys(vm, c.model);
  c.dataset = vm["data.dataset"].as<std::string>();
  c.batch_size = vm["data.batch_size"].as<int64_t>();
  c.seq_len = vm["data.seq_len"].as<int64_t>();
  c.steps = vm["train.steps"].as<int64_t>();
  c.grad_accum = vm["train.grad_accum"].as<int64_t>();
  c.eval_every = vm["train.eval_every"].as<int64_t>();
  c.eval_batches = vm["train.eval_batches"].as<int64_t>();
  c.sample_every = vm["train.sample_every"].as<int64_t>();
  c.checkpoint_every = vm["train.checkpoint_every"].as<int64_t>();
  c.keep_checkpoints = vm["train.keep_checkpoints"].as<int64_t>();
  c.out = vm["train.out"].as<std::string>();
  c.seed = vm["train.seed"].as<uint64_t>();
  c.resume = vm["train.resume"].as<bool>();
  c.exit_interval = vm["train.exit_interval"].as<int64_t>();
  c.compute.device = vm["train.device"].as<std::string>();
  c.compute.precision = vm["train.precision"].as<std::string>();
  c.compute.gpu_memory_fraction = vm["train.gpu_memory_fraction"].as<double>();
  c.compute.tf32 = vm["train.tf32"].as<bool>();
  c.schedule = vm["optim.schedule"].as<std::string>();
  c.lr = vm["optim.lr"].as<double>();
  c.min_lr = vm["optim.min_lr"].as<double>();
  c.warmup = vm["optim.warmup"].as<int64_t>();
  c.noam_factor = vm["optim.noam_factor"].as<double>();
  c.beta1 = vm["optim.beta1"].as<double>();
  c.beta2 = vm["optim.beta2"].as<double>();
  c.eps = vm["optim.eps"].as<double>();
  c.weight_decay = vm["optim.weight_decay"].as<double>();
  c.grad_clip = vm["optim.grad_clip"].as<double>();
  c.tp = vm["parallel.tp"].as<int64_t>();
  c.simulate_ranks = vm["parallel.simulate_ranks"].as<int64_t>();
  if (vm.count("parallel.simulate-ranks")) {
    WEFT_CHECK(vm["parallel.simulate_ranks"].defaulted(), "give parallel.simulate-ranks or ",
               "parallel.simulate_ranks, not both");
    c.simulate_ranks = vm["parallel.simulate-ranks"].as<int64_t>();
  }
  c.bucket_mb = vm["parallel.bucket_mb"].as<double>();
  c.overlap = vm["parallel.overlap"].as<bool>();
  c.timeout_s = vm["parallel.timeout_s"].as<double>();
  c.log_every = vm["log.every"].as<int64_t>();
  c.progress = vm["log.progress"].as<std::string>();

  WEFT_CHECK(c.batch_size > 0, "data.batch_size must be positive, got ", c.batch_size);
  WEFT_CHECK(c.seq_len >= 0, "data.seq_len must be >= 0, got ", c.seq_len);
  WEFT_CHECK(c.steps > 0, "train.steps must be positive, got ", c.steps);
  WEFT_CHECK(c.grad_accum > 0 && c.batch_size % c.grad_accum == 0, "data.batch_size (",
             c.batch_size, ") must be divisible by train.grad_accum (", c.grad_accum, ")");
  WEFT_CHECK(c.keep_checkpoints >= 1, "train.keep_checkpoints must be >= 1, got ",
             c.keep_checkpoints);
  WEFT_CHECK(c.eval_batches >= 1, "train.eval_batches must be >= 1, got ", c.eval_batches);
  WEFT_CHECK(c.exit_interval >= 0, "train.exit_interval must be >= 0, got ", c.exit_interval);
  WEFT_CHECK(c.compute.device == "auto" || c.compute.device == "cpu" || c.compute.device == "cuda",
             "train.device must be auto, cpu or cuda, got '", c.compute.device, "'");
  WEFT_CHECK(c.compute.precision == "fp32" || c.compute.precision == "bf16",
             "train.precision must be fp32 or bf16, got '", c.compute.precision, "'");
  WEFT_CHECK(c.compute.gpu_memory_fraction > 0 && c.compute.gpu_memory_fraction <= 1,
             "train.gpu_memory_fraction must be in (0, 1], got ", c.compute.gpu_memory_fraction);
  WEFT_CHECK(c.log_every >= 1, "log.every must be >= 1, got ", c.log_every);
  WEFT_CHECK(c.schedule == "cosine" || c.schedule == "noam" || c.schedule == "constant",
             "optim.schedule must be cosine, noam or constant, got '", c.schedule, "'");
  WEFT_CHECK(c.schedule != "cosine" || c.warmup <= c.steps, "optim.warmup (", c.warmup,
             ") must not exceed train.steps (", c.steps, ") with the cosine schedule");
  WEFT_CHECK(c.progress == "auto" || c.progress == "plain" || c.progress == "none",
             "log.progress must be auto, plain or none, got '", c.progress, "'");
  WEFT_CHECK(c.tp >= 1, "parallel.tp must be >= 1, got ", c.tp);
  WEFT_CHECK(c.simulate_ranks >= 0 && c.simulate_ranks <= 64,
             "parallel.simulate_ranks must be in [0, 64], got ", c.simulate_ranks);
  WEFT_CHECK(c.bucket_mb > 0, "parallel.bucket_mb must be positive, got ", c.bucket_mb);
  WEFT_CHECK(c.timeout_s >= 0, "parallel.timeout_s must be >= 0, got ", c.timeout_s);
  return c;
}

nlohmann::json RunConfig::to_json() const {
  nlohmann::json j;
  j["model"] = weft::to_json(model);
  j["model"]["preset"] = model_preset;
  j["data"] = {{"dataset", dataset}, {"batch_size", batch_size}, {"seq_len", seq_len}};
  j["train"] = {{"steps", steps},
                {"grad_accum", grad_accum},
                {"eval_every", eval_every},
                {"eval_batches", eval_batches},
                {"sample_every", sample_every},
                {"checkpoint_every", checkpoint_every},
                {"keep_checkpoints", keep_checkpoints},
                {"out", out},
                {"seed", seed},
                {"resume", resume},
                {"exit_interval", exit_interval},
                {"device", compute.device},
                {"precision", compute.precision},
                {"gpu_memory_fraction", compute.gpu_memory_fraction},
                {"tf32", compute.tf32}};
  j["optim"] = {{"schedule", schedule}, {"lr", lr},       {"min_lr", min_lr},
                {"warmup", warmup},     {"noam_factor", noam_factor},
                {"beta1", beta1},       {"beta2", beta2}, {"eps", eps},
                {"weight_decay", weight_decay},           {"grad_clip", grad_clip}};
  j["parallel"] = {{"tp", tp},          {"simulate_ranks", simulate_ranks},
                   {"bucket_mb", bucket_mb}, {"overlap", overlap},
                   {"timeout_s", timeout_s}};
  j["log"] = {{"every", log_every}, {"progress", progress}};
  return j;
}

}  // namespace weft::cli
