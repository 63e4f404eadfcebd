// Translation quality on a dataset split: translate_split decodes the
// split's sources in order, each with the EOS the loader appends, and
// score_translations counts exact matches, corpus BLEU and chrF2.

#include "weft/inference/translation_score.h"

#include "inference_testing.h"
#include "support/temp_dir.h"
#include "weft/data/prepare.h"
#include "weft/inference/beam_search.h"

namespace weft::testing {
namespace {

TEST(ScoreTranslations, CountsExactMatchesCorpusBleuAndChrf) {
  Translations t;
  t.hypotheses = {"the cat sat on the mat", "a dog ran in the park"};
  t.references = t.hypotheses;
  TranslationScore all = score_translations(t);
  EXPECT_EQ(all.sentences, 2);
  EXPECT_DOUBLE_EQ(all.exact_match, 1.0);
  EXPECT_NEAR(all.bleu.score, 100.0, 1e-9);
  EXPECT_NEAR(all.chrf.score, 100.0, 1e-9);

  t.hypotheses[1] = "a dog ran in a park";
  const TranslationScore half = score_translations(t);
  EXPECT_EQ(half.sentences, 2);
  EXPECT_DOUBLE_EQ(half.exact_match, 0.5);
  EXPECT_GT(half.bleu.score, 0.0);
  EXPECT_LT(half.bleu.score, 100.0);
  EXPECT_DOUBLE_EQ(half.chrf.score, corpus_chrf(t.hypotheses, t.references).score);
  EXPECT_LT(half.chrf.score, 100.0);
}

TEST(TranslateSplit, DecodesTheSplitsSourcesInOrderAsBeamSearchDoes) {
  TempDir dir;
  write_text(dir / "src.txt", "ab 1\nba 2\nab 3\n");
  write_text(dir / "tgt.txt", "xy 1\nyx 2\nxy 3\n");
  write_text(dir / "dev.src", "a 12\nbb 3\nab 21\n");
  write_text(dir / "dev.tgt", "x 12\nyy 3\nxy 21\n");
  PrepareTranslationOptions prepare;
  prepare.source = dir / "src.txt";
  prepare.target = dir / "tgt.txt";
  prepare.val_source = dir / "dev.src";
  prepare.val_target = dir / "dev.tgt";
  prepare.tokenizer.kind = "char";
  prepare.out_dir = dir / "data";
  const DatasetInfo data = prepare_translation(prepare);
  const Tokenizer& tok = *data.tokenizer;

  ModelConfig c = model_preset("tiny-encoder-decoder");
  c.vocab_size = tok.vocab_size();
  c.pad_id = tok.pad_id();
  c.max_seq_len = 16;
  auto model = tiny_model(c, 21);
  auto& translator = dynamic_cast<EncoderDecoder&>(*model);

  const Translations t = translate_split(translator, data, "val", 2, 0.6, 4, 0);
  EXPECT_EQ(t.sources, (std::vector<std::string>{"a 12", "bb 3", "ab 21"}));
  EXPECT_EQ(t.references, (std::vector<std::string>{"x 12", "yy 3", "xy 21"}));
  BeamSearchOptions options;
  options.bos_id = tok.bos_id();
  options.eos_id = tok.eos_id();
  options.beam_size = 2;
  options.length_penalty = 0.6;
  options.max_extra_length = 4;
  std::vector<std::vector<int32_t>> sources;
  for (const std::string& text : t.sources) {
    sources.push_back(tok.encode(text));
    sources.back().push_back(tok.eos_id());
  }
  const std::vector<Hypothesis> expected = beam_search(translator, sources, options);
  ASSERT_EQ(t.hypotheses.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(t.hypotheses[i], tok.decode(expected[i].tokens)) << "sentence " << i;
  }

  const Translations first_two = translate_split(translator, data, "val", 2, 0.6, 4, 2);
  EXPECT_EQ(first_two.sources, (std::vector<std::string>{"a 12", "bb 3"}));
  EXPECT_EQ(first_two.references, (std::vector<std::string>{"x 12", "yy 3"}));
  EXPECT_EQ(first_two.hypotheses.size(), 2u);
  EXPECT_EQ(score_translations(*model, data, "val", 2, 0.6, 4, 2).sentences, 2);
}

}  // namespace
}  // namespace weft::testing
