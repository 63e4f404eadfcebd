// The built-in translation task end to end: train the default model on
// numbers written in digits -> English words, then check held-out accuracy
// and the translate command.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli_testing.h"
#include "weft/data/builtin.h"

namespace weft::testing {
namespace {

TEST_F(CliTest, BuiltinTranslationReachesExactMatchOnHeldOutNumbers) {
  const CommandResult train =
      weft("train --train.out runs/numbers --train.steps 1000 --train.eval_every 0 "
           "--train.sample_every 0 --train.checkpoint_every 0 --log.every 100 --log.progress plain");
  ASSERT_EQ(train.exit_code, 0) << train.output;

  const CommandResult eval = weft("eval --checkpoint runs/numbers --beam 1 --max-extra 100");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  const nlohmann::json result = nlohmann::json::parse(eval.output.substr(eval.output.rfind('{')));
  EXPECT_EQ(result["sentences"].get<int64_t>(), 500);
  EXPECT_GE(result["exact_match"].get<double>(), 0.95) << eval.output;
  EXPECT_GE(result["bleu"].get<double>(), 90.0) << eval.output;

  // translate: one output line per input line, beam search.
  const std::vector<int64_t> numbers = {7, 42, 1984, 31337, 250000, 908070};
  std::string input;
  for (int64_t n : numbers) input += std::to_string(n) + "\n";
  const CommandResult tr = weft("translate --checkpoint runs/numbers --beam 4 --max-extra 100", input);
  ASSERT_EQ(tr.exit_code, 0) << tr.output;
  std::istringstream lines(tr.output);
  std::string line;
  int correct = 0, count = 0;
  while (std::getline(lines, line)) correct += line == number_to_words(numbers[count++ % 6]);
  EXPECT_EQ(count, 6) << tr.output;
  EXPECT_GE(correct, 5) << tr.output;
}

}  // namespace
}  // namespace weft::testing
