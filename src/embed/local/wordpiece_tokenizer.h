// BERT tokenization as Hugging Face's BertTokenizer(Fast) does it: text
// cleaning (drop NUL, U+FFFD and control characters, whitespace -> space),
// CJK ideographs split into single-character words, optional lower-casing
// with NFD accent stripping, punctuation splitting, then greedy
// longest-match-first WordPiece with "##" continuations; a word longer than
// max_input_chars_per_word, or one that cannot be matched, becomes [UNK].
//
// Ownership: immutable after loading; share it freely.
// Thread-safety: all const methods are safe to call concurrently.
// Errors: loading fails with kBadRequest naming the file and the problem.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/tokenizer.h"

namespace ragpdf::embed::local {

struct WordPieceOptions {
  // Drop NUL, U+FFFD and control characters; map whitespace to ' '.
  bool clean_text = true;
  bool lower_case = true;
  // Hugging Face's default: strip accents exactly when lower-casing.
  std::optional<bool> strip_accents;
  bool tokenize_chinese_chars = true;
  int max_input_chars_per_word = 100;
  std::string continuing_prefix = "##";
  std::string unk_token = "[UNK]";
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
};

class WordPieceTokenizer : public common::Tokenizer {
 public:
  // From a model directory: tokenizer.json (WordPiece model, normalizer and
  // pre-tokenizer settings) when present, else vocab.txt plus
  // tokenizer_config.json (do_lower_case, strip_accents,
  // tokenize_chinese_chars, special tokens). As in transformers, explicit
  // settings in tokenizer_config.json override tokenizer.json's normalizer.
  // Only BertNormalizer (or none), BertPreTokenizer and a "[CLS] $A [SEP]"
  // post-processor are accepted.
  static common::Result<std::unique_ptr<WordPieceTokenizer>> LoadFromDirectory(
      const std::filesystem::path& dir);
  // From an in-memory vocabulary (id = position). Fails when a special
  // token of `options` is not in it.
  static common::Result<std::unique_ptr<WordPieceTokenizer>> FromVocab(
      std::vector<std::string> vocab, WordPieceOptions options);

  // Token ids of `text`, without special tokens. Special tokens written in
  // the text ("[SEP]") are tokenized as ordinary text, never as specials.
  std::vector<std::int32_t> Encode(std::string_view text) const;
  // [CLS] + Encode(text) truncated to max_length - 2 + [SEP].
  std::vector<std::int32_t> EncodeForModel(std::string_view text, int max_length) const;
  // Encode(text).size().
  int CountTokens(std::string_view text) const override;

  std::int32_t cls_id() const;
  std::int32_t sep_id() const;
  std::int32_t pad_id() const;
  std::int32_t unk_id() const;
  std::size_t vocab_size() const;

  ~WordPieceTokenizer() override;

 private:
  struct State;
  explicit WordPieceTokenizer(std::unique_ptr<State> state);
  // tokens[i] has id ids[i]; a later duplicate token wins, as in Hugging Face.
  static common::Result<std::unique_ptr<WordPieceTokenizer>> Build(std::vector<std::string> tokens,
                                                                   std::vector<std::int32_t> ids,
                                                                   WordPieceOptions options);
  // Appends the ids of `text` to `out`, stopping once out->size() >= limit.
  void EncodeInto(std::string_view text, std::size_t limit, std::vector<std::int32_t>* out) const;
  std::unique_ptr<State> state_;
};

}  // namespace ragpdf::embed::local
