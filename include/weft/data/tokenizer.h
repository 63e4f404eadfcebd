#pragma once
// Tokenizers turn text into token ids and back. Three kinds:
//   "char"          the sorted distinct bytes of a corpus (nanoGPT's character
//                   level: tiny Shakespeare gives 65 ids); optional specials
//   "byte"          all 256 byte values; optional specials
//   "sentencepiece" a BPE or unigram model trained by the SentencePiece
//                   library; always has pad = 0, bos = 1, eos = 2, unk = 3
// With specials, pad = 0, bos = 1, eos = 2 come before the ordinary ids
// (translation needs them); without, pad_id()/bos_id()/eos_id() are -1.
//
// MLM specials, [CLS] [SEP] [MASK] and a pad, are what a masked language model
// (BERT) needs. Char and byte put them before the ordinary ids too:
//   specials          pad 0, bos 1, eos 2                        ordinary from 3
//   MLM specials      pad 0, cls 1, sep 2, mask 3                ordinary from 4
//   both              pad 0, bos 1, eos 2, cls 3, sep 4, mask 5  ordinary from 6
// SentencePiece adds them as user-defined pieces after the newline's (its
// pad is 0 already). A tokenizer with them reads the literal "[CLS]", "[SEP]",
// "[MASK]" and "[PAD]" of a text as those ids (so a prompt can hold a
// [MASK]), and decode writes [CLS], [SEP] and [MASK] back as that text; pad
// writes nothing, as without them. A tokenizer without them encodes every
// text exactly as before they existed, and keeps its vocabulary_hash.
// A tokenizer lives in a directory as tokenizer.json (plus tokenizer.model
// for SentencePiece); load_tokenizer() refuses a missing or malformed file by
// name. vocabulary_hash() identifies the vocabulary, so a token shard written
// with one tokenizer is never read with another.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weft {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  virtual std::string kind() const = 0;  // "char" | "byte" | "sentencepiece"
  virtual int64_t vocab_size() const = 0;
  // Throws weft::Error for text the vocabulary cannot represent (char kind).
  // With MLM specials, "[CLS]", "[SEP]", "[MASK]" and "[PAD]" become their ids.
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  // pad, bos and eos produce no text, cls, sep and mask their bracketed name
  // (SentencePiece shows unk as " ⁇ "); an id outside [0, vocab_size) throws
  // weft::Error naming it.
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;

  virtual int32_t pad_id() const = 0;  // -1 when absent
  virtual int32_t bos_id() const = 0;
  virtual int32_t eos_id() const = 0;
  bool has_specials() const { return pad_id() >= 0 && bos_id() >= 0 && eos_id() >= 0; }
  virtual int32_t cls_id() const { return -1; }  // MLM specials; -1 when absent
  virtual int32_t sep_id() const { return -1; }
  virtual int32_t mask_id() const { return -1; }
  bool has_mlm_specials() const {
    return cls_id() >= 0 && sep_id() >= 0 && mask_id() >= 0 && pad_id() >= 0;
  }

  // FNV-1a (64 bits) of the canonical vocabulary: the same for the same
  // vocabulary on every machine and every run.
  virtual uint64_t vocabulary_hash() const = 0;

  // Writes <dir>/tokenizer.json (and <dir>/tokenizer.model for SentencePiece)
  // atomically, creating `dir` if needed.
  virtual void save(const std::string& dir) const = 0;
};

// Vocabulary = the distinct bytes of `corpus`, sorted, after the specials asked for.
std::unique_ptr<Tokenizer> make_char_tokenizer(std::string_view corpus, bool with_specials = false,
                                               bool mlm_specials = false);

std::unique_ptr<Tokenizer> make_byte_tokenizer(bool with_specials = false,
                                               bool mlm_specials = false);

struct SentencePieceOptions {
  int64_t vocab_size = 8000;       // a soft limit: a small corpus may give fewer pieces
  std::string model_type = "bpe";  // "bpe" | "unigram"
  double character_coverage = 1.0;
  bool mlm_specials = false;       // [CLS] [SEP] [MASK] as user-defined pieces
  // Throws weft::Error naming the first field out of range.
  void validate() const;
};

// Trains on the lines of `text`. Normalisation is the identity and newlines
// are a piece of their own, so decode(encode(text)) == text for any text made
// of characters seen in training. Throws weft::Error with the library's
// message when training fails (e.g. a vocabulary too large for the corpus).
std::unique_ptr<Tokenizer> train_sentencepiece(std::string_view text,
                                               const SentencePieceOptions& options = {});

// Which tokenizer to build, as `weft prepare` takes it.
struct TokenizerSpec {
  std::string kind = "char";   // "char" | "byte" | "sentencepiece"
  bool with_specials = false;  // char and byte; SentencePiece always has them
  bool mlm_specials = false;   // [CLS] [SEP] [MASK] and a pad, every kind
  SentencePieceOptions sentencepiece;
  // Throws weft::Error naming the first field out of range.
  void validate() const;
};

// A char tokenizer takes its vocabulary from `corpus`; SentencePiece is
// trained on it; the byte tokenizer ignores it.
std::unique_ptr<Tokenizer> build_tokenizer(const TokenizerSpec& spec, std::string_view corpus);

// A SentencePiece tokenizer's model as the library serialises it (what
// tokenizer.model holds, what SentencePieceProcessor::Load reads) and its
// pieces in id order, for exports that other libraries load; none for the
// char and byte kinds.
struct SentencePieceModel {
  std::string serialized;
  std::vector<std::string> pieces;
  int32_t unk_id = -1;
};
std::optional<SentencePieceModel> sentencepiece_model(const Tokenizer& tokenizer);

// Reads <dir>/tokenizer.json (and what it names).
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir);

// "%016x" of a hash, the form meta.json and tokenizer.json store.
std::string hash_hex(uint64_t hash);

}  // namespace weft
