#pragma once
// Lines of text through a trained translation model: what `weft translate`
// and `weft eval --source` share (tokenize with the run's tokenizers, check
// the context, beam search, detokenize).

#include <string>
#include <vector>

#include "cli/load_run.h"
#include "weft/inference/beam_search.h"
#include "weft/model/encoder_decoder.h"

namespace weft::cli {

// The run's model as a translation model; `refusal` ends the message given
// for a decoder-only model (what to use instead).
EncoderDecoder& translation_model(const LoadedRun& run, const std::string& refusal);

// `options` with the run's BOS and EOS, checked against the model.
BeamSearchOptions with_run_tokens(BeamSearchOptions options, const LoadedRun& run,
                                  const EncoderDecoder& model);

struct LineTranslations {
  std::vector<std::string> hypotheses;  // detokenized, one per input line
  int64_t target_tokens = 0;            // tokens decoded, each output's EOS included
};

// `lines` are input lines first_line, first_line + 1, ... (counted from 1); a
// line longer than the model's context is refused by its number.
LineTranslations translate_lines(EncoderDecoder& model, const LoadedRun& run,
                                 const std::vector<std::string>& lines, int64_t first_line,
                                 const BeamSearchOptions& options);

// The lines of a text file, a trailing '\r' removed from each; `option`
// names the file in the message when it cannot be read.
std::vector<std::string> read_text_lines(const std::string& path, const std::string& option);

}  // namespace weft::cli
