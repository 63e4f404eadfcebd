// Multi-rank training through the executable: simulated ranks and real MPI
// processes give the single-rank run's losses, and layouts that do not
// divide are refused at start-up with the numbers.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "cli_testing.h"

namespace weft::testing {
namespace {

namespace fs = std::filesystem;

// A function, not a constant: kTinyLm lives in another translation unit.
std::string run_options() {
  return kTinyLm + " --train.steps 6 --model.dropout 0.1";
}

class CliParallel : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    write_file(dir_ / "corpus.txt", small_corpus());
    const CommandResult r = weft("prepare --input corpus.txt --out data/corpus");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const CommandResult one = weft("train " + run_options() + " --train.out runs/one");
    ASSERT_EQ(one.exit_code, 0) << one.output;
    reference_ = train_losses(dir_ / "runs/one/metrics.jsonl");
    ASSERT_EQ(reference_.size(), 6u);
  }

  void expect_reference_losses(const std::string& run) {
    const std::vector<double> losses = train_losses(dir_ / run / "metrics.jsonl");
    ASSERT_EQ(losses.size(), reference_.size()) << run;
    for (size_t i = 0; i < losses.size(); ++i) {
      EXPECT_NEAR(losses[i], reference_[i], 1e-5 * std::abs(reference_[i]))
          << run << ", step " << i + 1;
    }
  }

  std::vector<double> reference_;
};

TEST_F(CliParallel, SimulatedRanksTrainAsOneRank) {
  const CommandResult dp = weft("train " + run_options() + " --parallel.simulate_ranks 2 --train.out runs/dp");
  ASSERT_EQ(dp.exit_code, 0) << dp.output;
  EXPECT_NE(dp.output.find("layout: 2 ranks = dp 2 x tp 1"), std::string::npos) << dp.output;
  expect_reference_losses("runs/dp");

  const CommandResult both =
      weft("train " + run_options() + " --parallel.simulate-ranks 4 --parallel.tp 2 --train.out runs/both");
  ASSERT_EQ(both.exit_code, 0) << both.output;
  expect_reference_losses("runs/both");
}

TEST_F(CliParallel, MpirunTwoByTwoTrainsAsOneRank) {
  ASSERT_EQ(std::system("command -v mpirun > /dev/null 2>&1"), 0)
      << "mpirun is not installed: launch/install-deps.sh installs Open MPI";
  const CommandResult r = run_shell(
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 "
      "mpirun -np 4 --oversubscribe " + std::string(WEFT_BINARY) + " train " + run_options() +
          " --parallel.tp 2 --train.out runs/mpi < /dev/null",
      dir_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("layout: 4 ranks = dp 2 x tp 2"), std::string::npos) << r.output;
  expect_reference_losses("runs/mpi");
}

// ZeRO-1 across processes: MPI's in-place reduce-scatter and all-gather, and
// every rank writing its part of the optimizer state; with sequence
// parallelism, and full activation recompute, whose forward runs again (with
// its TP collectives) in backward.
TEST_F(CliParallel, MpirunTwoByTwoWithZeroSequenceParallelAndRecomputeTrainsAsOneRank) {
  const CommandResult r = run_shell(
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 "
      "mpirun -np 4 --oversubscribe " + std::string(WEFT_BINARY) + " train " + run_options() +
          " --parallel.tp 2 --parallel.zero 1 --train.recompute full "
          "--parallel.sequence_parallel true --train.out runs/zero "
          "< /dev/null",
      dir_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_reference_losses("runs/zero");
  bool parts = false;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_ / "runs/zero")) {
    parts = parts || e.path().filename() == "optimizer-tp01-of-02-dp01-of-02.safetensors";
  }
  EXPECT_TRUE(parts) << "no optimizer part of rank (tp 1, dp 1) under runs/zero/checkpoints";
}

// The shipped configs, as a user runs them: the numbers corpus's 33-token
// vocabulary divides by no tp > 1 and is padded; a translation batch's
// data-parallel halves are each padded to their own longest sentence, and
// dropout must not notice.
class CliShippedLayouts : public CliTest {
 protected:
  std::vector<double> losses(const std::string& config, const std::string& options,
                             const std::string& run) {
    const CommandResult r = weft("train --config " + std::string(WEFT_SOURCE_DIR) + "/configs/" +
                                 config + " --train.steps 4 --optim.warmup 1 --train.eval_every 0 "
                                 "--train.checkpoint_every 0 --log.every 1 --log.progress plain "
                                 "--train.out " + run + " " + options);
    EXPECT_EQ(r.exit_code, 0) << options << "\n" << r.output;
    return train_losses(dir_ / run / "metrics.jsonl");
  }
  void expect_same(const std::vector<double>& losses, const std::vector<double>& reference,
                   const std::string& what) {
    ASSERT_EQ(losses.size(), reference.size()) << what;
    ASSERT_FALSE(reference.empty()) << what;
    for (size_t i = 0; i < losses.size(); ++i) {
      EXPECT_NEAR(losses[i], reference[i], 1e-5 * std::abs(reference[i])) << what << ", step " << i + 1;
    }
  }
};

TEST_F(CliShippedLayouts, TinyGptOnAVocabularyNoTpDividesTrainsAsOneRank) {
  const std::vector<double> one = losses("tiny-gpt.ini", "", "runs/one");
  expect_same(losses("tiny-gpt.ini", "--parallel.simulate_ranks 4 --parallel.tp 2", "runs/tp2"),
              one, "dp 2 x tp 2");
  // The multiple itself does not change the function either.
  expect_same(losses("tiny-gpt.ini", "--model.vocab_multiple 1", "runs/unpadded"), one,
              "vocab_multiple 1");
}

