// The one thing the chunker needs from an embedding model: how many of the
// model's tokens a piece of text costs. Embedders implement it (embed/), the
// chunker consumes it (chunk/); neither depends on the other.
// Thread-safety: implementations must be safe for concurrent const calls.
#pragma once

#include <string_view>

namespace ragpdf::common {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Model tokens in `text`, excluding special tokens ([CLS], [SEP], ...).
  virtual int CountTokens(std::string_view text) const = 0;
};

}  // namespace ragpdf::common
