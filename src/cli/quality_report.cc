#include "cli/quality_report.h"

#include "weft/data/shard.h"
#include "weft/inference/sampling.h"
#include "weft/inference/translation_score.h"
#include "weft/model/decoder_only.h"
#include "weft/model/encoder_decoder.h"

namespace weft::cli {
namespace {

// Held-out sentences decoded for the end-of-run figures: all of the built-in
// task's 500, and a bounded share of a large corpus (weft eval decodes all).
constexpr int64_t kQualitySentences = 500;

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
