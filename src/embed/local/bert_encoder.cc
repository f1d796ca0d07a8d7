#include "embed/local/bert_encoder.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <new>
#include <numeric>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "embed/local/bert_loader.h"
#include "embed/local/bert_ops.h"
#include "embed/local/bert_thread_pool.h"
#include "embed/local/gemm.h"

namespace ragpdf::embed::local {
namespace {

using common::ErrorCode;
using common::Fail;

constexpr int kRowAlign = 12;  // the AVX-512 micro-kernel's rows
constexpr int kMaxThreads = 64;

struct ThreadScratch {
  AttentionScratch attention;
  AlignedFloats ffn;
};

Activation ActivationFor(const std::string& hidden_act) {
  return hidden_act == "gelu" ? Activation::kGelu : Activation::kGeluTanh;
}

// The forward pass works on the real tokens of the batch packed one sequence
// after another (no padding rows): the Linear layers, norms and FFN are per
// token, and attention runs per (sequence, head) over that sequence's own
// tokens, which is exactly what the padding mask means.
//
// Per layer there are two parallel phases: attention over (sequence, head)
// tasks, then one task per row block doing attention output + add & norm,
// the FFN (bias + GELU fused, intermediate kept in the thread's scratch),
// add & norm, and the next layer's fused QKV projection.
class Encoder final : public BertEncoder {
 public:
  Encoder(BertConfig config, std::unique_ptr<BertOps> ops, BertWeights weights, int threads)
      : config_(std::move(config)),
        ops_(std::move(ops)),
        weights_(std::move(weights)),
        activation_(ActivationFor(config_.hidden_act)),
        pool_(threads),
        scratch_(static_cast<std::size_t>(threads)) {}

  const BertConfig& config() const override { return config_; }

  common::Result<void> Forward(const TokenBatch& batch, std::span<float> out) override {
    if (auto ok = Check(batch, out); !ok) return ok;
    if (batch.rows() == 0) return {};
    try {
      Prepare(batch);
    } catch (const std::bad_alloc&) {
      return Fail(ErrorCode::kInternal, "out of memory for a batch of " +
                                            std::to_string(batch.rows()) + " x " +
                                            std::to_string(batch.seq_len) + " tokens");
    }
    const int layers = config_.num_hidden_layers;
    const int heads = config_.num_attention_heads;
    pool_.Run(blocks_, [&](int block, int) {
      const auto [begin, end] = BlockRows(block);
      EmbedRows(begin, end);
      Qkv(0, begin, end);
    });
    for (int layer = 0; layer < layers; ++layer) {
      pool_.Run(static_cast<int>(batch.rows()) * heads, [&](int task, int thread) {
        Attention(task / heads, task % heads, scratch_[thread]);
      });
      pool_.Run(blocks_, [&](int block, int thread) {
        const auto [begin, end] = BlockRows(block);
        FeedForward(layer, begin, end, scratch_[thread]);
        if (layer + 1 < layers) Qkv(layer + 1, begin, end);
      });
    }
    Pool(batch, out);
    return {};
  }

 private:
  common::Result<void> Check(const TokenBatch& batch, std::span<float> out) const {
    const std::size_t rows = batch.rows();
    const auto hidden = static_cast<std::size_t>(config_.hidden_size);
    if (out.size() != rows * hidden) {
      return Fail(ErrorCode::kInternal, "Forward: output has " + std::to_string(out.size()) +
                                            " floats, expected " + std::to_string(rows * hidden));
    }
    if (rows == 0) return {};
    if (batch.seq_len < 1 || batch.seq_len > config_.max_position_embeddings) {
      return Fail(ErrorCode::kInternal, "Forward: seq_len " + std::to_string(batch.seq_len) +
                                            " outside [1, " +
                                            std::to_string(config_.max_position_embeddings) + "]");
    }
    if (batch.ids.size() != rows * static_cast<std::size_t>(batch.seq_len)) {
      return Fail(ErrorCode::kInternal, "Forward: ids is not rows x seq_len");
    }
    for (std::size_t r = 0; r < rows; ++r) {
      const int length = batch.lengths[r];
      if (length < 1 || length > batch.seq_len) {
        return Fail(ErrorCode::kInternal,
                    "Forward: row " + std::to_string(r) + " has length " + std::to_string(length));
      }
      const std::int32_t* ids = batch.ids.data() + r * batch.seq_len;
      for (int i = 0; i < length; ++i) {
        if (ids[i] < 0 || ids[i] >= config_.vocab_size) {
          return Fail(ErrorCode::kInternal,
                      "Forward: token id " + std::to_string(ids[i]) + " outside the vocabulary");
        }
      }
    }
    return {};
  }

