#include "embed/vector_ops.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace ragpdf::embed {
namespace {

// Four independent accumulators let the compiler pipeline (and vectorize) the loop.
float DotScalar(const float* a, const float* b, std::size_t n) {
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

void DotManyScalar(const float* q, const float* m, std::size_t rows, std::size_t dim, float* out) {
  for (std::size_t r = 0; r < rows; ++r) out[r] = DotScalar(q, m + r * dim, dim);
}

__attribute__((target("avx2,fma"))) float HorizontalSum256(__m256 v) {
  __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
  sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
  return _mm_cvtss_f32(sum);
}

__attribute__((target("avx2,fma"))) float DotAvx2(const float* a, const float* b, std::size_t n) {
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  }
  float sum = HorizontalSum256(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// Four rows per pass: each query load is reused four times.
__attribute__((target("avx2,fma"))) void DotManyAvx2(const float* q, const float* m,
                                                     std::size_t rows, std::size_t dim,
                                                     float* out) {
  std::size_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float* r0 = m + r * dim;
    const float* r1 = r0 + dim;
    const float* r2 = r1 + dim;
    const float* r3 = r2 + dim;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 8 <= dim; i += 8) {
      const __m256 qv = _mm256_loadu_ps(q + i);
      a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(r0 + i), a0);
      a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(r1 + i), a1);
      a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(r2 + i), a2);
      a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(r3 + i), a3);
    }
    float s0 = HorizontalSum256(a0), s1 = HorizontalSum256(a1);
    float s2 = HorizontalSum256(a2), s3 = HorizontalSum256(a3);
    for (; i < dim; ++i) {
      s0 += q[i] * r0[i];
      s1 += q[i] * r1[i];
      s2 += q[i] * r2[i];
      s3 += q[i] * r3[i];
    }
    out[r] = s0;
    out[r + 1] = s1;
    out[r + 2] = s2;
    out[r + 3] = s3;
  }
  for (; r < rows; ++r) out[r] = DotAvx2(q, m + r * dim, dim);
}

// Through memory: GCC 12's 512-bit shuffle/extract/reduce intrinsics trip
// -Wuninitialized inside its own headers.
__attribute__((target("avx512f"))) float HorizontalSum512(__m512 v) {
  float lanes[16];
  _mm512_storeu_ps(lanes, v);
  return HorizontalSum256(_mm256_add_ps(_mm256_loadu_ps(lanes), _mm256_loadu_ps(lanes + 8)));
}

// The tail is handled with masked loads (masked-off lanes read as zero).
__attribute__((target("avx512f"))) __mmask16 TailMask(std::size_t remaining) {
  return static_cast<__mmask16>((1u << remaining) - 1u);
}

__attribute__((target("avx512f"))) float DotAvx512(const float* a, const float* b, std::size_t n) {
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
  }
  if (i < n) {
    const __mmask16 mask = TailMask(n - i);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + i), _mm512_maskz_loadu_ps(mask, b + i),
                           acc1);
  }
  return HorizontalSum512(_mm512_add_ps(acc0, acc1));
}

__attribute__((target("avx512f"))) void DotManyAvx512(const float* q, const float* m,
                                                      std::size_t rows, std::size_t dim,
                                                      float* out) {
  const std::size_t full = dim - dim % 16;
  const __mmask16 tail = TailMask(dim - full);
  std::size_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float* r0 = m + r * dim;
    const float* r1 = r0 + dim;
    const float* r2 = r1 + dim;
    const float* r3 = r2 + dim;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    for (std::size_t i = 0; i < full; i += 16) {
      const __m512 qv = _mm512_loadu_ps(q + i);
      a0 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r0 + i), a0);
      a1 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r1 + i), a1);
      a2 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r2 + i), a2);
      a3 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r3 + i), a3);
    }
    if (full < dim) {
      const __m512 qv = _mm512_maskz_loadu_ps(tail, q + full);
      a0 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(tail, r0 + full), a0);
      a1 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(tail, r1 + full), a1);
      a2 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(tail, r2 + full), a2);
      a3 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(tail, r3 + full), a3);
    }
    out[r] = HorizontalSum512(a0);
    out[r + 1] = HorizontalSum512(a1);
    out[r + 2] = HorizontalSum512(a2);
    out[r + 3] = HorizontalSum512(a3);
  }
  for (; r < rows; ++r) out[r] = DotAvx512(q, m + r * dim, dim);
}

Isa Usable(Isa isa) { return IsaSupported(isa) ? isa : DetectedIsa(); }

}  // namespace

bool IsaSupported(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return true;
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::kAvx512:
      return __builtin_cpu_supports("avx512f");
  }
  return false;
}

Isa DetectedIsa() {
  static const Isa isa = IsaSupported(Isa::kAvx512) ? Isa::kAvx512
                         : IsaSupported(Isa::kAvx2) ? Isa::kAvx2
                                                    : Isa::kScalar;
  return isa;
}

float Dot(Isa isa, const float* a, const float* b, std::size_t n) {
  switch (Usable(isa)) {
    case Isa::kAvx512:
      return DotAvx512(a, b, n);
    case Isa::kAvx2:
      return DotAvx2(a, b, n);
    case Isa::kScalar:
      break;
  }
  return DotScalar(a, b, n);
}

void DotMany(Isa isa, const float* query, const float* matrix, std::size_t rows, std::size_t dim,
             float* out) {
  switch (Usable(isa)) {
    case Isa::kAvx512:
      return DotManyAvx512(query, matrix, rows, dim, out);
    case Isa::kAvx2:
      return DotManyAvx2(query, matrix, rows, dim, out);
    case Isa::kScalar:
      break;
  }
  DotManyScalar(query, matrix, rows, dim, out);
}

float Dot(const float* a, const float* b, std::size_t n) { return Dot(DetectedIsa(), a, b, n); }

void DotMany(const float* query, const float* matrix, std::size_t rows, std::size_t dim,
             float* out) {
  DotMany(DetectedIsa(), query, matrix, rows, dim, out);
}

void L2Normalize(std::span<float> v) {
  const float norm = std::sqrt(Dot(v.data(), v.data(), v.size()));
  if (norm > 0 && std::isfinite(norm)) {
    const float inv = 1.0f / norm;
    for (float& x : v) x *= inv;
  } else {
    std::fill(v.begin(), v.end(), 0.0f);
  }
}

std::vector<std::pair<std::size_t, float>> TopK(std::span<const float> scores, std::size_t k) {
  using Entry = std::pair<std::size_t, float>;
  auto key = [](float s) { return std::isnan(s) ? -std::numeric_limits<float>::infinity() : s; };
  // better(a, b): a ranks before b. Strict weak order even with NaN (via key).
  auto better = [&](const Entry& a, const Entry& b) {
    const float ka = key(a.second), kb = key(b.second);
    return ka > kb || (ka == kb && a.first < b.first);
  };
  k = std::min(k, scores.size());
  std::vector<Entry> heap;  // the k best so far; the worst of them on top
  heap.reserve(k);
  if (k == 0) return heap;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    Entry e{i, scores[i]};
    if (heap.size() < k) {
      heap.push_back(e);
      std::push_heap(heap.begin(), heap.end(), better);
    } else if (better(e, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.back() = e;
      std::push_heap(heap.begin(), heap.end(), better);
    }
  }
  std::sort_heap(heap.begin(), heap.end(), better);
  return heap;
}

}  // namespace ragpdf::embed
