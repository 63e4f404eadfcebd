// weft eval on an outside test set (--source, --reference, --output): the
// translations weft translate gives, scored by BLEU and chrF2 as sacreBLEU
// prints them; and each refusal of a test set that makes no sense.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_testing.h"
#include "weft/data/builtin.h"
#include "weft/inference/metric_signature.h"

namespace weft::testing {
namespace {

using Lines = std::vector<std::string>;
using CliEval = CliTest;

Lines lines_of(const std::string& text) {
  Lines lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A tiny encoder-decoder on the built-in numbers task: a few steps, so its
// translations are poor but real.
const std::string kTinyTranslation =
    "train --model.preset tiny-encoder-decoder --model.max_seq_len 96 "
    "--data.dataset builtin:numbers "
    "--data.batch_size 4 --train.steps 3 --optim.warmup 0 --train.eval_every 0 "
    "--train.sample_every 0 --train.checkpoint_every 0 --train.out runs/t";

TEST_F(CliEval, TranslatesAndScoresAnOutsideTestSet) {
  ASSERT_EQ(weft(kTinyTranslation).exit_code, 0);
  Lines references;
  std::string sources;
  for (int64_t n : {7, 42, 1984, 31337, 250000}) {
    sources += std::to_string(n) + "\n";
    references.push_back(number_to_words(n));
  }
  write_file(dir_ / "test.src", sources);
  std::string reference_text;
  for (const std::string& r : references) reference_text += r + "\n";
  write_file(dir_ / "test.ref", reference_text);

  const CommandResult eval = weft(
      "eval --checkpoint runs/t --source test.src --reference test.ref --beam 2 --alpha 0.8 "
      "--batch 2 --output hyp.txt");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  const Lines hypotheses = lines_of(read_file(dir_ / "hyp.txt"));
  ASSERT_EQ(hypotheses.size(), references.size()) << eval.output;
  // The translations are weft translate's, line for line.
  const CommandResult translate =
      weft("translate --checkpoint runs/t --input test.src --beam 2 --alpha 0.8");
  ASSERT_EQ(translate.exit_code, 0) << translate.output;
  EXPECT_EQ(lines_of(translate.output), hypotheses);

  // The scores are those of the written file, printed as sacreBLEU prints them.
  const std::string bleu = bleu_line(corpus_bleu(hypotheses, references));
  const std::string chrf = chrf_line(corpus_chrf(hypotheses, references));
  EXPECT_NE(eval.output.find(bleu + "\n"), std::string::npos) << bleu << "\n" << eval.output;
  EXPECT_NE(eval.output.find(chrf + "\n"), std::string::npos) << chrf << "\n" << eval.output;
  EXPECT_NE(eval.output.find("test.src: 5 sentences translated in "), std::string::npos)
      << eval.output;
  EXPECT_NE(eval.output.find(" sentences/s, "), std::string::npos) << eval.output;
  EXPECT_NE(eval.output.find(" target tokens/s"), std::string::npos) << eval.output;
  const nlohmann::json result = nlohmann::json::parse(eval.output.substr(eval.output.rfind('{')));
  EXPECT_EQ(result["sentences"].get<int64_t>(), 5);
  EXPECT_EQ(result["beam"].get<int64_t>(), 2);
  EXPECT_DOUBLE_EQ(result["bleu"].get<double>(), corpus_bleu(hypotheses, references).score);
  EXPECT_DOUBLE_EQ(result["chrf"].get<double>(), corpus_chrf(hypotheses, references).score);
  EXPECT_EQ(result["bleu_signature"].get<std::string>(), bleu_signature());
  EXPECT_EQ(result["chrf_signature"].get<std::string>(), chrf_signature());
  EXPECT_GT(result["target_tokens"].get<int64_t>(), 0);

  // The split of the run's own dataset still serves, now with chrF2 too.
  const CommandResult split = weft("eval --checkpoint runs/t --max-sentences 4");
  ASSERT_EQ(split.exit_code, 0) << split.output;
  EXPECT_NE(split.output.find("val split: BLEU "), std::string::npos) << split.output;
  EXPECT_NE(split.output.find(", chrF2 "), std::string::npos) << split.output;
  EXPECT_NE(split.output.find("chrF2|" + chrf_signature() + " = "), std::string::npos)
      << split.output;
  const nlohmann::json split_result =
      nlohmann::json::parse(split.output.substr(split.output.rfind('{')));
  EXPECT_EQ(split_result["sentences"].get<int64_t>(), 4);
  EXPECT_TRUE(split_result.contains("chrf")) << split.output;
}

// Refused before any checkpoint is read: no run needs to exist.
TEST_F(CliEval, RefusesTestSetsThatMakeNoSense) {
  write_file(dir_ / "three.src", "1\n2\n3\n");
  write_file(dir_ / "three.ref", "one\ntwo\nthree\n");
  write_file(dir_ / "two.ref", "one\ntwo\n");
  expect_refused("eval --checkpoint runs/none --source three.src", {"--source needs --reference"});
  expect_refused("eval --checkpoint runs/none --reference three.ref",
                 {"--reference needs --source"});
  expect_refused("eval --checkpoint runs/none --output hyp.txt", {"--output needs --source"});
  expect_refused("eval --checkpoint runs/none --source missing.src --reference three.ref",
                 {"--source 'missing.src' cannot be read"});
  expect_refused("eval --checkpoint runs/none --source three.src --reference missing.ref",
                 {"--reference 'missing.ref' cannot be read"});
  expect_refused("eval --checkpoint runs/none --source three.src --reference two.ref",
                 {"--source 'three.src' has 3 lines but --reference 'two.ref' has 2"});
  expect_refused("eval --checkpoint runs/none --source three.src --reference three.ref --batch 0",
                 {"--batch must be >= 1, got 0"});
  expect_refused("eval --checkpoint runs/none --batch 4", {"--batch needs --source"});
  expect_refused(
      "eval --checkpoint runs/none --source three.src --reference three.ref --split train",
      {"--split chooses what a split evaluates: it has no use with --source"});
}

TEST_F(CliEval, SourceOnALanguageModelIsRefused) {
  write_file(dir_ / "corpus.txt", small_corpus());
  ASSERT_EQ(weft("prepare --input corpus.txt --out data/corpus").exit_code, 0);
  ASSERT_EQ(weft("train " + kTinyLm + " --train.steps 5 --train.out runs/lm").exit_code, 0);
  write_file(dir_ / "test.src", "the\n");
  write_file(dir_ / "test.ref", "the\n");
  const CommandResult r = weft("eval --checkpoint runs/lm --source test.src --reference test.ref");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("holds a decoder-only model: --source needs a translation "
                          "(encoder-decoder) checkpoint"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace weft::testing
