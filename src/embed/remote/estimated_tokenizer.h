// Token counts for remote models without their tokenizer: an estimate of
// ceil(UTF-8 bytes / 3). OpenAI's BPE tokenizers (cl100k_base, o200k_base)
// average about 4 bytes per token on English and about 3 bytes (one CJK
// character) per token on Chinese or Japanese, so the estimate is at or
// above the true count for typical text: chunks sized with it stay within
// the model's input limit, and per-request token limits are respected.
// Text of rare symbols or emoji can exceed it; the API then answers 400.
//
// Thread-safety: stateless. Errors: none.
#pragma once

#include <string_view>

#include "common/tokenizer.h"

namespace ragpdf::embed::remote {

inline constexpr int kBytesPerEstimatedToken = 3;

class EstimatedTokenizer : public common::Tokenizer {
 public:
  int CountTokens(std::string_view text) const override {
    return static_cast<int>((text.size() + kBytesPerEstimatedToken - 1) / kBytesPerEstimatedToken);
  }
};

}  // namespace ragpdf::embed::remote
