#include "embed/local/gemm.h"

// GCC 12 reports -Wmaybe-uninitialized inside avx512fintrin.h for
// intrinsics built on _mm512_undefined_ps (min, max, roundscale, scalef).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstring>
#include <new>
#include <utility>

// The project builds for baseline x86-64; only these functions use AVX-512,
// and callers check CpuHasAvx512() first.
#define RAGPDF_AVX512 __attribute__((target("avx512f")))

namespace ragpdf::embed::local {
namespace {

constexpr int kMicroRows = 12;  // 12 x 32 accumulators: 24 of the 32 zmm registers
constexpr std::size_t kAlignment = 64;

int Panels(int n) { return (n + kPanelWidth - 1) / kPanelWidth; }

// Lane masks for the columns [col, col + 32) that are < n.
struct ColumnMasks {
  __mmask16 lo;
  __mmask16 hi;
};
ColumnMasks MasksFor(int cols) {
  auto mask = [](int c) -> __mmask16 {
    return c >= 16 ? 0xffff : static_cast<__mmask16>((1u << std::max(c, 0)) - 1);
  };
  return {mask(cols), mask(cols - 16)};
}

// e^x to about 1 ulp on [-87, 88]: x = n ln2 + r, |r| <= ln2/2, e^r by its
// degree-7 Taylor polynomial, times 2^n by vscalefps.
RAGPDF_AVX512 inline __m512 Exp(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.7f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145752f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860677e-06f), r);
  __m512 p = _mm512_set1_ps(1.0f / 5040);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// GELU with erf: x * Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2. erfc(z) for
// z >= 0 uses the Chebyshev-fitted form t * exp(-z^2 + P(t)), t = 1/(1+z/2)
// (Numerical Recipes' erfcc, relative error < 1.2e-7).
RAGPDF_AVX512 inline __m512 GeluErf(__m512 x) {
  const __m512 z = _mm512_mul_ps(_mm512_abs_ps(x), _mm512_set1_ps(0.70710678f));
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(z, _mm512_set1_ps(0.5f), one));
  __m512 p = _mm512_set1_ps(0.17087277f);
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.82215223f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.48851587f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.13520398f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.27886807f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.18628806f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.09678418f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.37409196f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.00002368f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.26551223f));
  p = _mm512_fnmadd_ps(z, z, p);
  const __m512 half_erfc = _mm512_mul_ps(_mm512_mul_ps(t, Exp(p)), _mm512_set1_ps(0.5f));
  const __mmask16 positive = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);
  const __m512 phi = _mm512_mask_blend_ps(positive, half_erfc, _mm512_sub_ps(one, half_erfc));
  return _mm512_mul_ps(x, phi);
}

