#include "cli/quality_report.h"

#include "cli/run_data.h"
#include "weft/data/mlm_loader.h"
#include "weft/data/shard.h"
#include "weft/inference/masked_lm_score.h"
#include "weft/inference/sampling.h"
#include "weft/inference/translation_score.h"
#include "weft/model/decoder_only.h"
#include "weft/model/encoder_decoder.h"

namespace weft::cli {
namespace {

// Held-out sentences decoded for the end-of-run figures: all of the built-in
// task's 500, and a bounded share of a large corpus (weft eval decodes all).
constexpr int64_t kQualitySentences = 500;

// One held-out window with its masked tokens, and the model's guesses in
// their places.
void show_fills(EncoderOnly& model, const DatasetInfo& data, const RunConfig& config,
                Progress& progress) {
  const int64_t seq = config.seq_len > 0 ? config.seq_len : config.model.max_seq_len;
  MlmLoader loader(data, "val", 1, seq, 0);
  const Batch batch = loader.next();
  model.forward(batch, StepContext{});
  const std::vector<double> logits = model.logits().to_double_vector();
  const int64_t V = model.logits().dim(2), T = batch.input.dim(1);
  std::vector<int32_t> masked(batch.input.data<int32_t>(), batch.input.data<int32_t>() + T);
  std::vector<int32_t> filled = masked;
  for (int64_t t = 0; t < T; ++t) {
    if (batch.target.data<int32_t>()[t] == kIgnoreIndex) continue;
    const double* row = logits.data() + t * V;
    filled[static_cast<size_t>(t)] = static_cast<int32_t>(std::max_element(row, row + V) - row);
  }
  const Tokenizer& tok = *data.tokenizer;
  progress.say("masked: " + tok.decode(masked));
  progress.say("filled: " + tok.decode(filled));
}

}  // namespace

void show_samples(Model& model, const DatasetInfo& data, const RunConfig& config,
                  Progress& progress) {
  if (auto* enc_dec = dynamic_cast<EncoderDecoder*>(&model)) {
    const Translations t =
        translate_split(*enc_dec, data, "val", 1, 0.0, config.model.max_seq_len, 3);
    for (size_t i = 0; i < t.hypotheses.size(); ++i) {
      const bool right = t.hypotheses[i] == t.references[i];
      progress.say("  " + t.sources[i] + " -> " + t.hypotheses[i] +
                   (right ? "" : "   (expected " + t.references[i] + ")"));
    }
    return;
  }
  if (auto* masked_lm = dynamic_cast<EncoderOnly*>(&model)) {
    show_fills(*masked_lm, data, config, progress);
    return;
  }
  auto& lm = dynamic_cast<DecoderOnly&>(model);
  const Tokenizer& tok = *data.tokenizer;
  const TokenShard val(data.shard_path("val"));
  const std::vector<int32_t> prompt = {val[0]};  // a token the vocabulary surely has
  SamplingOptions options;
  options.temperature = 0.8;
  options.seed = config.seed;
  progress.say("sample: " + tok.decode(generate(lm, prompt, 120, options)));
}

void report_quality(Model& model, const DatasetInfo& data, const RunConfig& config,
                    Progress& progress, int64_t step) {
  if (auto* masked_lm = dynamic_cast<EncoderOnly*>(&model)) {
    // The held-out masked tokens of the evaluation's batches.
    auto stream = make_stream(data, config, "val", false);
    const MaskedLmScore s = score_masked_lm(*masked_lm, *stream, config.eval_batches);
    char line[160];
    std::snprintf(line, sizeof line,
                  "held-out masked tokens: loss %.4f, accuracy %.2f%% (%ld of %ld, %ld batches)",
                  s.loss.mean(), 100.0 * s.accuracy(), static_cast<long>(s.correct),
                  static_cast<long>(s.loss.tokens), static_cast<long>(config.eval_batches));
    progress.say(line);
    progress.record({{"event", "quality"},
                     {"step", step},
                     {"split", "val"},
                     {"masked_tokens", s.loss.tokens},
                     {"mlm_accuracy", s.accuracy()}});
    show_fills(*masked_lm, data, config, progress);
    return;
  }
  if (!data.is_translation()) {
    show_samples(model, data, config, progress);
    return;
  }
  // Outputs may be as long as the model's context: the scores measure the
  // model, not a length limit.
  const Translations t = translate_split(dynamic_cast<EncoderDecoder&>(model), data, "val", 1, 0.0,
                                         config.model.max_seq_len, kQualitySentences);
  const TranslationScore s = score_translations(t);
  char line[160];
  std::snprintf(line, sizeof line,
                "held-out translations (greedy): first %ld sentences, exact match %.1f%%, BLEU "
                "%.2f, chrF2 %.2f",
                static_cast<long>(s.sentences), 100.0 * s.exact_match, s.bleu.score, s.chrf.score);
  progress.say(line);
  int shown = 0;
  for (size_t i = 0; i < t.hypotheses.size() && shown < 5; ++i) {
    if (t.hypotheses[i] == t.references[i]) continue;
    progress.say("  wrong: " + t.sources[i] + " -> " + t.hypotheses[i] + "   (expected " +
                 t.references[i] + ")");
    ++shown;
  }
  progress.record({{"event", "quality"},
                   {"step", step},
                   {"split", "val"},
                   {"sentences", s.sentences},
                   {"exact_match", s.exact_match},
                   {"bleu", s.bleu.score},
                   {"chrf", s.chrf.score}});
}

}  // namespace weft::cli