  // Packs the batch's real tokens and sizes every buffer (grow-only), so
  // that the parallel phases never allocate.
  void Prepare(const TokenBatch& batch) {
    const std::size_t rows = batch.rows();
    offsets_.resize(rows + 1);
    offsets_[0] = 0;
    for (std::size_t r = 0; r < rows; ++r) offsets_[r + 1] = offsets_[r] + batch.lengths[r];
    tokens_ = offsets_[rows];
    token_ids_.resize(static_cast<std::size_t>(tokens_));
    positions_.resize(static_cast<std::size_t>(tokens_));
    for (std::size_t r = 0; r < rows; ++r) {
      for (int i = 0; i < batch.lengths[r]; ++i) {
        token_ids_[offsets_[r] + i] = batch.ids[r * batch.seq_len + i];
        positions_[offsets_[r] + i] = i;
      }
    }
    // Longest sequences' attention first, so that the last tasks are short.
    order_.resize(rows);
    std::iota(order_.begin(), order_.end(), 0);
    std::sort(order_.begin(), order_.end(), [&](int a, int b) {
      return batch.lengths[a] != batch.lengths[b] ? batch.lengths[a] > batch.lengths[b] : a < b;
    });

    // At least one block per thread; blocks of equal size, whole micro-tiles.
    const int max_rows = ops_->MaxBlockRows();
    const int blocks = std::max(pool_.size(), (tokens_ + max_rows - 1) / max_rows);
    const int rows_per_block = (tokens_ + blocks - 1) / blocks;
    block_rows_ = (rows_per_block + kRowAlign - 1) / kRowAlign * kRowAlign;
    blocks_ = (tokens_ + block_rows_ - 1) / block_rows_;

    const auto tokens = static_cast<std::size_t>(tokens_);
    const auto hidden = static_cast<std::size_t>(config_.hidden_size);
    hidden_.Reserve(tokens * hidden);
    qkv_.Reserve(tokens * hidden * 3);
    context_.Reserve(tokens * hidden);
    const int max_len = *std::max_element(batch.lengths.begin(), batch.lengths.end());
    const int head_dim = config_.hidden_size / config_.num_attention_heads;
    for (auto& scratch : scratch_) {
      scratch.ffn.Reserve(static_cast<std::size_t>(block_rows_) * config_.intermediate_size);
      ops_->ReserveAttention(max_len, head_dim, scratch.attention);
    }
  }

  std::pair<int, int> BlockRows(int block) const {
    return {block * block_rows_, std::min(tokens_, (block + 1) * block_rows_)};
  }

  float* HiddenRow(int token) { return hidden_.data() + static_cast<std::size_t>(token) * Width(); }
  std::size_t Width() const { return static_cast<std::size_t>(config_.hidden_size); }

  void EmbedRows(int begin, int end) {
    const std::size_t h = Width();
    for (int t = begin; t < end; ++t) {
      const float* word = weights_.word_embeddings.data() + token_ids_[t] * h;
      const float* position = weights_.position_embeddings.data() + positions_[t] * h;
      float* row = HiddenRow(t);
      for (std::size_t j = 0; j < h; ++j) row[j] = word[j] + position[j];
    }
    ops_->LayerNorm(HiddenRow(begin), end - begin, config_.hidden_size, config_.hidden_size,
                    weights_.embedding_norm_gamma.data(), weights_.embedding_norm_beta.data(),
                    config_.layer_norm_eps);
  }

  void Qkv(int layer, int begin, int end) {
    const BertLayerWeights& w = weights_.layers[layer];
    const int h = config_.hidden_size;
    Epilogue epilogue;
    epilogue.bias = w.qkv_bias.data();
    ops_->Linear(end - begin, HiddenRow(begin), h, w.qkv,
                 qkv_.data() + static_cast<std::size_t>(begin) * 3 * h, 3 * h, epilogue);
  }

  void Attention(int sequence, int head, ThreadScratch& scratch) {
    const int row = order_[sequence];
    const int h = config_.hidden_size;
    const int head_dim = h / config_.num_attention_heads;
    const auto offset = static_cast<std::size_t>(offsets_[row]);
    AttentionHeadArgs args;
    args.len = offsets_[row + 1] - offsets_[row];
    args.head_dim = head_dim;
    args.q = qkv_.data() + offset * 3 * h + head * head_dim;
    args.k = args.q + h;
    args.v = args.q + 2 * h;
    args.ld_qkv = 3 * h;
    args.ctx = context_.data() + offset * h + head * head_dim;
    args.ld_ctx = h;
    ops_->AttentionHead(args, scratch.attention);
  }

