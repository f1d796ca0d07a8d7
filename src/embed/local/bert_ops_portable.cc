#include <cblas.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <memory>
#include <vector>

#include "embed/local/bert_ops.h"

namespace ragpdf::embed::local {
namespace {

float Activate(float x, Activation activation) {
  switch (activation) {
    case Activation::kGelu:
      return 0.5f * x * (1.0f + std::erf(x * 0.70710678f));
    case Activation::kGeluTanh:
      return 0.5f * x * (1.0f + std::tanh(0.79788456f * (x + 0.044715f * x * x * x)));
    case Activation::kNone:
      break;
  }
  return x;
}

// OpenBLAS for the matrix products, loops for the rest.
class PortableOps final : public BertOps {
 public:
  PortableOps() { openblas_set_num_threads(1); }
  const char* name() const override { return "openblas"; }
  // sgemm packs all of W on every call: larger blocks amortize that.
  int MaxBlockRows() const override { return 256; }

  LinearWeight PrepareLinear(const std::vector<float>& w, int n, int k) const override {
    LinearWeight out;
    out.n = n;
    out.k = k;
    std::memcpy(out.data.Reserve(w.size()), w.data(), w.size() * sizeof(float));
    return out;
  }

  void Linear(int m, const float* a, int lda, const LinearWeight& w, float* c, int ldc,
              const Epilogue& ep) const override {
    // BERT never has both (GELU is in the FFN's first layer, residuals after
    // the second), which lets the residual go through sgemm's beta.
    assert(!(ep.residual && ep.activation != Activation::kNone));
    // The residual may be c itself: copy it in first and let sgemm add to it.
    float beta = 0.0f;
    if (ep.residual) {
      beta = 1.0f;
      if (ep.residual != c) {
        for (int i = 0; i < m; ++i) {
          std::memcpy(c + static_cast<std::size_t>(i) * ldc,
                      ep.residual + static_cast<std::size_t>(i) * ep.ld_residual,
                      w.n * sizeof(float));
        }
      }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, w.n, w.k, 1.0f, a, lda, w.data.data(),
                w.k, beta, c, ldc);
    for (int i = 0; i < m; ++i) {
      float* row = c + static_cast<std::size_t>(i) * ldc;
      for (int j = 0; j < w.n; ++j) {
        row[j] = Activate(row[j] + (ep.bias ? ep.bias[j] : 0.0f), ep.activation);
      }
    }
  }

  void LayerNorm(float* x, int rows, int ld, int n, const float* gamma, const float* beta,
                 float eps) const override {
    for (int r = 0; r < rows; ++r) {
      float* row = x + static_cast<std::size_t>(r) * ld;
      float sum = 0.0f;
      for (int j = 0; j < n; ++j) sum += row[j];
      const float mean = sum / static_cast<float>(n);
      float sq = 0.0f;
      for (int j = 0; j < n; ++j) sq += (row[j] - mean) * (row[j] - mean);
      const float inv = 1.0f / std::sqrt(sq / static_cast<float>(n) + eps);
      for (int j = 0; j < n; ++j) row[j] = (row[j] - mean) * inv * gamma[j] + beta[j];
    }
  }

  void ReserveAttention(int max_len, int, AttentionScratch& scratch) const override {
    scratch.scores.Reserve(static_cast<std::size_t>(max_len) * max_len);
  }

  void AttentionHead(const AttentionHeadArgs& args, AttentionScratch& scratch) const override {
    const int len = args.len;
    float* scores = scratch.scores.Reserve(static_cast<std::size_t>(len) * len);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, len, len, args.head_dim, 1.0f, args.q,
                args.ld_qkv, args.k, args.ld_qkv, 0.0f, scores, len);
    for (int i = 0; i < len; ++i) {
      float* row = scores + static_cast<std::size_t>(i) * len;
      const float max = *std::max_element(row, row + len);
      float sum = 0.0f;
      for (int j = 0; j < len; ++j) sum += (row[j] = std::exp(row[j] - max));
      for (int j = 0; j < len; ++j) row[j] /= sum;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, len, args.head_dim, len, 1.0f, scores,
                len, args.v, args.ld_qkv, 0.0f, args.ctx, args.ld_ctx);
  }
};

}  // namespace

std::unique_ptr<BertOps> MakePortableOps() { return std::make_unique<PortableOps>(); }

}  // namespace ragpdf::embed::local
