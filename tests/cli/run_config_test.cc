// weft train's keys, in process: the JSON of the effective config (written
// to config.json and every checkpoint manifest, and compared on resume) as
// runs have always written it, an INI file under command-line overrides,
// each refusal naming the key and the value, the model's enum words, and
// that every row of the table is declared, written and read back.

#include "cli/run_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "weft/model/config_json.h"
#include "weft/tensor/error.h"

namespace weft::cli {
namespace {

namespace fs = std::filesystem;

RunConfig parse(std::vector<std::string> args, bool* help = nullptr) {
  args.insert(args.begin(), "train");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  bool help_requested = false;
  RunConfig c = parse_run_config(static_cast<int>(argv.size()), argv.data(), &help_requested);
  if (help != nullptr) *help = help_requested;
  return c;
}

// The message parse refuses `args` with; "" when it accepts them.
std::string refusal(const std::vector<std::string>& args) {
  try {
    parse(args);
  } catch (const Error& e) {
    return e.message();
  }
  return "";
}

std::string help_text() {
  ::testing::internal::CaptureStdout();
  bool help = false;
  parse({"--help"}, &help);
  const std::string text = ::testing::internal::GetCapturedStdout();
  EXPECT_TRUE(help);
  return text;
}

std::string section_of(const std::string& name) {
  return name.substr(0, name.find('.'));
}
std::string key_of(const std::string& name) {
  return name.substr(name.find('.') + 1);
}

// What the JSON of a run's config has always been (numbers-transformer, the
// defaults), plus model.vocab_multiple, added with vocabulary padding,
// model.sinusoid_layout, added with the Marian export,
// parallel.zero, parallel.sequence_parallel and train.recompute, added with
// the distributed optimizer, sequence parallelism and activation recompute,
// and model.bias, ffn, n_kv_heads, norm_type and rope_theta (LLaMA) and
// n_token_types and sep_id (BERT); integers and reals keep their JSON types.
const char* const kDefaultsJson =
    R"({"data":{"batch_size":64,"dataset":"builtin:numbers","max_tokens":0,"seq_len":0},)"
    R"("log":{"every":10,"progress":"auto"},)"
    R"("model":{"activation":"relu","architecture":"encoder-decoder","bias":true,"d_ff":512,)"
    R"("d_model":128,"dropout":0.1,"ffn":"mlp","init_std":0.02,"label_smoothing":0.1,)"
    R"("max_seq_len":96,"n_encoder_layers":2,"n_heads":4,"n_kv_heads":0,"n_layers":2,)"
    R"("n_token_types":0,"norm":"post","norm_eps":1e-05,"norm_type":"layernorm",)"
    R"("pad_id":-1,"positions":"sinusoidal","preset":"numbers-transformer",)"
    R"("rope_theta":10000.0,"scale_embeddings":true,"sep_id":-1,)"
    R"("sinusoid_layout":"interleaved","source_vocab_size":0,)"
    R"("tie_embeddings":true,"vocab_multiple":128,)"
    R"("vocab_size":40},)"
    R"("optim":{"beta1":0.9,"beta2":0.99,"eps":1e-08,"grad_clip":1.0,"lr":0.001,)"
    R"("min_lr":0.0001,"noam_factor":1.0,"schedule":"cosine","warmup":100,)"
    R"("weight_decay":0.1},)"
    R"("parallel":{"bucket_mb":25.0,"overlap":true,"sequence_parallel":false,"simulate_ranks":0,)"
    R"("timeout_s":300.0,)"
    R"("tp":1,"zero":0},)"
    R"("train":{"checkpoint_every":500,"device":"auto","epochs":0,"eval_batches":8,"eval_every":250,)"
    R"("exit_interval":0,"gpu_memory_fraction":0.9,"grad_accum":1,"keep_checkpoints":3,)"
    R"("out":"runs/default","precision":"fp32","recompute":"none","resume":false,"sample_every":500,"seed":1337,)"
    R"("steps":1000,"tf32":false}})";

const std::vector<std::string> kTinyArgs = {"--model.preset=tiny-gpt",
                                            "--model.norm=post",
                                            "--model.activation=relu",
                                            "--model.positions=sinusoidal",
                                            "--model.dropout=0.1",
                                            "--train.seed=18446744073709551615",
                                            "--model.tie_embeddings=false",
                                            "--optim.lr=0.0003",
                                            "--parallel.simulate-ranks=3",
                                            "--train.resume",
                                            "--train.device=cpu"};

const char* const kTinyJson =
    R"({"data":{"batch_size":64,"dataset":"builtin:numbers","max_tokens":0,"seq_len":0},)"
    R"("log":{"every":10,"progress":"auto"},)"
    R"("model":{"activation":"relu","architecture":"decoder-only","bias":true,"d_ff":48,)"
    R"("d_model":16,"dropout":0.1,"ffn":"mlp","init_std":0.02,"label_smoothing":0.0,)"
    R"("max_seq_len":16,"n_encoder_layers":0,"n_heads":2,"n_kv_heads":0,"n_layers":2,)"
    R"("n_token_types":0,"norm":"post","norm_eps":1e-05,"norm_type":"layernorm",)"
    R"("pad_id":-1,"positions":"sinusoidal","preset":"tiny-gpt","rope_theta":10000.0,)"
    R"("scale_embeddings":false,"sep_id":-1,)"
    R"("sinusoid_layout":"interleaved","source_vocab_size":0,"tie_embeddings":false,)"
    R"("vocab_multiple":128,"vocab_size":32},)"
    R"("optim":{"beta1":0.9,"beta2":0.99,"eps":1e-08,"grad_clip":1.0,"lr":0.0003,)"
    R"("min_lr":0.0001,"noam_factor":1.0,"schedule":"cosine","warmup":100,)"
    R"("weight_decay":0.1},)"
    R"("parallel":{"bucket_mb":25.0,"overlap":true,"sequence_parallel":false,"simulate_ranks":3,)"
    R"("timeout_s":300.0,)"
    R"("tp":1,"zero":0},)"
    R"("train":{"checkpoint_every":500,"device":"cpu","epochs":0,"eval_batches":8,"eval_every":250,)"
    R"("exit_interval":0,"gpu_memory_fraction":0.9,"grad_accum":1,"keep_checkpoints":3,)"
    R"("out":"runs/default","precision":"fp32","recompute":"none","resume":true,"sample_every":500,)"
    R"("seed":18446744073709551615,"steps":1000,"tf32":false}})";

TEST(RunConfig, JsonIsWhatRunsHaveAlwaysWritten) {
  EXPECT_EQ(parse({}).to_json().dump(), kDefaultsJson);
  EXPECT_EQ(parse(kTinyArgs).to_json().dump(), kTinyJson);
}

// Every key of the JSON, given back as --section.key=value, gives the same
// config: each row reads what it writes.
TEST(RunConfig, JsonGivenBackOnTheCommandLineRoundTrips) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{}, kTinyArgs}) {
    const nlohmann::json j = parse(args).to_json();
    std::vector<std::string> again;
    for (const auto& option : run_option_table().options()) {
      const nlohmann::json& v = j.at(section_of(option.name)).at(key_of(option.name));
      again.push_back("--" + option.name + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
    }
    EXPECT_EQ(parse(again).to_json().dump(), j.dump());
  }
}

class RunConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / ("weft-run-config-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write_ini(const std::string& text) {
    const fs::path path = dir_ / "run.ini";
    std::ofstream(path) << text;
    return path.string();
  }
  fs::path dir_;
};

TEST_F(RunConfigFile, CommandLineOverridesTheFileAndTheFileThePreset) {
  const std::string ini = write_ini(
      "[model]\npreset = tiny-gpt\nd_model = 32\nnorm = post\n"
      "[train]\nsteps = 50\nout = runs/from-file\n"
      "[optim]\nlr = 3e-3\nbeta2 = 0.95\nwarmup = 5\n");
  const RunConfig c = parse({"--config", ini, "--train.steps", "7", "--model.d_model", "64"});
  const ModelConfig preset = model_preset("tiny-gpt");
  EXPECT_EQ(c.model_preset, "tiny-gpt");
  EXPECT_EQ(c.steps, 7);                         // command line over file
  EXPECT_EQ(c.model.d_model, 64);                // command line over file over preset
  EXPECT_EQ(c.model.norm, NormPlacement::Post);  // file over preset
  EXPECT_NE(preset.norm, NormPlacement::Post);
  EXPECT_EQ(c.model.n_heads, preset.n_heads);  // the preset's, where no key is given
  EXPECT_EQ(c.model.max_seq_len, preset.max_seq_len);
  EXPECT_EQ(c.out, "runs/from-file");
  EXPECT_DOUBLE_EQ(c.lr, 3e-3);
  EXPECT_DOUBLE_EQ(c.beta2, 0.95);
  EXPECT_EQ(c.warmup, 5);
  EXPECT_DOUBLE_EQ(c.beta1, 0.9);  // the default, given nowhere
}

