#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

#include "embed/local/bert_ops.h"
#include "embed/local/gemm.h"

namespace ragpdf::embed::local {
namespace {

// Query rows per score block: 64 x 512 scores stay within L2.
constexpr int kQueryBlock = 64;

// Score rows start on a cache line.
int ScoreStride(int len) { return (len + 15) / 16 * 16; }

class Avx512Ops final : public BertOps {
 public:
  const char* name() const override { return "avx512"; }
  // 96 rows of the FFN's intermediate activations stay in L2 between its
  // two GEMMs.
  int MaxBlockRows() const override { return 96; }

  LinearWeight PrepareLinear(const std::vector<float>& w, int n, int k) const override {
    LinearWeight out;
    out.n = n;
    out.k = k;
    PackPanelsTransposed(w.data(), k, n, k, out.data.Reserve(PanelFloats(k, n)));
    return out;
  }

  void Linear(int m, const float* a, int lda, const LinearWeight& w, float* c, int ldc,
              const Epilogue& epilogue) const override {
    GemmAvx512(m, a, lda, PanelMatrix{w.data.data(), w.k, w.n}, c, ldc, epilogue);
  }

  void LayerNorm(float* x, int rows, int ld, int n, const float* gamma, const float* beta,
                 float eps) const override {
    LayerNormRowsAvx512(x, rows, ld, n, gamma, beta, eps);
  }

  void ReserveAttention(int max_len, int head_dim, AttentionScratch& scratch) const override {
    scratch.keys.Reserve(PanelFloats(head_dim, max_len));
    scratch.values.Reserve(PanelFloats(max_len, head_dim));
    scratch.scores.Reserve(static_cast<std::size_t>(std::min(kQueryBlock, max_len)) *
                           ScoreStride(max_len));
  }

  void AttentionHead(const AttentionHeadArgs& args, AttentionScratch& scratch) const override {
    const int len = args.len;
    const int dh = args.head_dim;
    float* keys = scratch.keys.Reserve(PanelFloats(dh, len));
    PackPanelsTransposed(args.k, args.ld_qkv, len, dh, keys);
    float* values = scratch.values.Reserve(PanelFloats(len, dh));
    PackPanels(args.v, args.ld_qkv, len, dh, values);
    const int ld_scores = ScoreStride(len);
    float* scores =
        scratch.scores.Reserve(static_cast<std::size_t>(std::min(kQueryBlock, len)) * ld_scores);
    for (int row = 0; row < len; row += kQueryBlock) {
      const int rows = std::min(kQueryBlock, len - row);
      GemmAvx512(rows, args.q + static_cast<std::size_t>(row) * args.ld_qkv, args.ld_qkv,
                 PanelMatrix{keys, dh, len}, scores, ld_scores);
      SoftmaxRowsAvx512(scores, rows, ld_scores, len);
      GemmAvx512(rows, scores, ld_scores, PanelMatrix{values, len, dh},
                 args.ctx + static_cast<std::size_t>(row) * args.ld_ctx, args.ld_ctx);
    }
  }
};

}  // namespace

std::unique_ptr<BertOps> MakeAvx512Ops() { return std::make_unique<Avx512Ops>(); }

}  // namespace ragpdf::embed::local
