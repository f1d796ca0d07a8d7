// BertEncoder: a BERT-family sentence-embedding model computed in fp32 on the
// CPU: embeddings (word + position + token type) -> layer norm -> N x
// [self-attention with padding mask -> add & norm -> FFN (GELU) -> add &
// norm] -> pooling (mean over real tokens, or CLS) -> optional L2
// normalization, as the sentence-transformers model directory says.
//
// Loading reads config.json, model.safetensors (F32, F16 or BF16; converted
// to fp32), modules.json and 1_Pooling/config.json. Any missing file,
// unsupported architecture/activation/dtype or mismatched tensor shape fails
// with one kBadRequest message naming the file and the problem.
//
// Ownership: immutable after loading. Thread-safety: Forward() may be called
// from one thread at a time per encoder (it owns scratch buffers); the
// engine that owns the encoder serializes calls. Errors: Forward() fails
// only on programmer errors (bad shapes) with kInternal.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"

namespace ragpdf::embed::local {

enum class Pooling { kMean, kCls };

struct BertConfig {
  int vocab_size = 0;
  int hidden_size = 0;
  int num_hidden_layers = 0;
  int num_attention_heads = 0;
  int intermediate_size = 0;
  int max_position_embeddings = 0;
  int type_vocab_size = 0;
  float layer_norm_eps = 1e-12f;
  std::string hidden_act = "gelu";  // gelu (erf) or gelu_new/gelu_pytorch_tanh
  Pooling pooling = Pooling::kMean;
  bool normalize = true;
};

// A padded batch: `ids` is rows x seq_len, row-major, padded with any id
// past each row's length; `lengths[r]` real tokens in row r (>= 1).
struct TokenBatch {
  int seq_len = 0;
  std::vector<std::int32_t> ids;
  std::vector<int> lengths;
  std::size_t rows() const { return lengths.size(); }
};

struct EncoderOptions {
  int threads = 0;  // 0: all cores
  // false: the portable kernels (OpenBLAS sgemm) even on an AVX-512 CPU; for
  // tests and comparisons. CPUs without AVX-512 always use them.
  bool allow_avx512 = true;
};

class BertEncoder {
 public:
  static common::Result<std::unique_ptr<BertEncoder>> Load(const std::filesystem::path& dir,
                                                           EncoderOptions options = {});
  virtual ~BertEncoder() = default;

  virtual const BertConfig& config() const = 0;
  // Writes rows() pooled (and, per config, normalized) vectors of
  // hidden_size floats to `out`.
  virtual common::Result<void> Forward(const TokenBatch& batch, std::span<float> out) = 0;
};

}  // namespace ragpdf::embed::local