// GELU, tanh approximation: x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3).
RAGPDF_AVX512 inline __m512 GeluTanh(__m512 x) {
  const __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
  const __m512 u =
      _mm512_mul_ps(_mm512_fmadd_ps(x3, _mm512_set1_ps(0.044715f), x), _mm512_set1_ps(0.79788456f));
  const __m512 e = Exp(_mm512_mul_ps(u, _mm512_set1_ps(-2.0f)));
  return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

RAGPDF_AVX512 inline __m512 Activate(__m512 x, Activation activation) {
  switch (activation) {
    case Activation::kGelu:
      return GeluErf(x);
    case Activation::kGeluTanh:
      return GeluTanh(x);
    case Activation::kNone:
      break;
  }
  return x;
}

// Rows [0, R) x columns [col, col + 32) of C. `b` is one panel ([k][32]).
template <int R>
RAGPDF_AVX512 void MicroKernel(int k, const float* a, int lda, const float* b, float* c, int ldc,
                               int col, int cols, const Epilogue& ep, const float* residual) {
  __m512 acc0[R];
  __m512 acc1[R];
  for (int i = 0; i < R; ++i) {
    acc0[i] = _mm512_setzero_ps();
    acc1[i] = _mm512_setzero_ps();
  }
  for (int p = 0; p < k; ++p) {
    const __m512 b0 = _mm512_load_ps(b + p * kPanelWidth);
    const __m512 b1 = _mm512_load_ps(b + p * kPanelWidth + 16);
    for (int i = 0; i < R; ++i) {
      const __m512 av = _mm512_set1_ps(a[i * lda + p]);
      acc0[i] = _mm512_fmadd_ps(av, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(av, b1, acc1[i]);
    }
  }
  const ColumnMasks m = MasksFor(cols);
  __m512 bias0 = _mm512_setzero_ps();
  __m512 bias1 = _mm512_setzero_ps();
  if (ep.bias) {
    bias0 = _mm512_maskz_loadu_ps(m.lo, ep.bias + col);
    bias1 = _mm512_maskz_loadu_ps(m.hi, ep.bias + col + 16);
  }
  for (int i = 0; i < R; ++i) {
    __m512 v0 = Activate(_mm512_add_ps(acc0[i], bias0), ep.activation);
    __m512 v1 = Activate(_mm512_add_ps(acc1[i], bias1), ep.activation);
    if (residual) {
      const float* r = residual + i * ep.ld_residual + col;
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m.lo, r));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m.hi, r + 16));
    }
    float* out = c + i * ldc + col;
    _mm512_mask_storeu_ps(out, m.lo, v0);
    _mm512_mask_storeu_ps(out + 16, m.hi, v1);
  }
}

using MicroKernelFn = void (*)(int, const float*, int, const float*, float*, int, int, int,
                               const Epilogue&, const float*);

template <int... R>
constexpr auto MakeKernelTable(std::integer_sequence<int, R...>) {
  return std::array<MicroKernelFn, sizeof...(R)>{&MicroKernel<R + 1>...};
}
constexpr auto kKernels = MakeKernelTable(std::make_integer_sequence<int, kMicroRows>{});

RAGPDF_AVX512 inline float ReduceAdd(__m512 v) { return _mm512_reduce_add_ps(v); }

}  // namespace

bool CpuHasAvx512() { return __builtin_cpu_supports("avx512f"); }

float* AlignedFloats::Reserve(std::size_t n) {
  if (n > capacity_) {
    // Round up so that vector tails may touch a whole cache line.
    const std::size_t rounded = (n + 15) / 16 * 16;
    data_.reset(static_cast<float*>(
        ::operator new[](rounded * sizeof(float), std::align_val_t{kAlignment})));
    capacity_ = rounded;
  }
  return data_.get();
}

void AlignedFloats::Free::operator()(float* p) const {
  ::operator delete[](p, std::align_val_t{kAlignment});
}

std::size_t PanelFloats(int k, int n) {
  return static_cast<std::size_t>(Panels(n)) * static_cast<std::size_t>(k) * kPanelWidth;
}

void PackPanelsTransposed(const float* src, int ld, int n, int k, float* dst) {
  for (int panel = 0; panel < Panels(n); ++panel) {
    const int col0 = panel * kPanelWidth;
    const int cols = std::min(kPanelWidth, n - col0);
    float* out = dst + static_cast<std::size_t>(panel) * k * kPanelWidth;
    for (int p = 0; p < k; ++p) {
      float* row = out + p * kPanelWidth;
      for (int j = 0; j < cols; ++j) row[j] = src[static_cast<std::size_t>(col0 + j) * ld + p];
      std::fill(row + cols, row + kPanelWidth, 0.0f);
    }
  }
}

void PackPanels(const float* src, int ld, int k, int n, float* dst) {
  for (int panel = 0; panel < Panels(n); ++panel) {
    const int col0 = panel * kPanelWidth;
    const int cols = std::min(kPanelWidth, n - col0);
    float* out = dst + static_cast<std::size_t>(panel) * k * kPanelWidth;
    for (int p = 0; p < k; ++p) {
      float* row = out + p * kPanelWidth;
      std::memcpy(row, src + static_cast<std::size_t>(p) * ld + col0, cols * sizeof(float));
      std::fill(row + cols, row + kPanelWidth, 0.0f);
    }
  }
}

