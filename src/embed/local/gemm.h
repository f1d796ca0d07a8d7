// fp32 GEMM and row kernels for AVX-512 CPUs: the encoder's attention heads
// (per-head q k^T and scores x v, whose shape changes with every sequence
// length) plus softmax and layer norm; its Linear layers run on oneDNN (see
// bert_ops_avx512.cc).
//
// C = A * B where A is row-major (read in place, no packing) and B is packed
// once into column panels of kPanelWidth columns ([panel][k][32], zero
// padded). A 12 x 32 register-blocked micro-kernel accumulates in fp32 over
// the whole k and applies the epilogue (bias, GELU, residual) in registers
// before the single store. On this project's machine it runs at oneDNN's
// speed, about twice OpenBLAS's with the Haswell kernels that the
// environment selects.
//
// Ownership: callers own every buffer. Thread-safety: the functions are
// reentrant; each call runs on the calling thread only. Errors: none; the
// *Avx512 functions must only be called when CpuHasAvx512() is true.
#pragma once

#include <cstddef>
#include <memory>

namespace ragpdf::embed::local {

// AVX-512F usable (CPU and OS).
bool CpuHasAvx512();

// A float array aligned to a cache line. Grows on demand and never shrinks,
// so scratch buffers are allocated once per batch shape and then reused;
// contents are not preserved when it grows.
class AlignedFloats {
 public:
  float* Reserve(std::size_t n);
  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  std::size_t capacity() const { return capacity_; }

 private:
  struct Free {
    void operator()(float* p) const;
  };
  std::unique_ptr<float[], Free> data_;
  std::size_t capacity_ = 0;
};

inline constexpr int kPanelWidth = 32;

// A k x n B operand in panel layout.
struct PanelMatrix {
  const float* data = nullptr;
  int k = 0;
  int n = 0;
};

// Floats a packed k x n B operand occupies.
std::size_t PanelFloats(int k, int n);
// Packs B = src^T, where src is n x k row-major with leading dimension ld
// (a Linear weight [out x in], or the keys of one attention head).
void PackPanelsTransposed(const float* src, int ld, int n, int k, float* dst);
// Packs B = src, k x n row-major with leading dimension ld (attention values).
void PackPanels(const float* src, int ld, int k, int n, float* dst);

enum class Activation { kNone, kGelu, kGeluTanh };

// Applied to each element of C in registers:
// c[i][j] = activation(acc[i][j] + bias[j]) + residual[i][j].
struct Epilogue {
  const float* bias = nullptr;
  Activation activation = Activation::kNone;
  const float* residual = nullptr;  // may be C itself (same leading dimension)
  int ld_residual = 0;
};

// C[m x n] = A[m x k] * B with the epilogue.
void GemmAvx512(int m, const float* a, int lda, const PanelMatrix& b, float* c, int ldc,
                const Epilogue& epilogue = {});

// In-place softmax of `rows` rows of n values (leading dimension ld).
void SoftmaxRowsAvx512(float* x, int rows, int ld, int n);

// In-place layer norm of `rows` rows of n values (leading dimension ld):
// (x - mean) / sqrt(var + eps) * gamma + beta, biased variance as in PyTorch.
void LayerNormRowsAvx512(float* x, int rows, int ld, int n, const float* gamma, const float* beta,
                         float eps);

}  // namespace ragpdf::embed::local
