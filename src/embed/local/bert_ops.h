// BertOps: the numerical building blocks of the encoder (Linear layers with
// fused epilogues, layer norm, one attention head), in two implementations,
// both single-threaded per call (the encoder spreads row blocks and heads
// over its own threads):
// - AVX-512: Linear layers on oneDNN's matmul (brgemm kernels, fused
//   post-ops; one OpenMP thread per calling thread), attention and row
//   kernels from gemm.h;
// - portable (CPUs without AVX-512): OpenBLAS sgemm plus plain loops.
//   Creating it sets OpenBLAS to one thread, process-wide (nothing else in
//   ragpdf uses OpenBLAS): its own threads would compete with the encoder's.
//
// Ownership: weights and scratch belong to the caller; the AVX-512 ops keep
// their oneDNN primitives (a mutex-guarded cache, one per shape).
// Thread-safety: const methods may be called concurrently with distinct
// outputs and scratch. Errors: none (shapes are the caller's contract).
#pragma once

#include <memory>
#include <vector>

#include "embed/local/gemm.h"

namespace ragpdf::embed::local {

// A Linear layer's weight W [n x k] (PyTorch layout), stored the way its
// BertOps wants it.
struct LinearWeight {
  int n = 0;  // outputs
  int k = 0;  // inputs
  AlignedFloats data;
};

// Per-thread buffers for AttentionHead, grown on demand and reused.
struct AttentionScratch {
  AlignedFloats keys;
  AlignedFloats values;
  AlignedFloats scores;
};

// One head of one sequence: ctx = softmax(q k^T) v, where q, k and v are
// len x head_dim slices of the fused QKV rows (leading dimension ld_qkv) and
// q is already scaled by 1/sqrt(head_dim). Only the sequence's own tokens
// are present, so no padding mask is needed.
struct AttentionHeadArgs {
  int len = 0;
  int head_dim = 0;
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  int ld_qkv = 0;
  float* ctx = nullptr;
  int ld_ctx = 0;
};

class BertOps {
 public:
  virtual ~BertOps() = default;
  virtual const char* name() const = 0;
  // Rows per Linear call that amortize the call's fixed costs.
  virtual int MaxBlockRows() const = 0;
  virtual LinearWeight PrepareLinear(const std::vector<float>& w, int n, int k) const = 0;
  // c[m x n] = a[m x k] * W^T, then the epilogue (the residual may be c).
  virtual void Linear(int m, const float* a, int lda, const LinearWeight& w, float* c, int ldc,
                      const Epilogue& epilogue) const = 0;
  virtual void LayerNorm(float* x, int rows, int ld, int n, const float* gamma, const float* beta,
                         float eps) const = 0;
  // Grows `scratch` for heads of up to max_len tokens, so that
  // AttentionHead never allocates.
  virtual void ReserveAttention(int max_len, int head_dim, AttentionScratch& scratch) const = 0;
  virtual void AttentionHead(const AttentionHeadArgs& args, AttentionScratch& scratch) const = 0;
};

// Requires CpuHasAvx512().
std::unique_ptr<BertOps> MakeAvx512Ops();
std::unique_ptr<BertOps> MakePortableOps();

}  // namespace ragpdf::embed::local