TEST_F(RunConfigFile, ValuesFromTheFileAreCheckedLikeTheCommandLine) {
  const std::string ini = write_ini("[optim]\nbeta1 = 1.5\n");
  EXPECT_EQ(refusal({"--config", ini}), "optim.beta1 must be in [0, 1), got 1.5");
}

// Boost formats a refusal by replacing %value% until none is left: a value
// holding the placeholder itself used to hang the parser (found by fuzzing).
TEST_F(RunConfigFile, TextBetweenPercentSignsIsRefusedNotLoopedOn) {
  const std::string ini = write_ini("[model]\nn_layers = x%value%\n");
  EXPECT_EQ(refusal({"--config", ini}),
            "config file '" + ini + "' holds '%value%': text between percent signs is not "
            "accepted in options");
  EXPECT_EQ(refusal({"--model.n_layers=%canonical_option%"}),
            "argument '--model.n_layers=%canonical_option%' holds '%canonical_option%': text "
            "between percent signs is not accepted in options");
  // A percent sign in prose or a number is fine.
  EXPECT_EQ(refusal({"--config", write_ini("# keeps 100% of the data, 5% held out\n")}), "");
}

TEST(RunConfig, EveryShippedConfigParses) {
  int parsed = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(WEFT_SOURCE_DIR) / "configs")) {
    if (entry.path().extension() != ".ini") continue;
    EXPECT_EQ(refusal({"--config", entry.path().string()}), "") << entry.path();
    ++parsed;
  }
  EXPECT_GT(parsed, 0);
}

