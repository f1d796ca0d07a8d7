// The built-in default embedder: weightless feature hashing, no download.
//
// It is LEXICAL, not semantic: two texts are similar when they share words or
// word pairs, never because they mean the same thing ("car" and "automobile"
// are unrelated to it). It exists so the server works out of the box and as a
// deterministic baseline; configure a transformer model for semantic search.
//
// Algorithm (stable: changing any step changes every stored vector):
// 1. Normalize with utf8proc: NFKC, Unicode case folding, default-ignorable
//    code points removed, and all combining marks stripped (accents:
//    "Café" == "cafe"). Stripping marks also drops the vowel signs of scripts
//    such as Devanagari or Thai, which merges some words there; an accepted
//    cost for a lexical fallback. Invalid UTF-8 bytes act as separators.
// 2. Words: maximal runs of code points of category L* or N*.
// 3. Features: each word, and each pair of adjacent words joined by one space
//    ("w1 w2"). Only the first max_tokens words are used (the chunker keeps
//    chunks within max_tokens, so in practice only long queries are cut).
// 4. Hash: FeatureHash() below over the feature's UTF-8 bytes. Bucket =
//    h % dimension, sign = bit 63 of h (1 means negative).
// 5. Weight: (1 + ln(tf)) per distinct feature, times kBigramWeight for
//    pairs; signed weights are summed per bucket, then L2-normalized (an
//    input without words gives the zero vector).
// Buckets and signs are bit-identical on every platform (pure integer maths
// over bytes); values can differ only by libm rounding of ln().
//
// Thread-safety: all methods are const or internally synchronized; safe to
// call concurrently. Errors: Embed() does not fail for any input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "embed/embedder.h"

namespace ragpdf::embed {

inline constexpr double kBigramWeight = 0.5;

// 64-bit FNV-1a over `bytes`, then the MurmurHash3 fmix64 finalizer (FNV
// alone mixes its low bits poorly, and the bucket comes from the low bits).
std::uint64_t FeatureHash(std::string_view bytes);

struct HashingEmbedderOptions {
  std::string name = "lexical-hash-384";
  int dimension = 384;
  int max_tokens = 512;
  std::size_t batch_size = 256;  // texts per task offloaded to the CPU pool
};

// Tokens are the words of step 2 above (normalized).
class HashingTokenizer : public common::Tokenizer {
 public:
  int CountTokens(std::string_view text) const override;
  // The normalized words of `text`, in order.
  std::vector<std::string> Words(std::string_view text) const;
};

class HashingEmbedder : public Embedder {
 public:
  // `cpu` is the executor of the CPU thread pool on which vectors are
  // computed (the I/O executor never computes).
  HashingEmbedder(HashingEmbedderOptions options, boost::asio::any_io_executor cpu);

  const ModelInfo& info() const override { return info_; }
  const common::Tokenizer& tokenizer() const override { return tokenizer_; }
  // Splits the texts into batches of batch_size and computes them one batch
  // at a time on the CPU pool; `purpose` does not change the vectors.
  boost::asio::awaitable<common::Result<Embeddings>> Embed(EmbedRequest request) override;

  // Synchronous core: writes the vector of `text` to `out` (dimension floats).
  void EmbedOne(std::string_view text, std::span<float> out) const;

 private:
  std::vector<float> EmbedBatch(const std::vector<std::string>& texts) const;

  HashingEmbedderOptions options_;
  boost::asio::any_io_executor cpu_;
  ModelInfo info_;
  HashingTokenizer tokenizer_;
};

}  // namespace ragpdf::embed