void GemmAvx512(int m, const float* a, int lda, const PanelMatrix& b, float* c, int ldc,
                const Epilogue& epilogue) {
  assert(CpuHasAvx512());
  for (int panel = 0; panel < Panels(b.n); ++panel) {
    const int col = panel * kPanelWidth;
    const int cols = std::min(kPanelWidth, b.n - col);
    const float* bp = b.data + static_cast<std::size_t>(panel) * b.k * kPanelWidth;
    for (int row = 0; row < m; row += kMicroRows) {
      const int rows = std::min(kMicroRows, m - row);
      const float* residual =
          epilogue.residual
              ? epilogue.residual + static_cast<std::size_t>(row) * epilogue.ld_residual
              : nullptr;
      kKernels[rows - 1](b.k, a + static_cast<std::size_t>(row) * lda, lda, bp,
                         c + static_cast<std::size_t>(row) * ldc, ldc, col, cols, epilogue,
                         residual);
    }
  }
}

RAGPDF_AVX512 void SoftmaxRowsAvx512(float* x, int rows, int ld, int n) {
  for (int r = 0; r < rows; ++r) {
    float* row = x + static_cast<std::size_t>(r) * ld;
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    for (int j = 0; j < n; j += 16) {
      const __mmask16 m = MasksFor(n - j).lo;
      vmax = _mm512_max_ps(vmax, _mm512_mask_loadu_ps(vmax, m, row + j));
    }
    const __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
    __m512 vsum = _mm512_setzero_ps();
    for (int j = 0; j < n; j += 16) {
      const __mmask16 m = MasksFor(n - j).lo;
      const __m512 e = Exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, row + j), max));
      vsum = _mm512_mask_add_ps(vsum, m, vsum, e);
      _mm512_mask_storeu_ps(row + j, m, e);
    }
    const __m512 scale = _mm512_set1_ps(1.0f / ReduceAdd(vsum));
    for (int j = 0; j < n; j += 16) {
      const __mmask16 m = MasksFor(n - j).lo;
      _mm512_mask_storeu_ps(row + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + j), scale));
    }
  }
}

RAGPDF_AVX512 void LayerNormRowsAvx512(float* x, int rows, int ld, int n, const float* gamma,
                                       const float* beta, float eps) {
  for (int r = 0; r < rows; ++r) {
    float* row = x + static_cast<std::size_t>(r) * ld;
    __m512 vsum = _mm512_setzero_ps();
    for (int j = 0; j < n; j += 16) {
      vsum = _mm512_add_ps(vsum, _mm512_maskz_loadu_ps(MasksFor(n - j).lo, row + j));
    }
    const float mean_value = ReduceAdd(vsum) / static_cast<float>(n);
    const __m512 mean = _mm512_set1_ps(mean_value);
    __m512 vsq = _mm512_setzero_ps();
    for (int j = 0; j < n; j += 16) {
      const __mmask16 m = MasksFor(n - j).lo;
      const __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, row + j), mean);
      vsq = _mm512_fmadd_ps(d, d, vsq);
    }
    const float var = ReduceAdd(vsq) / static_cast<float>(n);
    const __m512 inv = _mm512_set1_ps(1.0f / std::sqrt(var + eps));
    for (int j = 0; j < n; j += 16) {
      const __mmask16 m = MasksFor(n - j).lo;
      const __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, row + j), mean), inv);
      const __m512 y = _mm512_fmadd_ps(d, _mm512_maskz_loadu_ps(m, gamma + j),
                                       _mm512_maskz_loadu_ps(m, beta + j));
      _mm512_mask_storeu_ps(row + j, m, y);
    }
  }
}

}  // namespace ragpdf::embed::local

#pragma GCC diagnostic pop
