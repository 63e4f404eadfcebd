#include "cli/quality_report.h"

#include <algorithm>

#include "weft/data/shard.h"
#include "weft/inference/beam_search.h"
#include "weft/model/decoder_only.h"
#include "weft/model/encoder_decoder.h"
#include "weft/inference/sampling.h"
#include "weft/inference/bleu.h"

namespace weft::cli {
namespace {

// The sentences of a translation shard: each one's tokens end with EOS.
std::vector<std::vector<int32_t>> read_sentences(const std::string& path, int32_t eos,
                                                 int64_t max_sentences) {
  const TokenShard shard(path);
  std::vector<std::vector<int32_t>> out(1);
  for (int64_t i = 0; i < shard.size(); ++i) {
    const int32_t t = shard[i];
    if (t == eos) {
      if (max_sentences > 0 && static_cast<int64_t>(out.size()) == max_sentences) return out;
      out.emplace_back();
    } else {
      out.back().push_back(t);
    }
  }
  out.pop_back();  // after the last EOS
  return out;
}

struct Translations {
  std::vector<std::string> sources, hypotheses, references;
};

Translations translate_split(EncoderDecoder& model, const DatasetInfo& data,
                             const std::string& split, int64_t beam, double alpha,
                             int64_t max_extra, int64_t max_sentences) {
  const Tokenizer& src_tok = *data.source_tokenizer;
  const Tokenizer& tgt_tok = *data.tokenizer;
  std::vector<std::vector<int32_t>> sources =
      read_sentences(data.shard_path(split, "src"), src_tok.eos_id(), max_sentences);
  const std::vector<std::vector<int32_t>> targets =
      read_sentences(data.shard_path(split, "tgt"), tgt_tok.eos_id(), max_sentences);
  BeamSearchOptions options;
  options.bos_id = tgt_tok.bos_id();
  options.eos_id = tgt_tok.eos_id();
  options.beam_size = beam;
  options.length_penalty = alpha;
  options.max_extra_length = max_extra;

  Translations t;
  constexpr size_t kChunk = 64;  // sources decoded together
  for (size_t begin = 0; begin < sources.size(); begin += kChunk) {
    std::vector<std::vector<int32_t>> chunk(
        sources.begin() + begin, sources.begin() + std::min(sources.size(), begin + kChunk));
    for (auto& s : chunk) {
      t.sources.push_back(src_tok.decode(s));
      s.push_back(src_tok.eos_id());  // as the loader feeds the encoder
    }
    for (const Hypothesis& h : beam_search(model, chunk, options)) {
      t.hypotheses.push_back(tgt_tok.decode(h.tokens));
    }
  }
  for (const auto& r : targets) t.references.push_back(tgt_tok.decode(r));
  return t;
}

// Held-out sentences decoded for the end-of-run figures: all of the built-in
// task's 500, and a bounded share of a large corpus (weft eval decodes all).
constexpr int64_t kQualitySentences = 500;

TranslationScore score(const Translations& t) {
  TranslationScore s;
  s.sentences = static_cast<int64_t>(t.hypotheses.size());
  s.exact_match = exact_match(t.hypotheses, t.references);
  s.bleu = corpus_bleu(t.hypotheses, t.references).score;
  return s;
}

}  // namespace

TranslationScore score_translations(Model& model, const DatasetInfo& data,
                                    const std::string& split, int64_t beam, double alpha,
                                    int64_t max_extra, int64_t max_sentences) {
  auto& enc_dec = dynamic_cast<EncoderDecoder&>(model);
  return score(translate_split(enc_dec, data, split, beam, alpha, max_extra, max_sentences));
}

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
                    Progress& progress) {
  if (!data.is_translation()) {
    show_samples(model, data, config, progress);
    return;
  }
  // Outputs may be as long as the model's context: the scores measure the
  // model, not a length limit.
  const Translations t = translate_split(dynamic_cast<EncoderDecoder&>(model), data, "val", 1,
                                         0.0, config.model.max_seq_len, kQualitySentences);
  const TranslationScore s = score(t);
  char line[160];
  std::snprintf(line, sizeof line,
                "held-out translations (greedy): first %ld sentences, exact match %.1f%%, BLEU %.2f",
                static_cast<long>(s.sentences), 100.0 * s.exact_match, s.bleu);
  progress.say(line);
  int shown = 0;
  for (size_t i = 0; i < t.hypotheses.size() && shown < 5; ++i) {
    if (t.hypotheses[i] == t.references[i]) continue;
    progress.say("  wrong: " + t.sources[i] + " -> " + t.hypotheses[i] + "   (expected " +
                 t.references[i] + ")");
    ++shown;
  }
  progress.record({{"event", "quality"}, {"split", "val"}, {"sentences", s.sentences},
                   {"exact_match", s.exact_match}, {"bleu", s.bleu}});
}

}  // namespace weft::cli
