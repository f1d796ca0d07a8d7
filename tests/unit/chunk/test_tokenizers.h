// Tokenizers for the chunker tests.
#pragma once

#include <string_view>

#include "common/tokenizer.h"

namespace ragpdf::chunk::testing {

inline bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

// One token per whitespace-separated word.
class WhitespaceTokenizer : public common::Tokenizer {
 public:
  int CountTokens(std::string_view text) const override {
    int count = 0;
    bool in_word = false;
    for (char c : text) {
      count += !IsSpace(c) && !in_word;
      in_word = !IsSpace(c);
    }
    return count;
  }
};

// Subword-like: a word of n bytes costs ceil(n / 4) tokens, so long words
// cost many tokens (additive over words).
class SubwordTokenizer : public common::Tokenizer {
 public:
  int CountTokens(std::string_view text) const override {
    int count = 0;
    int run = 0;
    for (char c : text) {
      if (IsSpace(c)) {
        count += (run + 3) / 4;
        run = 0;
      } else {
        ++run;
      }
    }
    return count + (run + 3) / 4;
  }
};

// Not additive: ceil(bytes / 3) over the whole text, spaces included, so a
// joined chunk costs more than its pieces did.
class ByteTokenizer : public common::Tokenizer {
 public:
  int CountTokens(std::string_view text) const override {
    return static_cast<int>((text.size() + 2) / 3);
  }
};

}  // namespace ragpdf::chunk::testing
