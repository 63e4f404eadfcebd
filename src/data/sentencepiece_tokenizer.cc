// SentencePiece (BPE or unigram), trained by the library. The choices that
// make decode(encode(text)) == text: identity normalisation, no dummy prefix,
// whitespace kept as is, and "\n" as a piece of its own (the trainer reads
// lines, so it would otherwise never see one). Ids: pad 0, bos 1, eos 2, unk 3;
// with MLM specials, [CLS] [SEP] [MASK] are user-defined pieces (never split,
// decoded as their text) and "[PAD]" in a text is the pad id.

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstring>
#include <unordered_map>

#include "data/file_io.h"
#include "data/tokenizer_file.h"
#include "weft/tensor/atomic_file.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

constexpr const char* kModelFile = "tokenizer.model";

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // `source` names where the model came from, for messages.
  SentencePieceTokenizer(std::string serialized, std::string model_type, bool mlm_specials,
                         const std::string& source)
      : serialized_(std::move(serialized)), model_type_(std::move(model_type)) {
    const auto status = processor_.LoadFromSerializedProto(serialized_);
    WEFT_CHECK(status.ok(), source, ": not a SentencePiece model: ", status.ToString());
    WEFT_CHECK(processor_.pad_id() == 0 && processor_.bos_id() == 1 && processor_.eos_id() == 2,
               source, ": expected pad/bos/eos ids 0/1/2, found ", processor_.pad_id(), "/",
               processor_.bos_id(), "/", processor_.eos_id());
    newline_id_ = processor_.PieceToId("\n");
    WEFT_CHECK(newline_id_ != processor_.unk_id(), source,
               ": the model has no newline piece; train it with weft");
    if (mlm_specials) {
      mlm_ = {piece_id(data::kClsText, source), piece_id(data::kSepText, source),
              piece_id(data::kMaskText, source), processor_.pad_id()};
    }
  }

  std::string kind() const override { return "sentencepiece"; }
  int64_t vocab_size() const override { return processor_.GetPieceSize(); }

  std::vector<int32_t> encode(std::string_view text) const override {
    return data::encode_with_mlm_specials(
        text, mlm_, [this](std::string_view segment, size_t, std::vector<int32_t>& ids) {
          encode_lines(segment, ids);
        });
  }

  std::string decode(const std::vector<int32_t>& ids) const override {
    std::vector<int> pieces;
    pieces.reserve(ids.size());
    for (const int32_t id : ids) {
      WEFT_CHECK(id >= 0 && id < vocab_size(), "sentencepiece tokenizer: cannot decode id ", id,
                 " (vocabulary size ", vocab_size(), ")");
      if (id != pad_id() && id != bos_id() && id != eos_id()) pieces.push_back(id);
    }
    std::string text;
    const auto status = processor_.Decode(pieces, &text);
    WEFT_CHECK(status.ok(), "sentencepiece tokenizer: cannot decode: ", status.ToString());
    return text;
  }

  int32_t pad_id() const override { return processor_.pad_id(); }
  int32_t bos_id() const override { return processor_.bos_id(); }
  int32_t eos_id() const override { return processor_.eos_id(); }
  int32_t cls_id() const override { return mlm_.cls; }
  int32_t sep_id() const override { return mlm_.sep; }
  int32_t mask_id() const override { return mlm_.mask; }

  // Pieces and scores in id order: what decides both encoding and decoding,
  // without the trainer's bookkeeping (input names, thread counts).
  uint64_t vocabulary_hash() const override {
    uint64_t hash = data::fnv1a("weft-sentencepiece:" + model_type_ + ":");
    for (int id = 0; id < processor_.GetPieceSize(); ++id) {
      hash = data::fnv1a(processor_.IdToPiece(id), hash);
      const float score = processor_.GetScore(id);
      char bytes[sizeof score + 1];
      std::memcpy(bytes, &score, sizeof score);
      bytes[sizeof score] = '\0';  // separates this entry from the next piece
      hash = data::fnv1a(std::string_view(bytes, sizeof bytes), hash);
    }
    return hash;
  }

  SentencePieceModel model() const {
    SentencePieceModel m{serialized_, {}, processor_.unk_id()};
    for (int id = 0; id < processor_.GetPieceSize(); ++id) {
      m.pieces.push_back(processor_.IdToPiece(id));
    }
    return m;
  }

  void save(const std::string& dir) const override {
    data::make_directories(dir);
    write_file_atomically(data::join_path(dir, kModelFile), serialized_);
    nlohmann::json json = data::tokenizer_json_header(*this);
    json["model_type"] = model_type_;
    json["model_file"] = kModelFile;
    json["unk_id"] = processor_.unk_id();
    data::write_tokenizer_json(dir, json);
  }

 private:
  int32_t piece_id(const char* piece, const std::string& source) const {
    const int id = processor_.PieceToId(piece);
    WEFT_CHECK(id != processor_.unk_id(), source, ": the model has no ", piece,
               " piece, though its tokenizer.json says it has MLM specials; prepare the "
               "dataset again with --mlm-specials");
    return id;
  }

  // Line by line, so a long text costs no more than its longest line.
  void encode_lines(std::string_view text, std::vector<int32_t>& ids) const {
    std::vector<int> line_ids;
    size_t begin = 0;
    while (begin <= text.size()) {
      size_t end = text.find('\n', begin);
      if (end == std::string_view::npos) end = text.size();
      if (end > begin) {
        const auto status = processor_.Encode(text.substr(begin, end - begin), &line_ids);
        WEFT_CHECK(status.ok(), "sentencepiece tokenizer: cannot encode: ", status.ToString());
        ids.insert(ids.end(), line_ids.begin(), line_ids.end());
      }
      if (end < text.size()) ids.push_back(newline_id_);
      begin = end + 1;
    }
  }

  std::string serialized_;
  std::string model_type_;
  sentencepiece::SentencePieceProcessor processor_;
  int32_t newline_id_ = -1;
  data::MlmSpecialIds mlm_;
};

