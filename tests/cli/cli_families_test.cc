// The LLaMA-style decoder and the BERT masked LM end to end through the
// executable: prepare, train, resume, eval, generate or fill, export; and the
// refusals a user meets first (a tensor-parallel size that does not divide
// the key/value heads, data without [MASK]).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_testing.h"

namespace weft::testing {
namespace {

using CliFamilies = CliTest;

const std::string kTinyLlama =
    "train --model.preset tiny-llama --model.max_seq_len 32 --data.dataset data/corpus "
    "--data.batch_size 8 --data.seq_len 32 --optim.lr 3e-3 --optim.warmup 0 "
    "--train.eval_every 20 --train.sample_every 0 --train.checkpoint_every 20 ";

TEST_F(CliFamilies, LlamaTrainsResumesGeneratesAndExports) {
  write_file(dir_ / "corpus.txt", small_corpus());
  ASSERT_EQ(weft("prepare --input corpus.txt --out data/corpus").exit_code, 0);
  const CommandResult first = weft(kTinyLlama + "--train.steps 40 --train.out runs/straight");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const std::vector<double> straight = train_losses(dir_ / "runs/straight/metrics.jsonl");
  ASSERT_EQ(straight.size(), 4u);  // log.every 10
  EXPECT_LT(straight.back(), straight.front()) << first.output;

  // Stopped at step 20 and resumed: the same losses as the uninterrupted run.
  ASSERT_EQ(weft(kTinyLlama + "--train.steps 40 --train.exit_interval 20 --train.out runs/resumed")
                .exit_code,
            0);
  const CommandResult resumed =
      weft(kTinyLlama + "--train.steps 40 --train.out runs/resumed --train.resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  const std::vector<double> losses = train_losses(dir_ / "runs/resumed/metrics.jsonl");
  ASSERT_EQ(losses.size(), straight.size());
  for (size_t i = 0; i < losses.size(); ++i) EXPECT_EQ(losses[i], straight[i]) << i;

  const CommandResult generated =
      weft("generate --checkpoint runs/straight --prompt ab --max-new-tokens 12 --temperature 0");
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  const CommandResult exported =
      weft("export --checkpoint runs/straight --format hf-llama --out hf");
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  const nlohmann::json config = nlohmann::json::parse(read_file(dir_ / "hf/config.json"));
  EXPECT_EQ(config["model_type"], "llama");
  EXPECT_EQ(config["num_key_value_heads"], 2);
  // A GPT-2 export of a LLaMA-shaped model is refused by what differs.
  const CommandResult gpt2 = weft("export --checkpoint runs/straight --format hf-gpt2 --out g");
  EXPECT_EQ(gpt2.exit_code, 2);
  EXPECT_NE(gpt2.output.find("positions are rotary, not learned"), std::string::npos)
      << gpt2.output;
}

TEST_F(CliFamilies, TensorParallelismMustDivideTheKeyValueHeads) {
  write_file(dir_ / "corpus.txt", small_corpus());
  ASSERT_EQ(weft("prepare --input corpus.txt --out data/corpus").exit_code, 0);
  // tiny-llama: 4 query heads over 2 key/value heads.
  expect_refused(kTinyLlama + "--train.steps 2 --train.out runs/r --parallel.simulate_ranks 4 "
                              "--parallel.tp 4",
                 {"model.n_kv_heads = 2", "parallel.tp = 4"});
  expect_refused(kTinyLlama + "--train.steps 2 --train.out runs/r --model.n_kv_heads 3",
                 {"model.n_kv_heads (3) must divide model.n_heads (4)"});
}

const std::string kTinyBert =
    "train --model.preset tiny-bert --model.max_seq_len 32 --data.dataset data/mlm "
    "--data.batch_size 8 --data.seq_len 32 --optim.lr 3e-3 --optim.warmup 0 "
    "--train.eval_every 30 --train.sample_every 0 --train.checkpoint_every 30 ";

TEST_F(CliFamilies, MaskedLmTrainsEvaluatesFillsAndExports) {
  write_file(dir_ / "corpus.txt", small_corpus());
  ASSERT_EQ(weft("prepare --input corpus.txt --mlm-specials --out data/mlm").exit_code, 0);
  const CommandResult train = weft(kTinyBert + "--train.steps 60 --train.out runs/bert");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  EXPECT_NE(train.output.find("held-out masked tokens"), std::string::npos) << train.output;
  const std::vector<double> losses = train_losses(dir_ / "runs/bert/metrics.jsonl");
  ASSERT_FALSE(losses.empty());
  EXPECT_LT(losses.back(), losses.front()) << train.output;

  const CommandResult eval = weft("eval --checkpoint runs/bert --split val --batches 4");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  const nlohmann::json result =
      nlohmann::json::parse(eval.output.substr(eval.output.rfind('{')));
  EXPECT_GT(result["masked_tokens"].get<int64_t>(), 0);
  // The patterned corpus is easy: far better than one guess in 20 characters.
  EXPECT_GT(result["mlm_accuracy"].get<double>(), 0.15) << eval.output;

  const CommandResult fill = weft("fill --checkpoint runs/bert --text 'ab[MASK]d' --top-k 3");
  ASSERT_EQ(fill.exit_code, 0) << fill.output;
  int candidates = 0;
  for (size_t at = fill.output.find('\n'); at != std::string::npos;
       at = fill.output.find('\n', at + 1)) {
    ++candidates;
  }
  EXPECT_EQ(candidates, 3) << fill.output;
  EXPECT_EQ(weft("fill --checkpoint runs/bert --text 'abcd'").exit_code, 2);

  const CommandResult exported = weft("export --checkpoint runs/bert --format hf-bert --out hf");
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  const nlohmann::json config = nlohmann::json::parse(read_file(dir_ / "hf/config.json"));
  EXPECT_EQ(config["model_type"], "bert");
  EXPECT_EQ(config["type_vocab_size"], 2);
  // A masked LM neither continues text nor translates it.
  for (const char* command : {"generate --checkpoint runs/bert --prompt ab",
                              "translate --checkpoint runs/bert --input corpus.txt"}) {
    const CommandResult refused = weft(command);
    EXPECT_EQ(refused.exit_code, 2) << command;
    EXPECT_NE(refused.output.find("holds an encoder-only model: use 'weft fill'"),
              std::string::npos)
        << refused.output;
  }
}

TEST_F(CliFamilies, AMaskedLmNeedsDataWithMaskTokens) {
  write_file(dir_ / "corpus.txt", small_corpus());
  ASSERT_EQ(weft("prepare --input corpus.txt --out data/mlm").exit_code, 0);
  expect_refused(kTinyBert + "--train.steps 2 --train.out runs/r", {"--mlm-specials"});
}

}  // namespace
}  // namespace weft::testing
