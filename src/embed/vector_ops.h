// Dense float kernels for similarity search: dot products, L2 normalization
// and top-k selection. The dot-product kernels pick the widest instruction set
// the CPU has at run time (AVX-512F, AVX2+FMA, else portable scalar code);
// the binary itself is built for the baseline x86-64 ISA.
//
// Thread-safety: pure functions, safe to call concurrently.
// Errors: none; sizes are the caller's contract (asserted, not checked).
#pragma once

#include <cstddef>
#include <span>
#include <utility>
#include <vector>

namespace ragpdf::embed {

enum class Isa { kScalar, kAvx2, kAvx512 };

// The best kernel this CPU supports (decided once per process).
Isa DetectedIsa();
// Whether the CPU can run the kernels of `isa`.
bool IsaSupported(Isa isa);

// Sum of a[i] * b[i] for i < n.
float Dot(const float* a, const float* b, std::size_t n);
// out[r] = Dot(query, matrix + r * dim, dim) for r < rows (row-major matrix).
void DotMany(const float* query, const float* matrix, std::size_t rows, std::size_t dim,
             float* out);
// Same, forcing the kernels of `isa` (for tests and benchmarks). An `isa` the
// CPU does not support falls back to DetectedIsa().
float Dot(Isa isa, const float* a, const float* b, std::size_t n);
void DotMany(Isa isa, const float* query, const float* matrix, std::size_t rows, std::size_t dim,
             float* out);

// Scales `v` to unit length; an all-zero (or non-finite) vector becomes all zeros.
void L2Normalize(std::span<float> v);

// The k best (index, score) pairs, best first; ties go to the lower index and
// NaN ranks below every number. Returns min(k, scores.size()) pairs.
std::vector<std::pair<std::size_t, float>> TopK(std::span<const float> scores, std::size_t k);

}  // namespace ragpdf::embed