TEST_F(CliShippedLayouts, TranslationDropoutDoesNotDependOnEachRanksPadding) {
  const std::string options = "--model.dropout 0.1 --data.batch_size 16";
  const std::vector<double> one = losses("numbers.ini", options, "runs/one");
  expect_same(losses("numbers.ini", options + " --parallel.simulate_ranks 2", "runs/dp2"), one,
              "dp 2");
  expect_same(losses("numbers.ini", options + " --parallel.simulate_ranks 4 --parallel.tp 2",
                     "runs/dp2tp2"),
              one, "dp 2 x tp 2");
  // Training on split rows, then evaluation and translation on whole sequences.
  expect_same(losses("numbers.ini", options + " --parallel.simulate_ranks 4 --parallel.tp 2 "
                                              "--parallel.sequence_parallel true",
                     "runs/sp"),
              one, "dp 2 x tp 2, sequence parallel");
}

// Token-budget batches: the ranks take shares of the same global batches,
// uneven when a batch's pairs do not divide (dp 3), with dropout keyed by
// global row; micro-batches accumulate.
TEST_F(CliShippedLayouts, TranslationTokenBudgetsTrainAsOneRankUnderAnyLayout) {
  const std::string options = "--model.dropout 0.1 --data.max_tokens 300 --train.grad_accum 2";
  const std::vector<double> one = losses("numbers.ini", options, "runs/one");
  expect_same(losses("numbers.ini", options + " --parallel.simulate_ranks 2", "runs/dp2"), one,
              "dp 2");
  expect_same(losses("numbers.ini", options + " --parallel.simulate_ranks 3", "runs/dp3"), one,
              "dp 3");
  expect_same(losses("numbers.ini", options + " --parallel.simulate_ranks 4 --parallel.tp 2",
                     "runs/dp2tp2"),
              one, "dp 2 x tp 2");
}

// train.epochs sets the steps from the epochs' token-budget batches; each
// epoch is announced with its batches; a run stopped mid-epoch resumes with
// exactly the next batch.
TEST_F(CliShippedLayouts, TokenBudgetEpochsSetTheStepsAndResumeExactlyMidEpoch) {
  // 300 pairs of 2..13 characters a side: about 10 batches of 600 positions an epoch.
  std::string source, target;
  for (int i = 0; i < 300; ++i) {
    source += std::string(1 + i % 12, static_cast<char>('a' + i % 7)) + "\n";
    target += std::string(1 + (i * 5) % 12, static_cast<char>('h' + i % 5)) + "\n";
  }
  write_file(dir_ / "pairs.src", source);
  write_file(dir_ / "pairs.tgt", target);
  const CommandResult prepared =
      weft("prepare --source pairs.src --target pairs.tgt --tokenizer char --out data/pairs");
  ASSERT_EQ(prepared.exit_code, 0) << prepared.output;
  const std::string run = "train --config " + std::string(WEFT_SOURCE_DIR) +
                          "/configs/numbers.ini --data.dataset data/pairs --data.max_tokens 600 "
                          "--train.epochs 2 --optim.warmup 1 --train.eval_every 0 "
                          "--train.sample_every 0 --train.checkpoint_every 0 --log.every 1 "
                          "--log.progress plain ";
  const CommandResult straight = weft(run + "--train.out runs/straight");
  ASSERT_EQ(straight.exit_code, 0) << straight.output;
  // "epoch E: B batches, ..." for both epochs; the steps are their sum.
  int64_t batches = 0;
  for (const char* epoch : {"epoch 0: ", "epoch 1: "}) {
    const size_t at = straight.output.find(epoch);
    ASSERT_NE(at, std::string::npos) << epoch << "\n" << straight.output;
    batches += std::stoll(straight.output.substr(at + std::string(epoch).size()));
  }
  const std::vector<double> losses = train_losses(dir_ / "runs/straight/metrics.jsonl");
  ASSERT_EQ(static_cast<int64_t>(losses.size()), batches);
  EXPECT_NE(straight.output.find("step " + std::to_string(batches) + "/" + std::to_string(batches) +
                                 "  epoch 2.00"),
            std::string::npos)
      << straight.output;

  const int64_t stop = batches / 2 + 1;  // inside the second epoch
  const CommandResult first =
      weft(run + "--train.exit_interval " + std::to_string(stop) + " --train.out runs/split");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const CommandResult second = weft(run + "--train.resume --train.out runs/split");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  const std::vector<double> split = train_losses(dir_ / "runs/split/metrics.jsonl");
  ASSERT_EQ(split.size(), losses.size());
  for (size_t i = 0; i < losses.size(); ++i) EXPECT_EQ(split[i], losses[i]) << "step " << i + 1;
}

TEST_F(CliParallel, LayoutsThatDoNotDivideAreRefused) {
  struct Case {
    std::string options, message;
  };
  const Case cases[] = {
      {"--parallel.simulate_ranks 3 --parallel.tp 2", "parallel.tp = 2 does not divide the world of 3"},
      {"--parallel.simulate_ranks 4 --parallel.tp 4", "model.n_heads = 2 does not divide across parallel.tp = 4"},
      {"--parallel.simulate_ranks 3", "micro-batch of 8 sequences"},
      {"--parallel.tp 2", "parallel.tp = 2 needs 2 ranks or more"},
      {"--parallel.simulate_ranks 2 --parallel.sequence_parallel true",
       "parallel.sequence_parallel needs parallel.tp > 1"},
  };
  for (const Case& c : cases) {
    const CommandResult r = weft("train " + run_options() + " " + c.options + " --train.out runs/refused");
    EXPECT_EQ(r.exit_code, 2) << c.options << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.options << "\n" << r.output;
    EXPECT_FALSE(fs::exists(dir_ / "runs/refused/metrics.jsonl")) << c.options;
  }
}

}  // namespace
}  // namespace weft::testing
