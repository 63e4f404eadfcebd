// weft fill: a masked language model's guesses for the [MASK] tokens of a
// text, as Hugging Face's fill-mask pipeline gives them.

#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <set>

#include "cli/command_options.h"
#include "cli/commands.h"
#include "cli/load_run.h"
#include "weft/model/encoder_only.h"
#include "weft/tensor/error.h"

namespace po = boost::program_options;

namespace weft::cli {
namespace {

// The ids fill never proposes: the tokenizer's special tokens.
std::set<int32_t> special_ids(const Tokenizer& t) {
  std::set<int32_t> out;
  for (int32_t id : {t.pad_id(), t.bos_id(), t.eos_id(), t.cls_id(), t.sep_id(), t.mask_id()}) {
    if (id >= 0) out.insert(id);
  }
  return out;
}

}  // namespace

int run_fill(int argc, char** argv) {
  po::options_description opts("weft fill options");
  std::string checkpoint, text;
  int64_t top_k;
  opts.add_options()
      ("help,h", "list every option with its default")
      ("checkpoint", po::value(&checkpoint), kCheckpointHelp)
      ("text", po::value(&text), "text with one or more [MASK] tokens")
      ("top-k", po::value(&top_k)->default_value(5), "candidates per [MASK]");
  po::variables_map vm;
  if (!parse_command_options(argc, argv, opts, vm)) return 0;
  require_option(checkpoint, "checkpoint", "a run directory or checkpoint");
  require_option(text, "text", "text with one or more [MASK] tokens");
  WEFT_CHECK(top_k >= 1, "--top-k must be >= 1, got ", top_k);

  LoadedRun run = load_run(checkpoint);
  auto* model = dynamic_cast<EncoderOnly*>(run.model.get());
  WEFT_CHECK(model != nullptr, "checkpoint ", run.checkpoint.dir, " holds ",
             architecture_with_article(run.model->config().architecture),
             " model: 'weft fill' needs a masked language model (an encoder-only preset such as ",
             "tiny-bert)");
  const Tokenizer& tok = *run.tokenizer;
  WEFT_CHECK(tok.has_mlm_specials(), "the run's tokenizer has no [MASK] token: prepare the data ",
             "with --mlm-specials");
  // [CLS] text [SEP], as the model was trained.
  std::vector<int32_t> ids = tok.encode(text);
  if (ids.empty() || ids.front() != tok.cls_id()) ids.insert(ids.begin(), tok.cls_id());
  if (ids.back() != tok.sep_id()) ids.push_back(tok.sep_id());
  std::vector<int64_t> masks;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == tok.mask_id()) masks.push_back(static_cast<int64_t>(i));
  }
  WEFT_CHECK(!masks.empty(), "--text holds no [MASK] token to fill");
  const auto T = static_cast<int64_t>(ids.size());
  WEFT_CHECK(T <= model->config().max_seq_len, "--text is ", T, " tokens with [CLS] and [SEP], ",
             "longer than the model's context of ", model->config().max_seq_len);
  WEFT_CHECK(top_k <= tok.vocab_size(), "--top-k ", top_k, " exceeds the vocabulary of ",
             tok.vocab_size());

  Batch batch;
  batch.input = Tensor::from_vector(ids, {1, T});
  batch.target = Tensor::from_vector(std::vector<int32_t>(ids.size(), kIgnoreIndex), {1, T});
  model->forward(batch, StepContext{});
  const int64_t V = model->logits().dim(2);
  const std::vector<double> logits = model->logits().to_double_vector();
  const std::set<int32_t> specials = special_ids(tok);
  for (int64_t position : masks) {
    const double* row = logits.data() + position * V;
    std::vector<int32_t> order(static_cast<size_t>(V));
    std::iota(order.begin(), order.end(), 0);
    std::erase_if(order, [&](int32_t id) { return specials.count(id) != 0; });
    const double largest = *std::max_element(row, row + V);
    double total = 0.0;
    for (int32_t id : order) total += std::exp(row[id] - largest);
    const auto k = std::min<size_t>(static_cast<size_t>(top_k), order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                      [&](int32_t a, int32_t b) { return row[a] > row[b]; });
    if (masks.size() > 1) std::printf("[MASK] at token %ld:\n", static_cast<long>(position));
    for (size_t i = 0; i < k; ++i) {
      std::vector<int32_t> filled(ids.begin() + 1, ids.end() - 1);
      filled[static_cast<size_t>(position - 1)] = order[i];
      std::printf("%.4f  %-12s  %s\n", std::exp(row[order[i]] - largest) / total,
                  tok.decode({order[i]}).c_str(), tok.decode(filled).c_str());
    }
  }
  return 0;
}

}  // namespace weft::cli
