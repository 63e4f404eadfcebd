#include "weft/inference/translation_score.h"

#include <algorithm>

#include "weft/data/shard.h"
#include "weft/inference/beam_search.h"

namespace weft {
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

}  // namespace

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

TranslationScore score_translations(const Translations& t) {
  TranslationScore s;
  s.sentences = static_cast<int64_t>(t.hypotheses.size());
  s.exact_match = exact_match(t.hypotheses, t.references);
  s.bleu = corpus_bleu(t.hypotheses, t.references);
  s.chrf = corpus_chrf(t.hypotheses, t.references);
  return s;
}

TranslationScore score_translations(Model& model, const DatasetInfo& data, const std::string& split,
                                    int64_t beam, double alpha, int64_t max_extra,
                                    int64_t max_sentences) {
  auto& enc_dec = dynamic_cast<EncoderDecoder&>(model);
  return score_translations(
      translate_split(enc_dec, data, split, beam, alpha, max_extra, max_sentences));
}

}  // namespace weft