TEST(RunConfig, EachRefusalNamesTheKeyAndTheValue) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      // Checked before the table, with these words; tests and users rely on them.
      {{"--data.batch_size=0"}, "data.batch_size must be positive, got 0"},
      {{"--data.seq_len=-1"}, "data.seq_len must be >= 0, got -1"},
      {{"--train.steps=0"}, "train.steps must be positive, got 0"},
      {{"--data.batch_size=10", "--train.grad_accum=3"},
       "data.batch_size (10) must be divisible by train.grad_accum (3)"},
      {{"--train.keep_checkpoints=0"}, "train.keep_checkpoints must be >= 1, got 0"},
      {{"--train.eval_batches=0"}, "train.eval_batches must be >= 1, got 0"},
      {{"--train.exit_interval=-1"}, "train.exit_interval must be >= 0, got -1"},
      {{"--train.device=gpu"}, "train.device must be auto, cpu or cuda, got 'gpu'"},
      {{"--train.precision=fp8"}, "train.precision must be fp32 or bf16, got 'fp8'"},
      {{"--train.gpu_memory_fraction=1.5"}, "train.gpu_memory_fraction must be in (0, 1], got 1.5"},
      {{"--train.gpu_memory_fraction=0"}, "train.gpu_memory_fraction must be in (0, 1], got 0"},
      {{"--log.every=0"}, "log.every must be >= 1, got 0"},
      {{"--optim.schedule=linear"},
       "optim.schedule must be cosine, noam or constant, got 'linear'"},
      {{"--train.steps=50"},
       "optim.warmup (100) must not exceed train.steps (50) with the cosine schedule"},
      {{"--log.progress=loud"}, "log.progress must be auto, plain or none, got 'loud'"},
      {{"--parallel.tp=0"}, "parallel.tp must be >= 1, got 0"},
      {{"--parallel.simulate_ranks=65"}, "parallel.simulate_ranks must be in [0, 64], got 65"},
      {{"--parallel.simulate-ranks=-1"}, "parallel.simulate_ranks must be in [0, 64], got -1"},
      {{"--parallel.bucket_mb=0"}, "parallel.bucket_mb must be positive, got 0"},
      {{"--parallel.timeout_s=-1"}, "parallel.timeout_s must be >= 0, got -1"},
      // Added with the table.
      {{"--train.grad_accum=0"}, "train.grad_accum must be positive, got 0"},
      {{"--train.eval_every=-1"}, "train.eval_every must be >= 0, got -1"},
      {{"--train.sample_every=-5"}, "train.sample_every must be >= 0, got -5"},
      {{"--train.checkpoint_every=-1"}, "train.checkpoint_every must be >= 0, got -1"},
      {{"--optim.lr=0"}, "optim.lr must be positive, got 0"},
      {{"--optim.lr=-0.001"}, "optim.lr must be positive, got -0.001"},
      {{"--optim.min_lr=-0.5"}, "optim.min_lr must be >= 0, got -0.5"},
      {{"--optim.warmup=-1"}, "optim.warmup must be >= 0, got -1"},
      {{"--optim.noam_factor=0"}, "optim.noam_factor must be positive, got 0"},
      {{"--optim.beta1=1.5"}, "optim.beta1 must be in [0, 1), got 1.5"},
      {{"--optim.beta1=-0.1"}, "optim.beta1 must be in [0, 1), got -0.1"},
      {{"--optim.beta2=1"}, "optim.beta2 must be in [0, 1), got 1"},
      {{"--optim.eps=0"}, "optim.eps must be positive, got 0"},
      {{"--optim.weight_decay=-0.1"}, "optim.weight_decay must be >= 0, got -0.1"},
      {{"--optim.grad_clip=-1"}, "optim.grad_clip must be >= 0, got -1"},
      {{"--model.d_model=0"}, "model.d_model must be >= 1, got 0"},
      {{"--model.n_heads=0"}, "model.n_heads must be >= 1, got 0"},
      {{"--model.d_ff=-4"}, "model.d_ff must be >= 1, got -4"},
      {{"--model.n_layers=0"}, "model.n_layers must be >= 1, got 0"},
      {{"--model.max_seq_len=0"}, "model.max_seq_len must be >= 1, got 0"},
      {{"--model.n_encoder_layers=-1"}, "model.n_encoder_layers must be >= 0, got -1"},
      {{"--model.dropout=1"}, "model.dropout must be in [0, 1), got 1"},
      {{"--model.label_smoothing=-0.1"}, "model.label_smoothing must be in [0, 1), got -0.1"},
      {{"--model.init_std=0"}, "model.init_std must be positive, got 0"},
      // An unsigned value: Boost alone would read -1 as 2^64 - 1.
      {{"--train.seed=-1"}, "the argument ('-1') for option '--train.seed' is invalid"},
  };
  for (const Case& c : cases) {
    std::string args;
    for (const std::string& a : c.args) args += a + " ";
    EXPECT_EQ(refusal(c.args), c.message) << args;
  }
  // The edges that are allowed.
  EXPECT_EQ(
      refusal({"--optim.beta1=0", "--optim.weight_decay=0", "--optim.min_lr=0", "--optim.warmup=0",
               "--optim.grad_clip=0", "--train.eval_every=0", "--train.sample_every=0",
               "--train.checkpoint_every=0", "--model.dropout=0", "--model.n_encoder_layers=0",
               "--train.gpu_memory_fraction=1", "--parallel.simulate_ranks=64"}),
      "");
}

