#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <dnnl.hpp>

#include "embed/local/bert_ops.h"
#include "embed/local/gemm.h"

namespace ragpdf::embed::local {
namespace {

using Dims = dnnl::memory::dims;
using DataType = dnnl::memory::data_type;

// Rows per Linear call: the encoder's row blocks (see MaxBlockRows).
constexpr int kBlockRows = 96;

// A row-major rows x cols matrix with leading dimension ld. Dense operands
// (ld == cols, as in every encoder call) get oneDNN's brgemm kernels; strided
// ones a slower but correct implementation.
dnnl::memory::desc RowMajor(int rows, int cols, int ld) {
  return dnnl::memory::desc(Dims{rows, cols}, DataType::f32, Dims{ld, 1});
}

dnnl::algorithm EltwiseFor(Activation activation) {
  return activation == Activation::kGelu ? dnnl::algorithm::eltwise_gelu_erf
                                         : dnnl::algorithm::eltwise_gelu_tanh;
}

// oneDNN runs a primitive on OpenMP threads of the calling thread; the
// encoder already runs one block per thread, so each caller uses one thread.
void UseOneOmpThread() {
  thread_local const bool once = [] {
    omp_set_num_threads(1);
    return true;
  }();
  (void)once;
}

// Query rows per score block: 64 x 512 scores stay within L2.
constexpr int kQueryBlock = 64;

// Score rows start on a cache line.
int ScoreStride(int len) { return (len + 15) / 16 * 16; }

// Linear layers: oneDNN matmul (brgemm AVX-512 kernels) on weights reordered
// once into its blocked layout, with bias, GELU and residual as post-ops, so
// the output is written once. Attention heads: the small per-head products
// of gemm.h, which need no primitive per sequence length.
class Avx512Ops final : public BertOps {
 public:
  Avx512Ops() : engine_(dnnl::engine::kind::cpu, 0) {}

  const char* name() const override { return "avx512"; }
  // 96 rows of the FFN's intermediate activations stay in L2 between its
  // two GEMMs.
  int MaxBlockRows() const override { return kBlockRows; }

  LinearWeight PrepareLinear(const std::vector<float>& w, int n, int k) const override {
    UseOneOmpThread();
    LinearWeight out;
    out.n = n;
    out.k = k;
    const dnnl::memory::desc packed = PackedWeights(k, n);
    // W is [n x k] row-major, i.e. the k x n operand B in column-major order.
    dnnl::memory src(dnnl::memory::desc(Dims{k, n}, DataType::f32, Dims{1, k}), engine_,
                     const_cast<float*>(w.data()));
    dnnl::memory dst(packed, engine_, out.data.Reserve(packed.get_size() / sizeof(float)));
    dnnl::stream stream(engine_);
    dnnl::reorder(src, dst).execute(stream, src, dst);
    stream.wait();
    return out;
  }

  void Linear(int m, const float* a, int lda, const LinearWeight& w, float* c, int ldc,
              const Epilogue& epilogue) const override {
    UseOneOmpThread();
    // The residual enters through the sum post-op, which adds what c holds.
    if (epilogue.residual && epilogue.residual != c) {
      for (int i = 0; i < m; ++i) {
        std::memcpy(c + static_cast<std::size_t>(i) * ldc,
                    epilogue.residual + static_cast<std::size_t>(i) * epilogue.ld_residual,
                    w.n * sizeof(float));
      }
    }
    const LinearPrimitive& p = Primitive(m, w.k, w.n, lda, ldc, epilogue);
    thread_local AlignedFloats scratchpad;
    dnnl::memory src(p.src, engine_, const_cast<float*>(a));
    dnnl::memory weights(p.weights, engine_, const_cast<float*>(w.data.data()));
    dnnl::memory dst(p.dst, engine_, c);
    dnnl::memory scratch(p.scratchpad, engine_,
                         scratchpad.Reserve(p.scratchpad.get_size() / sizeof(float) + 1));
    std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, src},
                                                  {DNNL_ARG_WEIGHTS, weights},
                                                  {DNNL_ARG_DST, dst},
                                                  {DNNL_ARG_SCRATCHPAD, scratch}};
    if (epilogue.bias) {
      args.emplace(DNNL_ARG_BIAS, dnnl::memory(p.bias, engine_, const_cast<float*>(epilogue.bias)));
    }
    dnnl::stream stream(engine_);
    p.matmul.execute(stream, args);
    stream.wait();
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

 private:
  struct LinearPrimitive {
    dnnl::memory::desc src, weights, bias, dst, scratchpad;
    dnnl::matmul matmul;
  };
  using Key = std::tuple<int, int, int, int, int, bool, Activation, bool>;

  // The blocked weight layout brgemm picks for k x n; it does not depend on
  // the number of rows, so one packed copy serves every block size.
  dnnl::memory::desc PackedWeights(int k, int n) const {
    const dnnl::memory::desc any(Dims{k, n}, DataType::f32, dnnl::memory::format_tag::any);
    const dnnl::matmul::primitive_desc pd(
        dnnl::matmul::desc(RowMajor(kBlockRows, k, k), any, RowMajor(kBlockRows, n, n)), engine_);
    return pd.weights_desc();
  }

  // One primitive per shape and epilogue, created on first use (a few per
  // model and batch shape). f32 matmul always has a reference implementation,
  // so creation does not fail for valid shapes.
  const LinearPrimitive& Primitive(int m, int k, int n, int lda, int ldc,
                                   const Epilogue& epilogue) const {
    const Key key{m,
                  k,
                  n,
                  lda,
                  ldc,
                  epilogue.bias != nullptr,
                  epilogue.activation,
                  epilogue.residual != nullptr};
    std::lock_guard lock(mutex_);
    auto it = primitives_.find(key);
    if (it != primitives_.end()) return it->second;
    dnnl::post_ops post_ops;
    if (epilogue.activation != Activation::kNone) {
      post_ops.append_eltwise(1.0f, EltwiseFor(epilogue.activation), 0.0f, 0.0f);
    }
    if (epilogue.residual) post_ops.append_sum(1.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(post_ops);
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    LinearPrimitive p;
    p.src = RowMajor(m, k, lda);
    p.weights = PackedWeights(k, n);
    p.bias = epilogue.bias ? RowMajor(1, n, n) : dnnl::memory::desc();
    p.dst = RowMajor(m, n, ldc);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(p.src, p.weights, p.bias, p.dst), attr,
                                          engine_);
    p.scratchpad = pd.scratchpad_desc();
    p.matmul = dnnl::matmul(pd);
    return primitives_.emplace(key, std::move(p)).first->second;
  }

  dnnl::engine engine_;
  mutable std::mutex mutex_;
  mutable std::map<Key, LinearPrimitive> primitives_;
};

}  // namespace

std::unique_ptr<BertOps> MakeAvx512Ops() { return std::make_unique<Avx512Ops>(); }

}  // namespace ragpdf::embed::local
