// The data a run draws: weft prepare --mlm-specials, then an encoder-only
// model gets MlmLoader batches, and a dataset without MLM specials is refused
// before training starts.

#include "cli/run_data.h"

#include <gtest/gtest.h>

#include "cli_testing.h"
#include "support/error_testing.h"
#include "weft/data/mlm_loader.h"

namespace weft::testing {
namespace {

using RunData = CliTest;

cli::RunConfig encoder_only_config() {
  cli::RunConfig c;
  c.model.architecture = Architecture::EncoderOnly;
  c.model.max_seq_len = 16;
  c.batch_size = 4;
  c.seed = 3;
  return c;
}

TEST_F(RunData, EncoderOnlyModelsDrawMlmBatches) {
  write_file(dir_ / "corpus.txt", small_corpus());
  const CommandResult help = weft("prepare --help");
  EXPECT_NE(help.output.find("--mlm-specials"), std::string::npos) << help.output;
  const CommandResult r = weft("prepare --input corpus.txt --out data/mlm --mlm-specials");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const DatasetInfo data = cli::open_dataset((dir_ / "data/mlm").string());
  ASSERT_TRUE(data.tokenizer->has_mlm_specials());
  EXPECT_EQ(data.meta.at("tokenizer").at("mask_id"), data.tokenizer->mask_id());
  cli::RunConfig c = encoder_only_config();
  cli::fit_model_to_data(c.model, data);
  EXPECT_EQ(c.model.pad_id, data.tokenizer->pad_id());
  EXPECT_EQ(c.model.vocab_size, data.tokenizer->vocab_size());

  const auto stream = cli::make_stream(data, c, "train", true, 1, 2);
  ASSERT_NE(dynamic_cast<MlmLoader*>(stream.get()), nullptr);
  const Batch batch = stream->next();
  ASSERT_EQ(batch.input.shape(), (Shape{2, 16}));
  EXPECT_EQ(batch.input.data<int32_t>()[0], data.tokenizer->cls_id());
  EXPECT_EQ(batch.input.data<int32_t>()[15], data.tokenizer->sep_id());
  EXPECT_EQ(batch.global_row, 2);
  EXPECT_EQ(stream->state().at("loader"), "mlm");

  c.model.architecture = Architecture::DecoderOnly;
  EXPECT_EQ(dynamic_cast<MlmLoader*>(cli::make_stream(data, c, "train", true).get()), nullptr);
}

TEST_F(RunData, EncoderOnlyRefusesDataWithoutMlmSpecials) {
  write_file(dir_ / "corpus.txt", small_corpus());
  ASSERT_EQ(weft("prepare --input corpus.txt --out data/plain").exit_code, 0);
  const DatasetInfo data = cli::open_dataset((dir_ / "data/plain").string());
  cli::RunConfig c = encoder_only_config();
  const std::string message = error_of([&] { cli::fit_model_to_data(c.model, data); });
  EXPECT_NE(message.find("--mlm-specials"), std::string::npos) << message;
  EXPECT_NE(message.find("encoder-only"), std::string::npos) << message;
}

}  // namespace
}  // namespace weft::testing