TEST(RunConfig, EnumKeysTakeTheModelsWords) {
  EXPECT_EQ(parse({"--model.norm=pre"}).model.norm, NormPlacement::Pre);
  EXPECT_EQ(parse({"--model.norm=post"}).model.norm, NormPlacement::Post);
  EXPECT_EQ(parse({"--model.activation=relu"}).model.activation, ops::Activation::ReLU);
  EXPECT_EQ(parse({"--model.activation=gelu"}).model.activation, ops::Activation::GELU);
  EXPECT_EQ(parse({"--model.positions=learned"}).model.positions, PositionEncoding::Learned);
  EXPECT_EQ(parse({"--model.positions=sinusoidal"}).model.positions, PositionEncoding::Sinusoidal);
  EXPECT_EQ(parse({}).model.sinusoid_layout, ops::SinusoidLayout::Interleaved);
  EXPECT_EQ(parse({"--model.sinusoid_layout=halves"}).model.sinusoid_layout,
            ops::SinusoidLayout::Halves);
  // Every word the model layer knows is accepted and written back as given.
  for (const auto& [value, word] : enum_names<NormPlacement>()) {
    EXPECT_EQ(parse({std::string("--model.norm=") + word}).to_json()["model"]["norm"], word);
  }

  EXPECT_EQ(refusal({"--model.norm=middle"}), "model.norm must be 'pre' or 'post', got 'middle'");
  EXPECT_EQ(refusal({"--model.activation=swish"}),
            "model.activation must be 'relu' or 'gelu', got 'swish'");
  EXPECT_EQ(parse({"--model.positions=rotary"}).model.positions, PositionEncoding::Rotary);
  EXPECT_EQ(parse({"--model.norm_type=rmsnorm"}).model.norm_type, NormType::RMSNorm);
  EXPECT_EQ(parse({"--model.ffn=swiglu"}).model.ffn, FeedForwardType::SwiGLU);
  EXPECT_EQ(refusal({"--model.positions=spiral"}),
            "model.positions must be 'learned', 'sinusoidal' or 'rotary', got 'spiral'");
  EXPECT_EQ(refusal({"--model.ffn=geglu"}), "model.ffn must be 'mlp' or 'swiglu', got 'geglu'");
  EXPECT_EQ(refusal({"--model.sinusoid_layout=split"}),
            "model.sinusoid_layout must be 'interleaved' or 'halves', got 'split'");
  EXPECT_EQ(refusal({"--model.norm=Pre"}), "model.norm must be 'pre' or 'post', got 'Pre'");

  const std::string help = help_text();
  EXPECT_NE(help.find("layer norm placement: pre | post"), std::string::npos) << help;
  EXPECT_NE(help.find("feed-forward activation: relu | gelu"), std::string::npos) << help;
  EXPECT_NE(help.find("position encoding: learned | sinusoidal"), std::string::npos) << help;
  EXPECT_NE(help.find("layernorm | rmsnorm"), std::string::npos) << help;
  EXPECT_NE(help.find("mlp | swiglu"), std::string::npos) << help;
}

TEST(RunConfig, SimulateRanksHasTwoSpellingsButOneValue) {
  EXPECT_EQ(parse({"--parallel.simulate-ranks", "4"}).simulate_ranks, 4);
  EXPECT_EQ(parse({"--parallel.simulate_ranks", "4"}).simulate_ranks, 4);
  EXPECT_EQ(refusal({"--parallel.simulate-ranks", "4", "--parallel.simulate_ranks", "2"}),
            "give parallel.simulate-ranks or parallel.simulate_ranks, not both");
  EXPECT_FALSE(
      parse({"--parallel.simulate-ranks", "4"}).to_json()["parallel"].contains("simulate-ranks"));
}

// A key cannot be declared but not written, nor written without a row.
TEST(RunConfig, EveryRowIsInHelpAndInTheJson) {
  const std::string help = help_text();
  const nlohmann::json j = parse({}).to_json();
  std::set<std::string> rows;
  for (const auto& option : run_option_table().options()) {
    rows.insert(option.name);
    EXPECT_NE(help.find("--" + option.name + " "), std::string::npos) << option.name;
    if (!option.alias.empty()) {
      EXPECT_NE(help.find("--" + option.alias + " "), std::string::npos) << option.alias;
    }
    ASSERT_TRUE(j.contains(section_of(option.name))) << option.name;
    EXPECT_TRUE(j[section_of(option.name)].contains(key_of(option.name))) << option.name;
  }
  EXPECT_EQ(rows.size(), run_option_table().options().size()) << "a key is declared twice";
  // The JSON holds nothing else, bar the model fields no key sets (vocabulary
  // sizes come from the data).
  const nlohmann::json model_fields = to_json(ModelConfig{});
  for (const auto& [section, keys] : j.items()) {
    for (const auto& [key, value] : keys.items()) {
      if (section == "model" && model_fields.contains(key)) continue;
      EXPECT_TRUE(rows.count(section + "." + key)) << section << "." << key << " has no row";
    }
  }
}

}  // namespace
}  // namespace weft::cli