// The trainer pulls sentences (lines) one at a time; empty lines carry nothing.
class LineIterator final : public sentencepiece::SentenceIterator {
 public:
  explicit LineIterator(std::string_view text) : text_(text) { Next(); }
  bool done() const override { return done_; }
  void Next() override {
    while (begin_ < text_.size()) {
      size_t end = text_.find('\n', begin_);
      if (end == std::string_view::npos) end = text_.size();
      line_.assign(text_.substr(begin_, end - begin_));
      begin_ = end + 1;
      if (!line_.empty()) return;
    }
    done_ = true;
  }
  const std::string& value() const override { return line_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  std::string_view text_;
  size_t begin_ = 0;
  std::string line_;
  bool done_ = false;
};

}  // namespace

void SentencePieceOptions::validate() const {
  WEFT_CHECK(model_type == "bpe" || model_type == "unigram", "sentencepiece: model type '",
             model_type, "' is not one of bpe, unigram");
  const int64_t least = mlm_specials ? 11 : 8;
  WEFT_CHECK(vocab_size >= least, "sentencepiece: vocab size ", vocab_size,
             " is too small (at least ", least, ": ", mlm_specials ? 7 : 4,
             " specials, the newline and some characters)");
  WEFT_CHECK(character_coverage > 0.0 && character_coverage <= 1.0,
             "sentencepiece: character coverage ", character_coverage, " is not in (0, 1]");
}

std::unique_ptr<Tokenizer> train_sentencepiece(std::string_view text,
                                               const SentencePieceOptions& options) {
  options.validate();
  const std::unordered_map<std::string, std::string> args = {
      {"model_type", options.model_type},
      {"vocab_size", std::to_string(options.vocab_size)},
      {"character_coverage", std::to_string(options.character_coverage)},
      {"pad_id", "0"},
      {"bos_id", "1"},
      {"eos_id", "2"},
      {"unk_id", "3"},
      {"normalization_rule_name", "identity"},
      {"add_dummy_prefix", "false"},
      {"remove_extra_whitespaces", "false"},
      {"user_defined_symbols", options.mlm_specials ? "\n,[CLS],[SEP],[MASK]" : "\n"},
      // A soft limit: a small corpus yields fewer pieces rather than an error.
      {"hard_vocab_limit", "false"},
      {"minloglevel", "2"},
  };
  LineIterator lines(text);
  WEFT_CHECK(!lines.done(), "sentencepiece: the training text has no non-empty line");
  std::string serialized;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &lines, &serialized);
  WEFT_CHECK(status.ok(), "sentencepiece: training a ", options.model_type, " model of ",
             options.vocab_size, " pieces failed: ", status.ToString());
  return std::make_unique<SentencePieceTokenizer>(std::move(serialized), options.model_type,
                                                  options.mlm_specials, "sentencepiece training");
}

std::optional<SentencePieceModel> sentencepiece_model(const Tokenizer& tokenizer) {
  const auto* sp = dynamic_cast<const SentencePieceTokenizer*>(&tokenizer);
  if (sp == nullptr) return std::nullopt;
  return sp->model();
}

namespace data {

std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const nlohmann::json& json,
                                                        const std::string& path,
                                                        const std::string& dir) {
  const std::string model_path =
      join_inside(dir, json.at("model_file").get<std::string>(), path + ": model_file");
  std::string serialized = read_file(model_path, "SentencePiece model named by " + path);
  return std::make_unique<SentencePieceTokenizer>(std::move(serialized),
                                                  json.at("model_type").get<std::string>(),
                                                  mlm_specials_field(json), model_path);
}

}  // namespace data
}  // namespace weft
