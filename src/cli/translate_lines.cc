#include "cli/translate_lines.h"

#include <fstream>

#include "cli/printable_text.h"
#include "weft/tensor/error.h"

namespace weft::cli {
namespace {

// The start of a line a message names: a whole paragraph would bury it.
std::string line_start(const std::string& line) {
  constexpr size_t kShown = 40;
  if (line.size() <= kShown) return printable_text(line);
  return printable_text(std::string_view(line).substr(0, kShown)) + "...";
}

}  // namespace

EncoderDecoder& translation_model(const LoadedRun& run, const std::string& refusal) {
  auto* model = dynamic_cast<EncoderDecoder*>(run.model.get());
  WEFT_CHECK(model != nullptr, "checkpoint ", run.checkpoint.dir, " holds ",
             architecture_with_article(run.model->config().architecture), " model: ",
             run.model->config().encoder_only() ? "use 'weft fill'" : refusal);
  return *model;
}

BeamSearchOptions with_run_tokens(BeamSearchOptions options, const LoadedRun& run,
                                  const EncoderDecoder& model) {
  options.bos_id = run.tokenizer->bos_id();
  options.eos_id = run.tokenizer->eos_id();
  options.validate(model.config());
  return options;
}

LineTranslations translate_lines(EncoderDecoder& model, const LoadedRun& run,
                                 const std::vector<std::string>& lines, int64_t first_line,
                                 const BeamSearchOptions& options) {
  std::vector<std::vector<int32_t>> sources;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::vector<int32_t> ids = run.source_tokenizer->encode(lines[i]);
    ids.push_back(run.source_tokenizer->eos_id());
    WEFT_CHECK(static_cast<int64_t>(ids.size()) <= model.config().max_seq_len, "input line ",
               first_line + static_cast<int64_t>(i), " ('", line_start(lines[i]), "') is ",
               ids.size(), " tokens with EOS, longer than the model's context of ",
               model.config().max_seq_len);
    sources.push_back(std::move(ids));
  }
  LineTranslations out;
  for (const Hypothesis& h : beam_search(model, sources, options)) {
    out.hypotheses.push_back(run.tokenizer->decode(h.tokens));
    out.target_tokens += static_cast<int64_t>(h.tokens.size());
  }
  return out;
}

std::vector<std::string> read_text_lines(const std::string& path, const std::string& option) {
  std::ifstream file(path);
  WEFT_CHECK(file.good(), option, " '", printable_text(path), "' cannot be read");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(file, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  WEFT_CHECK(!file.bad(), option, " '", printable_text(path), "': reading failed");
  return lines;
}

}  // namespace weft::cli