  void FeedForward(int layer, int begin, int end, ThreadScratch& scratch) {
    const BertLayerWeights& w = weights_.layers[layer];
    const int h = config_.hidden_size;
    const int inter = config_.intermediate_size;
    const int m = end - begin;
    float* x = HiddenRow(begin);
    const float* context = context_.data() + static_cast<std::size_t>(begin) * h;
    float* intermediate = scratch.ffn.data();

    Epilogue residual;
    residual.bias = w.attention_output_bias.data();
    residual.residual = x;
    residual.ld_residual = h;
    ops_->Linear(m, context, h, w.attention_output, x, h, residual);
    ops_->LayerNorm(x, m, h, h, w.attention_norm_gamma.data(), w.attention_norm_beta.data(),
                    config_.layer_norm_eps);

    Epilogue gelu;
    gelu.bias = w.intermediate_bias.data();
    gelu.activation = activation_;
    ops_->Linear(m, x, h, w.intermediate, intermediate, inter, gelu);
    residual.bias = w.output_bias.data();
    ops_->Linear(m, intermediate, inter, w.output, x, h, residual);
    ops_->LayerNorm(x, m, h, h, w.output_norm_gamma.data(), w.output_norm_beta.data(),
                    config_.layer_norm_eps);
  }

  void Pool(const TokenBatch& batch, std::span<float> out) {
    const std::size_t h = Width();
    for (std::size_t r = 0; r < batch.rows(); ++r) {
      float* dst = out.data() + r * h;
      const int begin = offsets_[r];
      const int length = offsets_[r + 1] - begin;
      if (config_.pooling == Pooling::kCls) {
        std::memcpy(dst, HiddenRow(begin), h * sizeof(float));
      } else {
        std::fill(dst, dst + h, 0.0f);
        for (int t = begin; t < begin + length; ++t) {
          const float* row = HiddenRow(t);
          for (std::size_t j = 0; j < h; ++j) dst[j] += row[j];
        }
        const float inv = 1.0f / static_cast<float>(length);
        for (std::size_t j = 0; j < h; ++j) dst[j] *= inv;
      }
      if (config_.normalize) {
        double sum = 0;
        for (std::size_t j = 0; j < h; ++j) sum += static_cast<double>(dst[j]) * dst[j];
        // As torch.nn.functional.normalize: divide by max(norm, 1e-12).
        const float inv = static_cast<float>(1.0 / std::max(std::sqrt(sum), 1e-12));
        for (std::size_t j = 0; j < h; ++j) dst[j] *= inv;
      }
    }
  }

  const BertConfig config_;
  const std::unique_ptr<BertOps> ops_;
  const BertWeights weights_;
  const Activation activation_;
  ThreadPool pool_;
  std::vector<ThreadScratch> scratch_;

  // Per batch, sized by Prepare() and reused by later batches.
  int tokens_ = 0;
  int block_rows_ = 0;
  int blocks_ = 0;
  std::vector<int> offsets_;
  std::vector<std::int32_t> token_ids_;
  std::vector<int> positions_;
  std::vector<int> order_;
  AlignedFloats hidden_;
  AlignedFloats qkv_;
  AlignedFloats context_;
};

}  // namespace

common::Result<std::unique_ptr<BertEncoder>> BertEncoder::Load(const std::filesystem::path& dir,
                                                               EncoderOptions options) {
  try {
    auto config = ReadBertConfig(dir);
    if (!config) return Fail(config.error());
    std::unique_ptr<BertOps> ops =
        options.allow_avx512 && CpuHasAvx512() ? MakeAvx512Ops() : MakePortableOps();
    int threads = options.threads > 0 ? options.threads
                                      : static_cast<int>(std::thread::hardware_concurrency());
    threads = std::clamp(threads, 1, kMaxThreads);
    auto weights = LoadBertWeights(dir, *config, *ops);
    if (!weights) return Fail(weights.error());
    return std::make_unique<Encoder>(std::move(*config), std::move(ops), std::move(*weights),
                                     threads);
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kBadRequest, "model directory " + dir.string() + ": " + e.what());
  }
}

}  // namespace ragpdf::embed::local
